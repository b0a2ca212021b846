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

# shellcheck source=start-server.sh
. tests/bench/start-server.sh

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
