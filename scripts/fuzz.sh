#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other (go test -fuzz
# takes one target per invocation), for FUZZTIME each (default 10s), with
# -race as all our tests. Targets are discovered with go test -list, so a new
# Fuzz function is picked up without editing this file.
#
#   FUZZTIME=20s scripts/fuzz.sh          # longer run
#   FUZZFLAGS= scripts/fuzz.sh            # without -race (more executions)
#
# A failing input is written by go test to <package>/testdata/fuzz/<Target>/;
# commit it once fixed, so that plain go test replays it forever. Exits
# non-zero if any target fails, or if no target is found.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
read -r -a flags <<<"${FUZZFLAGS--race}"

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

failed=()
for entry in "${targets[@]}"; do
  read -r pkg target <<<"$entry"
  echo "== $target ($pkg) for $fuzztime"
  if ! go test ${flags[@]+"${flags[@]}"} -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
    failed+=("$pkg $target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets passed"
