#!/usr/bin/env bash
# Benchmark smoke test: `compare --quick --debug` (50 ticking connections for 2 s, then echo,
# churn and HTTP for 1 s each; the Socket.IO loads at 50 sessions, the write floor, and the chat
# room's loads for ours: 2 rooms of 3 members posting over HTTP and over the socket, and 4
# visitors loading the list and a room of 20 lines) against
# the three runtimes, the seed's Node app, both tokio-tungstenite variants, socket.io on Node
# and socketioxide, then checks that every server has a row with non-zero figures for every
# load it serves. The three runtimes must pass the Socket.IO loads too (in `CONFORMANCE=true`).
# It proves the load generator, the peers and the report work; the figures themselves mean
# nothing at this size (the full run is `cargo run --release -p gif-chat-bench --bin compare`).
# The bench crate's unit tests run with `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/../.."

for peer in node-seed socketio-node; do
  if [ ! -d "tests/peers/$peer/node_modules" ]; then
    (cd "tests/peers/$peer" && npm ci --no-audit --no-fund)
  fi
done

OUT=$(mktemp -d "${TMPDIR:-/tmp}/gif-chat-bench-smoke.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

start=$SECONDS
# The binaries the test command built (`cargo run -p gif-chat-bench` would compile the
# bench's dependencies again with its own feature set).
cargo build -q --workspace --bins
"${CARGO_TARGET_DIR:-target}/debug/compare" --quick --debug --out-dir "$OUT" > "$OUT/table.txt"
echo "compare --quick took $((SECONDS - start)) s"

python3 - "$OUT/results.json" <<'PY'
import json, sys

results = json.load(open(sys.argv[1]))
rows = {row["server"]: row for row in results["rows"]}
problems = list(results["results"]["failures"])
expected = ["tokio", "smol", "mio", "node", "tungstenite", "tungstenite-4k",
            "socketio-node", "socketioxide"]
sio_peers = ("socketio-node", "socketioxide")
sio_loads = ["sio_idle", "sio_idle_polling", "sio_fanout", "sio_fanout_big", "sio_churn",
             "sio_polling"]
chat_loads = ["chat_post", "chat_socket", "chat_page"]
floors = results["results"]["runs"].get("floor/WriteFloor", [])
if not floors or not all(r["floor_us_per_write"] > 0 for r in floors):
    problems.append(f"write floor not measured: {floors}")
for server in expected:
    row = rows.get(server)
    if row is None:
        problems.append(f"{server}: no row")
        continue
    loads = [] if server in sio_peers else ["ticks", "echo", "churn"]
    if row["ours"]:
        loads += ["ticks_big", "sio_idle_big"] + chat_loads
    elif any(row.get(load) for load in chat_loads):
        problems.append(f"{server}: has chat figures but no chat app")
    if server not in ("tungstenite", "tungstenite-4k") + sio_peers:
        loads.append("http")
    if row["ours"] or server in sio_peers:
        loads += sio_loads
    checks = {
        "ticks": ["connected", "ticks_received", "ticks_expected", "rss_steady_mib"],
        "ticks_big": ["connected", "ticks_received", "rss_steady_mib"],
        "echo": ["msgs_per_sec", "rtt_p50_ms", "cpu_us_per_msg"],
        "churn": ["handshakes_per_sec", "clean_close_ratio"],
        "http": ["requests_per_sec"],
        "sio_idle": ["connected", "rss_steady_mib"],
        "sio_idle_polling": ["connected", "rss_steady_mib"],
        "sio_idle_big": ["connected", "rss_steady_mib"],
        "sio_fanout": ["deliveries_per_sec", "latency_p50_ms", "latency_p99_ms"],
        "sio_fanout_big": ["deliveries_per_sec", "latency_p50_ms"],
        "sio_churn": ["sessions_per_sec", "clean_close_ratio"],
        "sio_polling": ["requests_per_sec", "events_per_sec"],
        "chat_post": ["chats_per_sec", "deliveries_per_sec", "latency_p50_ms", "cpu_us_per_chat"],
        "chat_socket": ["chats_per_sec", "deliveries_per_sec", "latency_p50_ms", "cpu_us_per_chat"],
        "chat_page": ["pages_per_sec", "latency_p50_ms", "cpu_us_per_page", "history_lines"],
    }
    for load in loads:
        figures = row.get(load)
        if not figures:
            problems.append(f"{server}: no {load} figures")
            continue
        # Every figure is a spread over the repeats: {median, min, max, n}.
        median = lambda name: (figures.get(name) or {}).get("median", 0)
        for name in checks[load]:
            if not median(name) > 0:
                problems.append(f"{server}: {load}.{name} = {figures.get(name)}")
        if load.startswith("ticks"):
            if median("dropped") != 0 or median("connected") != median("connections"):
                problems.append(f"{server}: {load} lost connections: {figures}")
            if median("ticks_received") < 0.9 * median("ticks_expected"):
                problems.append(f"{server}: {load} too few ticks: {figures}")
        if load in ("churn", "sio_churn") and not 0 < median("clean_close_ratio") <= 1:
            problems.append(f"{server}: {load} clean-close ratio out of range: {figures}")
        if load.startswith("sio_idle"):
            if median("dropped") != 0 or median("connected") != median("sessions"):
                problems.append(f"{server}: {load} lost sessions: {figures}")
        if load.startswith("sio_fanout") or load in ("chat_post", "chat_socket"):
            if median("dropped") != 0 or median("lost") != 0:
                problems.append(f"{server}: {load} lost deliveries: {figures}")
        if load.startswith("chat_") and median("errors") != 0:
            problems.append(f"{server}: {load} had errors: {figures}")
if problems:
    print("bench smoke: FAILED")
    for p in problems:
        print("  -", p)
    sys.exit(1)
print(f"bench smoke: {len(expected)} servers, every row non-zero")
PY
grep -q '^| runtime-mio ' "$OUT/table.txt"
grep -q '^| node-seed' "$OUT/table.txt"
grep -q '^| socket.io 4.8 (Node) ' "$OUT/table.txt"
grep -q '^| socketioxide ' "$OUT/table.txt"
grep -q '^| runtime-tokio | `POST /room/<id>/chat` ' "$OUT/table.txt"
grep -q '^| node-seed (Express + ws) | — | no chat app ' "$OUT/table.txt"
test -s "$OUT/figures/rss_per_connection.svg"
echo "bench smoke: passed"
