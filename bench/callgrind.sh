#!/usr/bin/env bash
# User-space instructions per proxied request under callgrind: exact and
# repeatable where timings on a shared machine are not.
# Usage (from the project root, after `cargo build --release`):
#   bench/callgrind.sh CONFIG PORT [SECONDS]   e.g. bench/callgrind.sh bench/fulcrum-rr.yaml 8084 15
# Starts the nginx backends of backend-nginx.conf unless they run, warms up
# for 3 s, zeroes the counters, drives wrk (CONNS connections, default 10) for SECONDS, and
# prints `CONFIG requests=N instr_per_req=I`. Needs valgrind, nginx, wrk, curl.
# FULCRUM_BIN overrides the binary. The profile's path is printed to stderr, for
# `callgrind_annotate PATH.1` (functions by instructions).
set -euo pipefail
cfg=$1 port=$2 dur=${3:-15}
conns=${CONNS:-10}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FULCRUM_BIN:-target/release/fulcrum}
mkdir -p /tmp/lbbench
if ! pgrep -f "nginx -c $here/backend-nginx.conf" >/dev/null; then
  taskset -c 1 nginx -c "$here/backend-nginx.conf" >/dev/null 2>&1 </dev/null &
  started=$!
  trap 'kill $started 2>/dev/null' EXIT
  sleep 0.5
fi
out=$(mktemp -d)/cg.out
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" run -c "$cfg" >"$out.log" 2>&1 &
vpid=$!
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
taskset -c 1 wrk -t1 -c"$conns" -d3s -s "$here/keys.lua" "http://127.0.0.1:$port/" >/dev/null
callgrind_control -z $vpid >/dev/null
res=$(taskset -c 1 wrk -t1 -c"$conns" -d"${dur}"s -s "$here/keys.lua" "http://127.0.0.1:$port/")
callgrind_control -d $vpid >/dev/null
sleep 1
kill $vpid; wait $vpid 2>/dev/null || true
reqs=$(echo "$res" | grep -oE "[0-9]+ requests in" | grep -oE "^[0-9]+")
ir=$(grep -hE "^(summary|totals):" "$out".* | tail -1 | awk '{print $2}')
echo "profile: $out" >&2
python3 -c "print(f'$(basename "$cfg") requests=$reqs instr_per_req={$ir/$reqs:.0f}')"
