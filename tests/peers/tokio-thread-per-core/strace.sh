#!/usr/bin/env bash
# strace-one.sh BINARY NAME: syscall counts of BINARY under 2,000 ticking connections, 12 s.
set -euo pipefail
BIN=$1; NAME=$2; LG=/work/wt-bench/target/release/loadgen
OUTD=/work/scratch-bench/strace; mkdir -p $OUTD
PORT=0 HOST=127.0.0.1 TICK_INTERVAL_MS=3000 COOKIE_SECRET=x strace -f -c -o $OUTD/$NAME.txt "$BIN" > $OUTD/$NAME.log 2>&1 &
ST=$!
for _ in $(seq 100); do P=$(grep -ao '[0-9]* 번 포트에서 대기 중' $OUTD/$NAME.log 2>/dev/null | cut -d' ' -f1 || true); [ -n "$P" ] && break; sleep 0.1; done
SRV=$(pgrep -P $ST)
$LG ticks --url ws://127.0.0.1:$P/ --connections 2000 --seconds 12 --interval-ms 3000 --source-addrs 127.0.0.2,127.0.0.3 --server-pid $SRV 2>/dev/null | tail -1 | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["connected"], r["ticks_received"], r["server"]["cpu_total_s"])'
kill -TERM $SRV; wait $ST || true
head -25 $OUTD/$NAME.txt
