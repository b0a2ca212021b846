#!/usr/bin/env bash
# Experiment, not a product: runtime-tokio as it is (one multi-thread runtime, one worker per
# core) against the same code switched to thread per core (one current-thread runtime per core,
# each with its own SO_REUSEPORT listener; thread-per-core.patch), measured side by side in the
# same repeats with the bench's load generator. Results and the reading are in BENCHMARKS.md,
# section "tokio: thread-per-core vs multi-thread".
#
#   bash tests/peers/tokio-thread-per-core/run.sh [REPEATS]      # default 3, about 12 minutes
#
# Each repeat runs, back to back: `loadgen ticks` at 10,000 connections (24 s window, 3 s
# interval, as `compare` does) against multi-thread, thread-per-core, runtime-mio and the seed's
# Node app; then `loadgen echo` (64 connections x 16 in flight x 32 B, 10 s; server pinned to
# CPU 0, client to CPU 1, as `compare` does) against multi-thread and thread-per-core. The patch
# applies to runtime-tokio/src as of BASE below; the copy is built in a scratch directory and
# never becomes part of the workspace.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE="$ROOT/tests/peers/tokio-thread-per-core"
BASE=${BASE:-9d6b937}
REPEATS=${1:-3}
# Smaller sizes only to try the script itself (the figures then mean nothing).
CONNECTIONS=${CONNECTIONS:-10000}
TICK_SECONDS=${TICK_SECONDS:-24}
ECHO_SECONDS=${ECHO_SECONDS:-10}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/tokio-thread-per-core.XXXXXX")
OUT=${OUT:-$SCRATCH/results.jsonl}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# The throwaway crate: runtime-tokio's sources at BASE, patched, under another package name so
# its binary does not replace target/release/runtime-tokio.
mkdir -p "$SCRATCH/crate"
git -C "$ROOT" archive "$BASE" runtime-tokio/src | tar -x -C "$SCRATCH/crate" --strip-components=1
(cd "$SCRATCH/crate" && patch -s -p1 < "$HERE/thread-per-core.patch")
cp "$ROOT/Cargo.lock" "$SCRATCH/crate/"
cat > "$SCRATCH/crate/Cargo.toml" <<EOF
[package]
name = "tokio-thread-per-core"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
name = "runtime_tokio"

[dependencies]
gif-chat-core = { path = "$ROOT/core" }
tokio = { version = "1", features = ["rt-multi-thread", "net", "time", "signal", "macros", "sync", "io-util"] }
socket2 = { version = "0.6", features = ["all"] }
clap = { version = "4", features = ["derive", "env"] }
dotenvy = "0.15"
thiserror = "2"

[profile.release]
debug = 1
codegen-units = 4

[workspace]
EOF
(cd "$ROOT" && cargo build -q --release -p runtime-tokio -p runtime-mio -p gif-chat-bench)
(cd "$SCRATCH/crate" && cargo build -q --release)
if [ ! -d "$ROOT/tests/peers/node-seed/node_modules" ]; then
  (cd "$ROOT/tests/peers/node-seed" && npm ci --no-audit --no-fund)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run SERVER LOAD REPEAT: one fresh server, one loadgen run, one JSON line appended to $OUT.
run() {
  local server=$1 load=$2 repeat=$3 port=0 dir=$SCRATCH cmd pin_server=() pin_client=()
  case $server in
    multi-thread) cmd=("$BIN/runtime-tokio") ;;
    thread-per-core) cmd=("$BIN/tokio-thread-per-core") ;;
    mio) cmd=("$BIN/runtime-mio") ;;
    node) cmd=(node app.js); dir=$ROOT/tests/peers/node-seed; port=$(free_port) ;;
  esac
  if [ "$load" = echo ]; then pin_server=(taskset -c 0); pin_client=(taskset -c 1); fi
  local log=$SCRATCH/$server-$load-$repeat.out
  (cd "$dir" && PORT=$port HOST=127.0.0.1 TICK_INTERVAL_MS=3000 COOKIE_SECRET=gifchat \
    exec "${pin_server[@]}" "${cmd[@]}" > "$log" 2>&1 < /dev/null) &
  local pid=$!
  PIDS+=("$pid")
  local listening=""
  for _ in $(seq 200); do
    listening=$(grep -aos '[0-9]* 번 포트에서 대기 중' "$log" | head -1 | cut -d' ' -f1 || true)
    [ -n "$listening" ] && break
    sleep 0.1
  done
  [ -n "$listening" ] || { echo "$server did not start (see $log)" >&2; return 1; }
  [ "$listening" = 0 ] || port=$listening
  local args
  if [ "$load" = ticks ]; then
    args=(ticks --url "ws://127.0.0.1:$port/" --connections "$CONNECTIONS" --seconds "$TICK_SECONDS" --interval-ms 3000
      --processes 2 --source-addrs 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5)
  else
    args=(echo --url "ws://127.0.0.1:$port/echo" --connections 64 --in-flight 16 --size 32 --seconds "$ECHO_SECONDS")
  fi
  "${pin_client[@]}" "$BIN/loadgen" "${args[@]}" --settle-ms 1000 --server-pid "$pid" \
    2> "$SCRATCH/loadgen-$server-$load-$repeat.err" | grep '^{' | tail -1 |
    python3 -c 'import json,sys; r=json.load(sys.stdin); r["server_name"]=sys.argv[1]; r["repeat"]=int(sys.argv[2]); print(json.dumps(r))' \
      "$server" "$repeat" >> "$OUT"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  tail -1 "$OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["server"]; print("  {:16} {:5} repeat {}: CPU {:.2f} s, {:.0f} msgs/s, connected {}, dropped {}, machine busy {:.1f} s".format(r["server_name"], r["mode"], r["repeat"], s["cpu_total_s"], r["msgs_per_sec"], r["connected"], r["dropped"], s.get("machine_busy_window_s", 0)))' >&2
}

echo "results: $OUT" >&2
for repeat in $(seq 0 $((REPEATS - 1))); do
  for server in multi-thread thread-per-core mio node; do run "$server" ticks "$repeat"; done
  for server in multi-thread thread-per-core; do run "$server" echo "$repeat"; done
done
python3 "$HERE/summary.py" "$OUT"
