#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other (go test -fuzz
# takes one target per invocation), for FUZZEXECS executions each. Targets
# are discovered with go test -list, so a new Fuzz function is picked up
# without editing this file.
#
#   scripts/fuzz.sh                       # 50000 executions per target
#   FUZZEXECS=500000 scripts/fuzz.sh      # a longer hunt
#   FUZZFLAGS=-race scripts/fuzz.sh       # with the race detector (~50x fewer executions/s)
#
# Why a count, not a duration: with -fuzztime 5s, Go's fuzzing coordinator
# can fail at the deadline with a bare "context deadline exceeded" and no
# input written (a known race in the coordinator), and on a loaded machine
# a duration buys next to no executions anyway. A count is the same work on
# any machine: 2 to 5 s per target on an idle 2-core machine here
# (10k-20k executions/s without -race).
#
# A failure counts only when go test writes a reproducer to
# <package>/testdata/fuzz/<Target>/ (commit it once fixed, so that plain go
# test replays it forever). A run that fails without writing one found
# nothing: it is retried once, then reported as inconclusive without failing
# the build. Exits non-zero if a target writes a reproducer, or if no target
# is found.
set -euo pipefail
cd "$(dirname "$0")/.."

execs="${FUZZEXECS:-50000}"
read -r -a flags <<<"${FUZZFLAGS-}"
# Bounds one target's run, should a worker hang: far above the ~2 s a target
# needs, far below CI's limit.
timeout="${FUZZTIMEOUT:-3m}"
# Bounds the minimization of each input that adds coverage, as a count for
# the same reason as execs. Go's default is 60 s per input, during which
# no fuzzing happens: FuzzOperation's slow inputs spent over 3 minutes of
# a 50,000-execution run minimizing six of them, with the cached corpus
# of earlier runs. A reproducer is still minimized this far.
minimize="${FUZZMINIMIZE:-1000x}"

# go test -list prints a package's matching names, then "ok <package> ...".
listing=$(go test -list '^Fuzz' ./...)
targets=()
pending=()
while IFS= read -r line; do
  case "$line" in
    Fuzz*) pending+=("$line") ;;
    ok*)
      pkg=$(awk '{print $2}' <<<"$line")
      for t in ${pending[@]+"${pending[@]}"}; do targets+=("$pkg $t"); done
      pending=()
      ;;
    *) pending=() ;;
  esac
done <<<"$listing"

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi

module=$(go list -m)
# corpusdir is where go test writes a target's reproducers.
corpusdir() {
  local rel=${1#"$module"}
  rel=${rel#/}
  echo "./${rel:+$rel/}testdata/fuzz/$2"
}
corpus() { ls -1 "$(corpusdir "$1" "$2")" 2>/dev/null | sort || true; }

failed=()
inconclusive=()
for entry in "${targets[@]}"; do
  read -r pkg target <<<"$entry"
  dir=$(corpusdir "$pkg" "$target")
  for attempt in 1 2; do
    echo "== $target ($pkg): ${execs} executions (attempt $attempt)"
    before=$(corpus "$pkg" "$target")
    if go test ${flags[@]+"${flags[@]}"} -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" -fuzzminimizetime "$minimize" -timeout "$timeout" "$pkg"; then
      break
    fi
    new=$(comm -13 <(echo "$before") <(corpus "$pkg" "$target") | grep . || true)
    if [ -n "$new" ]; then
      echo "fuzz.sh: $target wrote a reproducer: $(sed "s|^|$dir/|" <<<"$new" | tr '\n' ' ')" >&2
      failed+=("$pkg $target")
      break
    fi
    if [ "$attempt" = 2 ]; then
      echo "fuzz.sh: $target failed twice without writing a reproducer: inconclusive (the fuzzing engine, not an input)" >&2
      inconclusive+=("$pkg $target")
    fi
  done
done

if [ ${#inconclusive[@]} -gt 0 ]; then
  printf 'fuzz.sh: inconclusive (not failing the build): %s\n' "${inconclusive[@]}" >&2
fi
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets passed"
