# Sourced by the bench's shell scripts (fanout.sh, idle-sessions.sh): `start SERVER` starts one
# of the Socket.IO servers the way `compare` does (gif-chat's runtimes with CONFORMANCE=true,
# every server with recovery off) and sets PID and PORT once it announced its port. Expects
# BIN (the release binaries) and WORK (a scratch directory) set; run from the repository root.

start() { # server -> sets PID and PORT
  local log=$WORK/$1.log
  case $1 in
    socketio-node)
      local port; port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
      (cd tests/peers/socketio-node && exec env PORT="$port" HOST=127.0.0.1 SIO_RECOVERY_MS=0 node server.js) >"$log" 2>&1 &
      ;;
    socketioxide)
      (cd "$WORK" && exec env PORT=0 HOST=127.0.0.1 SIO_RECOVERY_MS=0 "$BIN/socketioxide-peer") >"$log" 2>&1 &
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
  echo "$1 did not start" >&2; cat "$log" >&2; return 1
}
