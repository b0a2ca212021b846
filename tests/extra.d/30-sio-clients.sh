#!/usr/bin/env bash
# Real Socket.IO clients against a server running gif-chat's conformance app (SPEC E8; the
# contract is tests/sio/README.md): socket.io-client 4.8 (tests/sio/scenarios.mjs) and
# python-socketio (tests/sio/main_path.py), each printing one JSON line per scenario.
#
# By default the server is the reference one, socket.io 4.8 on Node (tests/peers/socketio-node),
# started here on an ephemeral loopback port with short ping settings and stopped at the end.
# SIO_TARGET_URL=http://127.0.0.1:PORT runs the clients against a server started elsewhere
# instead (gif-chat with CONFORMANCE=true and the same EIO_PING_INTERVAL_MS/EIO_PING_TIMEOUT_MS).
# Without it, the socketioxide peer (tests/peers/socketioxide-server) is also checked with the
# one scenario its /relay app covers (`relay-chat`), and then gif-chat itself, on each runtime
# (runtime-tokio, runtime-smol, runtime-mio, built here) with CONFORMANCE=true, runs every
# scenario of both clients.
#
# Installs what it needs (npm ci in both folders, a venv with the pinned python-socketio) only
# when missing, so running it again costs only the scenarios.
set -euo pipefail
cd "$(dirname "$0")/../.."

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

# Waits for a server's start line ("... listening on 127.0.0.1:PORT", at most 10 s) and prints
# the port; fails, showing the log, when the process exits or stays silent.
wait_for_port() {
  local pid=$1 log=$2 port
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  echo "the server did not start" >&2
  return 1
}

PEER_PID=
GC_PID=
LOG=$(mktemp "${TMPDIR:-/tmp}/gif-chat-sio-peer.XXXXXX")
# gif-chat's chat store and uploads for these runs: a scratch directory, not the checkout.
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/gif-chat-sio-scratch.XXXXXX")
cleanup() {
  if [ -n "$GC_PID" ]; then
    kill "$GC_PID" 2>/dev/null || true
    wait "$GC_PID" 2>/dev/null || true
  fi
  if [ -n "$PEER_PID" ]; then
    kill "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
  fi
  rm -f "$LOG"
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

if [ -n "${SIO_TARGET_URL:-}" ]; then
  URL=$SIO_TARGET_URL
else
  install_npm tests/peers/socketio-node
  PORT=0 node tests/peers/socketio-node/server.js >"$LOG" 2>&1 &
  PEER_PID=$!
  URL="http://127.0.0.1:$(wait_for_port "$PEER_PID" "$LOG")"
fi
echo "sio clients against $URL (ping ${EIO_PING_INTERVAL_MS}/${EIO_PING_TIMEOUT_MS} ms)"

status=0
RESULTS=$(mktemp "${TMPDIR:-/tmp}/gif-chat-sio-results.XXXXXX")
trap 'cleanup; rm -f "$RESULTS"' EXIT
node tests/sio/scenarios.mjs "$URL" | tee -a "$RESULTS" || status=1
(cd tests/sio && .venv/bin/python main_path.py "$URL") | tee -a "$RESULTS" || status=1

# The socketioxide peer runs only the `chat` part of /relay; the same client checks it, unless
# the run targets a server started elsewhere.
if [ -z "${SIO_TARGET_URL:-}" ]; then
  # The workspace's binaries, as the test command built them: `-p` for one package would
  # compile its dependencies again with other features.
  cargo build -q --workspace --bins
  SX_LOG=$(mktemp "${TMPDIR:-/tmp}/gif-chat-sio-socketioxide.XXXXXX")
  PORT=0 "${CARGO_TARGET_DIR:-$PWD/target}/debug/socketioxide-peer" >"$SX_LOG" 2>&1 &
  SX_PID=$!
  trap 'cleanup; kill "$SX_PID" 2>/dev/null || true; wait "$SX_PID" 2>/dev/null || true; rm -f "$RESULTS" "$SX_LOG"' EXIT
  SX_PORT=$(wait_for_port "$SX_PID" "$SX_LOG")
  echo "socketioxide peer at http://127.0.0.1:$SX_PORT"
  node tests/sio/scenarios.mjs "http://127.0.0.1:$SX_PORT" relay-chat | tee -a "$RESULTS" || status=1
fi

# gif-chat on each runtime, in conformance mode with the same ping settings, recovery on.
if [ -z "${SIO_TARGET_URL:-}" ]; then
  cargo build -q --workspace --bins
  for runtime in runtime-tokio runtime-smol runtime-mio; do
    GC_LOG=$(mktemp "${TMPDIR:-/tmp}/gif-chat-sio-$runtime.XXXXXX")
    PORT=0 HOST=127.0.0.1 CONFORMANCE=true COOKIE_SECRET=sio \
      DATABASE_URL="sqlite://$SCRATCH/$runtime.db" UPLOAD_DIR="$SCRATCH/uploads" \
      "${CARGO_TARGET_DIR:-$PWD/target}/debug/$runtime" >"$GC_LOG" 2>&1 &
    GC_PID=$!
    port=
    for _ in $(seq 100); do
      port=$(sed -n 's/^\([0-9][0-9]*\) 번 포트에서 대기 중$/\1/p' "$GC_LOG")
      [ -n "$port" ] && break
      kill -0 "$GC_PID" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$port" ]; then
      cat "$GC_LOG" >&2
      echo "$runtime did not start" >&2
      status=1
    else
      echo "gif-chat $runtime at http://127.0.0.1:$port"
      node tests/sio/scenarios.mjs "http://127.0.0.1:$port" | tee -a "$RESULTS" || status=1
      (cd tests/sio && .venv/bin/python main_path.py "http://127.0.0.1:$port") | tee -a "$RESULTS" || status=1
    fi
    kill "$GC_PID" 2>/dev/null || true
    wait "$GC_PID" 2>/dev/null || true
    GC_PID=
    rm -f "$GC_LOG"
  done
fi

passed=$(grep -c '"ok": \?true' "$RESULTS" || true)
failed=$(grep -c '"ok": \?false' "$RESULTS" || true)
echo "sio clients: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
