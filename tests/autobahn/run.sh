#!/usr/bin/env bash
# Autobahn conformance (RFC 6455) of each runtime's /echo endpoint, driven by kosoku's
# fuzzingclient, which replays the Autobahn TestSuite cases.
#
# Why a separate suite: the behaviour tests check what core/BEHAVIOUR.md promises; Autobahn is an
# outsider's reading of RFC 6455 (framing, fragmentation, UTF-8, close codes, limits), so it
# catches what our own tests share a blind spot with. Cases 12.* and 13.* (permessage-deflate)
# are excluded: the server does not negotiate compression, so they would only test the refusal.
#
#   bash tests/autobahn/run.sh                 # all three runtimes
#   bash tests/autobahn/run.sh runtime-mio     # one (or more) of them
#
# Reports (HTML + JSON per case, index.json) land in tests/autobahn/reports/<runtime>/
# (gitignored). The script fails unless, for every runtime, kosoku exited 0, exactly
# EXPECTED_CASES cases ran, and every case's behavior and behaviorClose is OK, NON-STRICT or
# INFORMATIONAL; it prints a table of verdict counts per runtime.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

RUNTIMES=("$@")
[ ${#RUNTIMES[@]} -gt 0 ] || RUNTIMES=(runtime-tokio runtime-smol runtime-mio)
# Bounds that only turn a hang into a failure: the start line comes within milliseconds, a full
# run within a minute or two on a debug build.
START_TIMEOUT_S=${AUTOBAHN_START_TIMEOUT_S:-20}
RUN_TIMEOUT_S=${AUTOBAHN_RUN_TIMEOUT_S:-900}
STOP_TIMEOUT_S=${AUTOBAHN_STOP_TIMEOUT_S:-10}
# The Autobahn suite without 12.* and 13.*. Fewer means cases were skipped or a report lost
# (a run cut short still writes an index); more means the selection changed: either way the
# verdicts no longer say what this script claims, so the count is checked, not trusted.
EXPECTED_CASES=301

if ! command -v kosoku >/dev/null; then
  echo "installing kosoku (pip)"
  python3 -m pip install -q kosoku
fi

# A no-op when run.sh has just built everything; keeps a stand-alone run from testing stale
# binaries.
build_args=()
for rt in "${RUNTIMES[@]}"; do build_args+=(-p "$rt"); done
cargo build -q --bins "${build_args[@]}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# The settings the server reads; removed so a developer's shell cannot change the run.
SETTINGS=(PORT HOST APP_ENV TRUST_PROXY ALLOWED_ORIGINS TICK_INTERVAL_MS PING_INTERVAL_MS
  CLOSE_TIMEOUT_MS HEADER_TIMEOUT_MS KEEP_ALIVE_TIMEOUT_MS SHUTDOWN_TIMEOUT_MS MAX_MESSAGE_BYTES
  MAX_BODY_BYTES MAX_HEADER_BYTES MAX_HEADERS HIGH_WATER_MARK_BYTES COOKIE_SECRET)
unset_args=()
for name in "${SETTINGS[@]}"; do unset_args+=(-u "$name"); done

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && alive; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits (bounded) for the server's start line and prints the port it names.
wait_for_port() {
  local out=$1 deadline=$((SECONDS + START_TIMEOUT_S)) port
  while [ $SECONDS -lt $deadline ]; do
    # The first start line only, by sed itself: `sed | head -n1` under pipefail fails when
    # head leaves early and sed dies of SIGPIPE.
    port=$(sed -n 's/^\([0-9][0-9]*\) 번 포트에서 대기 중$/\1/;T;p;q' "$out")
    if [ -n "$port" ]; then
      echo "$port"
      return 0
    fi
    alive || return 1
    # Polling the file is the synchronisation; the pause only keeps the loop from spinning.
    sleep 0.05
  done
  return 1
}

# Whether the server is running: `kill -0` alone also succeeds on an exited, unreaped child.
alive() {
  local state
  state=$(ps -o stat= -p "$SERVER_PID" 2>/dev/null) || return 1
  [[ "$state" != Z* ]]
}

# Stops the server with SIGTERM and waits (bounded) for a clean exit.
stop_server() {
  local rt=$1 deadline=$((SECONDS + STOP_TIMEOUT_S)) status=0
  kill -TERM "$SERVER_PID"
  while alive && [ $SECONDS -lt $deadline ]; do
    sleep 0.05
  done
  if alive; then
    echo "$rt did not exit within ${STOP_TIMEOUT_S}s of SIGTERM" >&2
    return 1
  fi
  wait "$SERVER_PID" || status=$?
  SERVER_PID=""
  if [ "$status" -ne 0 ]; then
    echo "$rt exited with status $status after SIGTERM" >&2
    return 1
  fi
}

# Reads a kosoku index.json ($2) and prints one table row of verdict counts for runtime $1
# (first line), then one line per problem: a case that is not acceptable, or a case count
# other than $3. Exits 1 if there is any problem.
verdicts() {
  python3 - "$@" <<'PY'
import json, sys
from collections import Counter

ACCEPTABLE = {"OK", "NON-STRICT", "INFORMATIONAL"}
COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "WRONG CODE", "FAILED", "other"]
RANK = {"OK": 0, "INFORMATIONAL": 1, "NON-STRICT": 2, "UNIMPLEMENTED": 3, "WRONG CODE": 4, "FAILED": 5}
runtime, path, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, encoding="utf-8") as f:
    index = json.load(f)
counts, bad = Counter(), []
def case_key(case_id):
    return [int(part) if part.isdigit() else part for part in case_id.split(".")]
for agent, cases in index.items():
    for case_id in sorted(cases, key=case_key):
        result = cases[case_id]
        behavior, close = result.get("behavior"), result.get("behaviorClose")
        # A case counts under the worse of its two verdicts: a clean echo followed by a wrong
        # close is not OK.
        verdict = max(behavior, close, key=lambda v: RANK.get(v, len(RANK)))
        counts[verdict if verdict in RANK else "other"] += 1
        if behavior not in ACCEPTABLE or close not in ACCEPTABLE:
            bad.append(f"  {runtime} {case_id}: behavior={behavior} behaviorClose={close} "
                       f"({result.get('reportfile')})")
total = sum(counts.values())
print(f"| {runtime} | {total} | " + " | ".join(str(counts[c]) for c in COLUMNS) + " |")
if total != expected:
    bad.append(f"  {runtime}: {total} cases ran, expected exactly {expected}")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
PY
}

failed=()
summaries=()
for rt in "${RUNTIMES[@]}"; do
  bin="$TARGET_DIR/debug/$rt"
  [ -x "$bin" ] || { echo "missing binary $bin" >&2; exit 1; }
  report="$HERE/reports/$rt"
  rm -rf "$report"
  mkdir -p "$report"
  rundir="$WORK/$rt"
  mkdir -p "$rundir"
  echo "== $rt"
  # The log exists before the server starts, so the wait never reads a missing file.
  : >"$rundir/stdout"
  # Its own working directory, so no .env is read.
  (cd "$rundir" && exec env "${unset_args[@]}" HOST=127.0.0.1 PORT=0 "$bin") \
    >"$rundir/stdout" 2>"$rundir/stderr" &
  SERVER_PID=$!
  if ! port=$(wait_for_port "$rundir/stdout"); then
    echo "$rt printed no start line within ${START_TIMEOUT_S}s" >&2
    cat "$rundir/stdout" "$rundir/stderr" >&2
    exit 1
  fi
  echo "listening on 127.0.0.1:$port"
  kosoku_status=0
  timeout "$RUN_TIMEOUT_S" kosoku -m fuzzingclient -x '12.*' -x '13.*' -p 4 -o "$report" \
    "ws://127.0.0.1:$port/echo" >"$rundir/kosoku.log" 2>&1 || kosoku_status=$?
  tail -n 3 "$rundir/kosoku.log"
  if ! alive; then
    echo "$rt died during the run" >&2
    cat "$rundir/stderr" >&2
    exit 1
  fi
  stop_server "$rt" || failed+=("$rt (stop)")
  # kosoku exits non-zero when a case fails or the run breaks off; the verdicts below then
  # say which cases.
  if [ "$kosoku_status" -ne 0 ]; then
    echo "$rt: kosoku exited with status $kosoku_status" >&2
    failed+=("$rt (kosoku exit $kosoku_status)")
  fi
  if [ ! -f "$report/index.json" ]; then
    echo "$rt: no report index (kosoku exited with $kosoku_status)" >&2
    cat "$rundir/kosoku.log" >&2
    failed+=("$rt (no report)")
    continue
  fi
  summary_status=0
  summary=$(verdicts "$rt" "$report/index.json" "$EXPECTED_CASES") || summary_status=$?
  summaries+=("$summary")
  [ "$summary_status" -eq 0 ] || failed+=("$rt")
  # Server-side errors (stderr) are expected for the cases that send bad input; keep them
  # next to the reports for reading.
  cp "$rundir/stdout" "$rundir/stderr" "$report/"
done

echo
echo "| runtime | cases | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | WRONG CODE | FAILED | other |"
echo "|---|---|---|---|---|---|---|---|---|"
# Split by parameter expansion, not `| head`, which under pipefail can fail on SIGPIPE.
for summary in "${summaries[@]}"; do
  printf '%s\n' "${summary%%$'\n'*}"
done
for summary in "${summaries[@]}"; do
  if [[ "$summary" == *$'\n'* ]]; then
    printf '%s\n' "${summary#*$'\n'}"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "Autobahn FAILED: ${failed[*]} (reports in tests/autobahn/reports/)" >&2
  exit 1
fi
echo "Autobahn: $EXPECTED_CASES cases per runtime, every one OK, NON-STRICT or INFORMATIONAL"
