#!/usr/bin/env bash
# Socket.IO fan-out alone: the `sio-fanout` loads of `compare` (5,000 sessions in 50 rooms at 5
# events/s per room, and one room of 5,000 at 2/s; 10 s windows, 2 client processes over 4
# loopback source addresses) and the `write-floor` beside them, for checking the fan-out targets
# without the full comparison. Prints one JSON line per measurement, prefixed with the repeat,
# the load and the server, so that ratios are taken within one repeat.
#
#   bash tests/bench/fanout.sh [repeats] [servers...]   # binaries from `cargo build --release`
#   bash tests/bench/fanout.sh 3 runtime-tokio socketioxide
#   TARGET_DIR=/elsewhere LOADS="rooms big" bash tests/bench/fanout.sh
#   PERF=1 bash tests/bench/fanout.sh 1 runtime-mio    # perf record -g on the server, rooms load
#   STAT=1 LOADS=rooms bash tests/bench/fanout.sh 2 runtime-tokio
#       # perf stat: the server's context switches and its waking and parking system calls over
#       # its whole life (setup and teardown included), as "stat" beside the result
#
# Servers: runtime-tokio runtime-smol runtime-mio (CONFORMANCE=true), socketio-node,
# socketioxide (its release binary `socketioxide-peer`, built by `cargo build --release
# --manifest-path tests/peers/socketioxide-server/Cargo.toml`, as `compare` does).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
REPEATS=${1:-3}
shift || true
SERVERS=${*:-runtime-tokio runtime-smol runtime-mio}
LOADS=${LOADS:-floor rooms big}
BIN=$(cd "${TARGET_DIR:-$ROOT/target}" && pwd)/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
SOURCES=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5

# shellcheck source=start-server.sh
. tests/bench/start-server.sh

STAT_EVENTS=context-switches,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_write,syscalls:sys_enter_sendto

fanout() { # server sessions rooms rate -> sets result, and stat when STAT is set
  start "$1"
  local perf_pid=
  if [ -n "${PERF:-}" ]; then
    perf record -F 2000 -g -p "$PID" -o "${PERF_OUT:-/tmp}/perf-$1.data" >/dev/null 2>&1 &
    perf_pid=$!
  elif [ -n "${STAT:-}" ]; then
    perf stat -x, -e "$STAT_EVENTS" -p "$PID" -o "$WORK/stat.csv" &
    perf_pid=$!
  fi
  result=$("$BIN/loadgen" sio-fanout --url "http://127.0.0.1:$PORT/" --sessions "$2" --rooms "$3" \
    --rate "$4" --seconds 10 --processes 2 --source-addrs "$SOURCES" --server-pid "$PID")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
  stat=
  if [ -n "${STAT:-}" ]; then
    # perf's CSV: count,unit,event,...; comments start with #, an uncounted event has no number.
    stat=$(awk -F, '!/^#/ && NF > 2 && $1 ~ /^[0-9]+$/ { printf "%s\"%s\":%s", sep, $3, $1; sep="," }' "$WORK/stat.csv")
    stat=",\"stat\":{$stat}"
  fi
}

for repeat in $(seq "$REPEATS"); do
  for load in $LOADS; do
    if [ "$load" = floor ]; then
      result=$("$BIN/loadgen" write-floor --pairs 1000 --load-pairs 5000 --seconds 5)
      echo "{\"repeat\":$repeat,\"load\":\"floor\",\"result\":$result}"
      continue
    fi
    for server in $SERVERS; do
      case $load in
        rooms) fanout "$server" 5000 50 5 ;;
        big) fanout "$server" 5000 1 2 ;;
      esac
      echo "{\"repeat\":$repeat,\"load\":\"$load\",\"server\":\"$server\",\"result\":$result$stat}"
    done
  done
done
