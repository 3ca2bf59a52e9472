#!/usr/bin/env bash
# Memory per idle keep-alive connection, fulcrum beside nginx, HAProxy and Caddy (when
# installed), over HTTP/1 (idle.py) and HTTP/2 prior knowledge (idle_h2.py), in front of
# the same four backends. Each proxy is started fresh for each measurement, pinned to CPU 0.
# Usage: idle-compare.sh [N] [ROUNDS]   (run from the project root after `cargo build
# --release`; FULCRUM_BIN overrides the binary). N defaults to 5000; 15000 fits the
# 20,000-descriptor limit of this project's machines for all but HAProxy, which reserves
# two descriptors per connection and is left out above 9,990.
# Prints one line per run (NAME proto=h1|h2 kib_per_conn=K) and the medians.
set -euo pipefail
n=${1:-5000} rounds=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FULCRUM_BIN:-target/release/fulcrum}
mkdir -p /tmp/lbbench
results=$(mktemp)
# measure NAME PROTO PORT SCRIPT -- PROXY_COMMAND...
measure() {
  local name=$1 proto=$2 port=$3 script=$4; shift 5
  taskset -c 1 nginx -c "$here/backend-nginx.conf" & local bpid=$!
  taskset -c 0 "$@" >"/tmp/lbbench/$name-idle.log" 2>&1 & local ppid=$!
  local up=0
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:${port%%/*}/" 2>/dev/null && { up=1; break; }
    sleep 0.1
  done
  if [ $up = 1 ]; then
    local out
    out=$(python3 "$here/$script" "$ppid" "${port##*/}" "$n")
    echo "$name proto=$proto ${out##* }" | tee -a "$results"
  else
    echo "$name did not answer on port ${port%%/*}; log: /tmp/lbbench/$name-idle.log" >&2
  fi
  kill "$ppid" "$bpid" 2>/dev/null; wait "$ppid" "$bpid" 2>/dev/null || true
}
for _ in $(seq "$rounds"); do
  for proto in h1 h2; do
    script=idle.py; [ $proto = h2 ] && script=idle_h2.py
    # PORT is READY/MEASURED: nginx and HAProxy take h2c on a second port
    np=8081/8081 hp=8082/8082; [ $proto = h2 ] && np=8081/8091 hp=8082/8092
    measure nginx $proto $np $script -- nginx -c "$here/proxy-nginx-idle.conf"
    if [ "$n" -le 9990 ]; then
      measure haproxy $proto $hp $script -- haproxy -f "$here/proxy-haproxy-idle.cfg"
    fi
    if command -v caddy >/dev/null; then
      measure caddy $proto 8083/8083 $script -- env GOMAXPROCS=1 caddy run --adapter caddyfile \
        --config "$here/proxy-caddy.caddyfile"
    fi
    measure fulcrum $proto 8084/8084 $script -- "$bin" run -c "$here/fulcrum-idle.yaml"
  done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, proto, kib = line.split()
    rows.setdefault((name, proto), []).append(float(kib.split("=")[1]))
for (name, proto), v in rows.items():
    print(f"median {name} {proto}: kib_per_conn={statistics.median(v):.2f} (runs: {' '.join(f'{x:.2f}' for x in v)})")
PY
