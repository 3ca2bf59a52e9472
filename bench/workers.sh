#!/usr/bin/env bash
# Scaling: fulcrum's CPU per request with `workers: 2` (free to use both cores) against
# `workers: 1` (pinned to CPU 0), same backends and wrk load as compare.sh rr, rounds
# interleaved. Usage: workers.sh [ROUNDS] [SECONDS] (from the project root, after `cargo
# build --release`; FULCRUM_BIN overrides the binary). On 2 cores the two workers share
# CPU 1 with wrk and the backends, so the ratio is an upper bound on the sharing cost.
set -euo pipefail
rounds=${1:-5} dur=${2:-8}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FULCRUM_BIN:-target/release/fulcrum}
results=$(mktemp)
for _ in $(seq "$rounds"); do
  "$here/run.sh" workers1 8084 "$dur" 50 -- "$bin" run -c "$here/fulcrum-rr.yaml" | tee -a "$results"
  # run.sh pins to CPU 0; the inner taskset gives both cores back
  "$here/run.sh" workers2 8084 "$dur" 50 -- taskset -c 0,1 "$bin" run -c "$here/fulcrum-rr-w2.yaml" |
    tee -a "$results"
done
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    rows.setdefault(name, []).append(dict((k, float(v)) for k, v in (x.split("=") for x in kv)))
cpu = {n: [r["cpu_us_per_req"] for r in rs] for n, rs in rows.items()}
for n, v in cpu.items():
    print(f"median {n}: cpu_us_per_req={statistics.median(v):.1f} (runs: {' '.join(f'{x:.1f}' for x in v)})")
pairs = [b / a for a, b in zip(cpu["workers1"], cpu["workers2"])]
print(f"workers2/workers1 cpu_per_req: median {statistics.median(pairs):.2f} (pairs: {' '.join(f'{x:.2f}' for x in pairs)})")
PY
