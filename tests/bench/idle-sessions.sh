#!/usr/bin/env bash
# RSS per idle Socket.IO session, alone: the `sio-idle` load of `compare` (10,000 WebSocket
# sessions in 100 rooms, 24 s hold, 2 client processes over 4 loopback source addresses) against
# gif-chat's three runtimes (CONFORMANCE=true) and socket.io 4.8, each server once per repeat so
# the ratios come from one repeat. For checking the idle-session floors without the 55-minute
# full comparison; prints one JSON line per run (the loadgen's) prefixed with repeat and server.
#
#   bash tests/bench/idle-sessions.sh [repeats]     # binaries from `cargo build --release`
#   TARGET_DIR=/elsewhere bash tests/bench/idle-sessions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
REPEATS=${1:-3}
BIN=${TARGET_DIR:-$ROOT/target}/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
[ -d tests/peers/socketio-node/node_modules/socket.io ] ||
  (cd tests/peers/socketio-node && npm ci --no-audit --no-fund --loglevel=error)

start() { # server -> sets PID and PORT
  local log=$WORK/$1.log
  case $1 in
    socketio-node)
      local port; port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
      (cd tests/peers/socketio-node && exec env PORT="$port" HOST=127.0.0.1 SIO_RECOVERY_MS=0 node server.js) >"$log" 2>&1 &
      ;;
    *)
      (cd "$WORK" && exec env PORT=0 HOST=127.0.0.1 CONFORMANCE=true SIO_RECOVERY_MS=0 COOKIE_SECRET=gifchat "$BIN/$1") >"$log" 2>&1 &
      ;;
  esac
  PID=$!
  for _ in $(seq 200); do
    PORT=$(grep -aoE '^[0-9]+ 번 포트에서 대기 중|listening on 127\.0\.0\.1:[0-9]+' "$log" | grep -oE '[0-9]+' | tail -n1 || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05   # waiting for the server's start line, bounded
  done
  echo "$1 did not start" >&2; return 1
}

for repeat in $(seq "$REPEATS"); do
  for server in runtime-tokio runtime-smol runtime-mio socketio-node; do
    start "$server"
    result=$("$BIN/loadgen" sio-idle --url "http://127.0.0.1:$PORT/" --sessions 10000 --rooms 100 \
      --transport websocket --seconds 24 --processes 2 \
      --source-addrs 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 --settle-ms 1000 --server-pid "$PID")
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
    echo "{\"repeat\":$repeat,\"server\":\"$server\",\"result\":$result}"
  done
done
