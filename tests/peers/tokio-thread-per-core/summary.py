"""Summary of run.sh's results.jsonl: figures per repeat, and ratios taken within each repeat
(median and min-max over the repeats), printed as Markdown tables for BENCHMARKS.md."""
import json
import statistics
import sys

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {(r["server_name"], r["mode"], r["repeat"]): r for r in runs}
repeats = sorted({r["repeat"] for r in runs})


def cpu_total(r):
    return r["server"]["cpu_total_s"]


def rss_per_conn(r):
    s = r["server"]
    return (s["rss_steady_kb"] - s["rss_baseline_kb"]) * 1024 / max(r["connected"], 1)


def cpu_per_msg(r):
    return r["server"]["cpu_window_s"] * 1e6 / max(r["messages"], 1)


def others(r):
    s = r["server"]
    return max(s.get("machine_busy_window_s", 0) - s["cpu_window_s"] - r["client_cpu_s"], 0)


def spread(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def figure(server, mode, f, digits):
    cells = []
    for rep in repeats:
        r = by.get((server, mode, rep))
        cells.append(f"{f(r):.{digits}f}" if r else "—")
    allv = [f(by[(server, mode, rep)]) for rep in repeats if (server, mode, rep) in by]
    return cells + [spread(allv, digits)]


def ratio(a, b, mode, f):
    values = []
    for rep in repeats:
        ra, rb = by.get((a, mode, rep)), by.get((b, mode, rep))
        values.append(f(ra) / f(rb) if ra and rb and f(rb) > 0 else None)
    cells = [f"{v:.3f}" if v is not None else "—" for v in values]
    return cells + [spread(values, 3)]


head = "| | " + " | ".join(f"repeat {r + 1}" for r in repeats) + " | median (min–max) |"
rule = "|---|" + "--:|" * (len(repeats) + 1)
print("Ticks, 10,000 connections: server CPU for the whole run (s)\n")
print(head + "\n" + rule)
for server in ["multi-thread", "thread-per-core", "mio", "node"]:
    print(f"| {server} | " + " | ".join(figure(server, "ticks", cpu_total, 2)) + " |")
for a, b in [("thread-per-core", "multi-thread"), ("multi-thread", "node"),
             ("thread-per-core", "node"), ("mio", "node")]:
    print(f"| {a} ÷ {b} | " + " | ".join(ratio(a, b, "ticks", cpu_total)) + " |")
print("\nTicks, 10,000 connections: RSS per connection (B), and losses\n")
print(head + "\n" + rule)
for server in ["multi-thread", "thread-per-core", "mio", "node"]:
    print(f"| {server} | " + " | ".join(figure(server, "ticks", rss_per_conn, 0)) + " |")
lost = [(r["server_name"], r["repeat"], r["connections"] - r["connected"] + r["dropped"])
        for r in runs if r["mode"] == "ticks"]
print("\nlost connections (connections − connected + dropped):",
      ", ".join(f"{s} r{rep + 1}: {n}" for s, rep, n in lost))
print("\nEcho (server on CPU 0, client on CPU 1)\n")
print(head + "\n" + rule)
for server in ["multi-thread", "thread-per-core"]:
    print(f"| {server}: server CPU/msg (µs) | "
          + " | ".join(figure(server, "echo", cpu_per_msg, 3)) + " |")
for server in ["multi-thread", "thread-per-core"]:
    print(f"| {server}: msgs/s | "
          + " | ".join(figure(server, "echo", lambda r: r["msgs_per_sec"], 0)) + " |")
for server in ["multi-thread", "thread-per-core"]:
    print(f"| {server}: client / others CPU (s) | "
          + " | ".join(f"{by[(server, 'echo', rep)]['client_cpu_s']:.2f} / "
                       f"{others(by[(server, 'echo', rep)]):.2f}"
                       if (server, "echo", rep) in by else "—" for rep in repeats) + " | |")
print("| thread-per-core ÷ multi-thread, CPU/msg | "
      + " | ".join(ratio("thread-per-core", "multi-thread", "echo", cpu_per_msg)) + " |")
print("| thread-per-core ÷ multi-thread, msgs/s | "
      + " | ".join(ratio("thread-per-core", "multi-thread", "echo",
                         lambda r: r["msgs_per_sec"])) + " |")
