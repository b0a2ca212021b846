#!/usr/bin/env bash
# Real Socket.IO clients against a server running gif-chat's conformance app (SPEC E8; the
# contract is tests/sio/README.md): socket.io-client 4.8 (tests/sio/scenarios.mjs) and
# python-socketio (tests/sio/main_path.py), each printing one JSON line per scenario.
#
# By default the server is the reference one, socket.io 4.8 on Node (tests/peers/socketio-node),
# started here on an ephemeral loopback port with short ping settings and stopped at the end.
# SIO_TARGET_URL=http://127.0.0.1:PORT runs the clients against a server started elsewhere
# instead (gif-chat with CONFORMANCE=true and the same EIO_PING_INTERVAL_MS/EIO_PING_TIMEOUT_MS).
#
# Installs what it needs (npm ci in both folders, a venv with the pinned python-socketio) only
# when missing, so running it again costs only the scenarios.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

export EIO_PING_INTERVAL_MS="${EIO_PING_INTERVAL_MS:-300}"
export EIO_PING_TIMEOUT_MS="${EIO_PING_TIMEOUT_MS:-200}"

# Each install is stamped with the hash of the file it came from, and redone when that changed.
stamp_matches() { [ -f "$2" ] && [ "$(sha256sum <"$1")" = "$(cat "$2")" ]; }

install_npm() {
  local dir=$1
  if ! stamp_matches "$dir/package-lock.json" "$dir/node_modules/.gif-chat-stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    sha256sum <"$dir/package-lock.json" >"$dir/node_modules/.gif-chat-stamp"
  fi
}

install_npm tests/sio
VENV=tests/sio/.venv
if ! stamp_matches tests/sio/requirements.txt "$VENV/.gif-chat-stamp"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/sio/requirements.txt
  sha256sum <tests/sio/requirements.txt >"$VENV/.gif-chat-stamp"
fi

PEER_PID=
LOG=$(mktemp "${TMPDIR:-/tmp}/gif-chat-sio-peer.XXXXXX")
cleanup() {
  if [ -n "$PEER_PID" ]; then
    kill "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
  fi
  rm -f "$LOG"
}
trap cleanup EXIT

if [ -n "${SIO_TARGET_URL:-}" ]; then
  URL=$SIO_TARGET_URL
else
  install_npm tests/peers/socketio-node
  PORT=0 node tests/peers/socketio-node/server.js >"$LOG" 2>&1 &
  PEER_PID=$!
  # Wait for the start line (it carries the port), at most 10 s.
  for _ in $(seq 100); do
    grep -q 'listening on' "$LOG" && break
    kill -0 "$PEER_PID" 2>/dev/null || { cat "$LOG"; echo "the Node peer exited"; exit 1; }
    sleep 0.1
  done
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG")
  [ -n "$PORT" ] || { cat "$LOG"; echo "the Node peer did not start"; exit 1; }
  URL="http://127.0.0.1:$PORT"
fi
echo "sio clients against $URL (ping ${EIO_PING_INTERVAL_MS}/${EIO_PING_TIMEOUT_MS} ms)"

status=0
RESULTS=$(mktemp "${TMPDIR:-/tmp}/gif-chat-sio-results.XXXXXX")
trap 'cleanup; rm -f "$RESULTS"' EXIT
node tests/sio/scenarios.mjs "$URL" | tee -a "$RESULTS" || status=1
(cd tests/sio && .venv/bin/python main_path.py "$URL") | tee -a "$RESULTS" || status=1

passed=$(grep -c '"ok": \?true' "$RESULTS" || true)
failed=$(grep -c '"ok": \?false' "$RESULTS" || true)
echo "sio clients: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
