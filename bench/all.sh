#!/usr/bin/env bash
# Every figure of the README's benchmark section, in one run: compare.sh in the standard
# modes (rr, hash, tls) and the harder ones (16 KiB responses, 1,000 connections), idle
# memory per connection over HTTP/1 and HTTP/2 (idle-compare.sh), workers: 2 against
# workers: 1 (workers.sh) and user-space instructions per request (callgrind.sh, when
# valgrind is installed). Usage: all.sh [ROUNDS] [SECONDS] (from the project root, after
# `cargo build --release`); about 13 minutes at the defaults (3 rounds of 8 s). Output goes
# to the terminal and to target/bench-results-DATE.txt.
set -euo pipefail
rounds=${1:-3} dur=${2:-8}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p target
log=target/bench-results-$(date +%Y%m%d-%H%M).txt
{
  echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  for mode in rr hash tls; do
    echo "## compare.sh $mode $rounds $dur"
    "$here/compare.sh" "$mode" "$rounds" "$dur" | grep -E "cpu_us_per_req|best-peer"
  done
  echo "## BENCH_PATH=/big compare.sh rr $rounds $dur"
  BENCH_PATH=/big "$here/compare.sh" rr "$rounds" "$dur" | grep -E "cpu_us_per_req|best-peer"
  echo "## CONNS=1000 compare.sh rr $rounds $dur"
  CONNS=1000 "$here/compare.sh" rr "$rounds" "$dur" | grep -E "cpu_us_per_req|best-peer"
  echo "## idle-compare.sh 5000"
  "$here/idle-compare.sh" 5000 1 | grep '^median'
  echo "## workers.sh $rounds $dur"
  "$here/workers.sh" "$rounds" "$dur" | tail -3
  if command -v valgrind >/dev/null; then
    echo "## callgrind.sh"
    "$here/callgrind.sh" "$here/fulcrum-rr.yaml" 8084 8 2>/dev/null
    "$here/callgrind.sh" "$here/fulcrum-hash.yaml" 8084 8 2>/dev/null
    # compare.sh's own load (50 connections) and the 1,000-connection mode
    echo "CONNS=50: $(CONNS=50 "$here/callgrind.sh" "$here/fulcrum-rr.yaml" 8084 8 2>/dev/null)"
    echo "CONNS=1000: $(CONNS=1000 "$here/callgrind.sh" "$here/fulcrum-rr.yaml" 8084 8 2>/dev/null)"
  fi
} 2>&1 | tee "$log"
