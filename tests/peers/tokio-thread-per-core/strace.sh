#!/usr/bin/env bash
# strace.sh BINARY NAME: system calls of BINARY (a gif-chat server) under 2,000 ticking
# connections for 12 s (3 s interval: 8,000 ticks and replies), counted by `strace -f -c`.
#   bash tests/peers/tokio-thread-per-core/strace.sh target/release/runtime-tokio multi-thread
# The counts go to $OUT/NAME.txt (default: a temporary directory, printed).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=$1 NAME=$2
LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gif-chat-strace.XXXXXX")}
PORT=0 HOST=127.0.0.1 TICK_INTERVAL_MS=3000 COOKIE_SECRET=gifchat \
  strace -f -c -o "$OUT/$NAME.txt" "$BIN" > "$OUT/$NAME.log" 2>&1 < /dev/null &
TRACER=$!
PORT=""
for _ in $(seq 100); do
  PORT=$(grep -aos '[0-9]* 번 포트에서 대기 중' "$OUT/$NAME.log" | cut -d' ' -f1 || true)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "$BIN did not start (see $OUT/$NAME.log)" >&2; kill "$TRACER"; exit 1; }
SERVER=$(pgrep -P "$TRACER")
"$LOADGEN" ticks --url "ws://127.0.0.1:$PORT/" --connections 2000 --seconds 12 \
  --interval-ms 3000 --source-addrs 127.0.0.2,127.0.0.3 --server-pid "$SERVER" 2>/dev/null |
  tail -1 | python3 -c 'import json,sys; r=json.load(sys.stdin); print("connected", r["connected"], "ticks", r["ticks_received"], "server CPU", r["server"]["cpu_total_s"], "s (under strace)")'
kill -TERM "$SERVER"
wait "$TRACER" || true
echo "$OUT/$NAME.txt:"
head -16 "$OUT/$NAME.txt"
