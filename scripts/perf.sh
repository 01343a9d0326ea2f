#!/usr/bin/env bash
# Measures this server against the two baselines of ../shared/perf in one
# run, as SPEC's performance targets ask: gqlgen without auth ("noauth")
# and the typical gqlgen + auth0/go-jwt-middleware build ("reference").
# Slices alternate between the two servers, so ratios hold on a noisy
# machine; absolute figures do not.
#
#   scripts/perf.sh                 # 3 runs, then the median of each ratio
#   PERF_RUNS=1 scripts/perf.sh     # one run (about 4 minutes)
#   PERF_PPROF=1 scripts/perf.sh    # also CPU profiles (server built with -tags pprof)
#
# Results go to perf-results/<date>/ (not committed): each run's JSONL and
# tables, and targets.txt, the verdict of ../shared/perf/targets.py on the
# median of the runs. Needs ../shared/perf (PERF_DIR to point elsewhere),
# Go and python3. Only 127.0.0.1 is used; every server is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

perf_dir=$(cd "${PERF_DIR:-../shared/perf}" && pwd)
runs=${PERF_RUNS:-3}
out=${PERF_OUT:-perf-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$(mktemp -d "${TMPDIR:-/tmp}/authgql-perf.XXXXXX")
trap 'rm -rf "$bin"' EXIT

echo "perf: building the baselines, the harness and this server into $bin"
(cd "$perf_dir/reference" && go build -o "$bin/" ./cmd/noauth ./cmd/reference)
(cd "$perf_dir" && go build -o "$bin/perf" .)
tags=()
pprof=()
if [ "${PERF_PPROF:-0}" = 1 ]; then
  tags=(-tags pprof)
  pprof=(-pprof "$out/pprof")
fi
go build ${tags[@]+"${tags[@]}"} -o "$bin/project" .

harness=("$bin/perf" -c 16 -d "${PERF_DURATION:-4s}" -warmup 1s -rounds "${PERF_ROUNDS:-2}" -slices 4 -s4-tokens 50000 ${pprof[@]+"${pprof[@]}"})
for i in $(seq 1 "$runs"); do
  echo "perf: run $i of $runs: against noauth (S1-S5)"
  "${harness[@]}" -vs "$bin/noauth" "$bin/project" >"$out/vs-noauth-$i.jsonl" 2>"$out/vs-noauth-$i.txt"
  echo "perf: run $i of $runs: against the typical build (S2, S4)"
  "${harness[@]}" -scenarios S2,S4 -vs "$bin/reference" "$bin/project" >"$out/vs-ref-$i.jsonl" 2>"$out/vs-ref-$i.txt"
  python3 "$perf_dir/tables.py" "$out/vs-noauth-$i.jsonl" "$out/vs-ref-$i.jsonl" >"$out/tables-$i.md"
  python3 "$perf_dir/targets.py" "$out/vs-noauth-$i.jsonl" "$out/vs-ref-$i.jsonl" >"$out/targets-$i.txt" || true
  tail -n 1 "$out/targets-$i.txt"
done

# The median run of each ratio, so one noisy run cannot decide a target.
python3 - "$out" "$runs" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
for kind in ("vs-noauth", "vs-ref"):
    rows = [[json.loads(l) for l in open(f"{out}/{kind}-{i}.jsonl") if l.strip()] for i in range(1, runs + 1)]
    merged = [r for r in rows[0] if r["type"] != "ratio"]
    for rs in rows[1:]:
        merged += [r for r in rs if r["type"] == "summary"]
    for ratio in (r for r in rows[0] if r["type"] == "ratio"):
        same = [r for rs in rows for r in rs if r["type"] == "ratio" and r["scenario"] == ratio["scenario"]]
        m = dict(ratio)
        for k in ("rps_ratio_median", "p99_ratio_median", "p50_ratio_median", "server_cpu_per_req_ratio_median"):
            m[k] = statistics.median(r[k] for r in same)
        merged.append(m)
    with open(f"{out}/{kind}-median.jsonl", "w") as f:
        for r in merged:
            f.write(json.dumps(r) + "\n")
PY
status=0
python3 "$perf_dir/targets.py" "$out/vs-noauth-median.jsonl" "$out/vs-ref-median.jsonl" | tee "$out/targets.txt" || status=$?
echo "perf: results in $out"
exit "$status"
