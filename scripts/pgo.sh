#!/usr/bin/env bash
# Regenerates default.pgo, the CPU profile that `go build` uses for
# profile-guided optimization of this server (Go's -pgo=auto: a
# default.pgo in the main package's directory; https://go.dev/doc/pgo).
#
#   scripts/pgo.sh        # about 3 minutes; then commit default.pgo
#
# The profile is the server's own, under the load of ../shared/perf: every
# scenario it has (S1-S7: no token, a cached token, a scoped token, a new
# token on each request, a bad signature, an expired token, an anonymous
# request for a private field), merged. Run it again when the request path
# changes much; a stale profile only optimizes less, it never changes
# behaviour. Needs ../shared/perf (PERF_DIR to point elsewhere), Go and
# python3. Only 127.0.0.1 is used; every server is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

perf_dir=$(cd "${PERF_DIR:-../shared/perf}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/authgql-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "pgo: building the harness, the no-auth baseline and this server (-tags pprof) into $work"
(cd "$perf_dir/reference" && go build -o "$work/" ./cmd/noauth)
(cd "$perf_dir" && go build -o "$work/perf" .)
go build -tags pprof -o "$work/project" .

echo "pgo: profiling S1-S7 (the baseline only shares the machine, as in a measurement)"
(cd "$work" && "$work/perf" -c 16 -d "${PGO_DURATION:-4s}" -warmup 1s -rounds 1 -slices 4 -s4-tokens 50000 \
  -scenarios S1,S2,S3,S4,S5,S6,S7 -pprof "$work/pprof" -vs "$work/noauth" "$work/project" >"$work/run.jsonl" 2>"$work/run.txt") || {
  tail -n 20 "$work/run.txt" >&2
  exit 1
}
profiles=("$work"/pprof/project-r1-S*.pprof)
if [ "${#profiles[@]}" -ne 7 ]; then
  echo "pgo: expected 7 profiles, got ${#profiles[@]}" >&2
  exit 1
fi
go tool pprof -proto "${profiles[@]}" >"$work/default.pgo"
mv "$work/default.pgo" default.pgo
echo "pgo: wrote default.pgo ($(wc -c <default.pgo) bytes); the next go build uses it"
