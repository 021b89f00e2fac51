"""Turns the JSON rows of `make bench` into docs/benchmarks.md and an SVG chart."""
import datetime
import json
import os
import subprocess
import sys

out, report_path, chart_path, *servers = sys.argv[1:]

ROWS = ["connect", "route-w1", "route-w16", "route-w64", "route-paced", "presence", "churn", "keep-w16", "drain"]
# (row, metric, label, higher_is_better, goal as a multiple of node-ws or an absolute limit)
GOALS = [
    ("route-w1", "msgs_per_s", "route msg/s, window 1", True, ">= 2.3x node-ws"),
    ("route-w16", "msgs_per_s", "route msg/s, window 16", True, ">= 2.9x node-ws"),
    ("route-w64", "msgs_per_s", "route msg/s, window 64", True, ">= 2.6x node-ws"),
    ("route-w16", "server_cpu_us_per_msg", "server CPU per routed message (window 16)", False, "<= node-ws / 2.6"),
    ("route-paced", "latency_p99_us", "paced 20k msg/s, p99 latency", False, "<= node-ws / 4"),
    ("presence", "fanout_frames_per_s", "presence fan-out frames/s", True, ">= 8x node-ws"),
    ("connect", "conns_per_s", "connect rate", True, ">= 4x node-ws"),
    ("connect", "server_cpu_us_per_conn", "server CPU per accepted connection (no goal; bench-independent)", False, "-"),
    ("connect", "server_kib_per_conn", "server RSS per idle connection (KiB)", False, "<= 0.40 KiB"),
]


def load(server, row):
    path = os.path.join(out, f"{server}.{row}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


data = {s: {r: load(s, r) for r in ROWS} for s in servers}


def value(server, row, metric):
    entry = data[server][row]
    return None if entry is None else entry.get(metric)


lines = ["# Benchmarks", ""]
lines += [
    "Every number below was produced by `make bench` (scripts/bench.sh) in one run on the project's",
    "shared 2-core machine: a fresh server per row pinned to CPU 0 (`taskset -c 0`), the bench",
    "(`tether-bench`, the project's own load scripts) pinned to CPU 1. Absolute figures drift with the",
    "machine's neighbours; the ratios between servers measured in the same run are what to read.",
    "",
    f"Run: {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')}, `nproc` = {os.cpu_count()}, servers: {', '.join(servers)}.",
    "",
    "Rows (the standard suite):",
    "",
    "| row | command (plus `--port P --server-pid PID --src-ips 4 --json F`) | server presence |",
    "| --- | --- | --- |",
    "| connect | `tether-bench connect --conns 19000 --hold 2` | off |",
    "| route-w1/16/64 | `tether-bench route --pairs 50 --window W --seconds 10` | off |",
    "| route-paced | `tether-bench route --pairs 1000 --rate 20 --seconds 10` (20,000 msg/s) | off |",
    "| presence | `tether-bench presence --conns 2000 --devices 50 --cycles 3` | all |",
    "| churn | `tether-bench churn --conns 5000 --fraction 0.02 --pairs 100 --rate 20 --seconds 10` | off |",
    "| cluster-route-w1/w64/paced | the route rows with phones on node A and boxes on node B (`--port-b`), one redis-server between them | off |",
    "| keep-w16 | `tether-bench keep --pairs 50 --window 16 --recipients 2000 --seconds 10` (kept messages; docs/benchmarks-kept.md) | off |",
    "| drain | `tether-bench drain --recipients 10000 --per-recipient 10 --senders 50 --window 32` | off |",
    "",
    "Servers: `tether` (this build, `--limit-exempt 127.0.0.0/8`); `tether-before` (with `BASELINE=REV`: the",
    "same suite against an earlier revision, row by row beside this one); `uws` (uWebSockets, the one to",
    "beat), `node-ws`, `hummingbird` (../shared/anchors); `tether-hs256` / `tether-es256` (token mode,",
    "every device presenting an HS256 or ES256 token, `--token-key`; connect and route-w64 rows only);",
    "`tether-consoles` (route-w64 only: `--api-key-file`, with three operator consoles signed in and",
    "streaming `/api/console/live` through curl on the bench's CPU).",
    "`tether-memstore` (`--offline-store memory`; the kept-message rows only, which both run with",
    "`--offline-max-total-bytes 1073741824`).",
    "Each row runs every server in turn before the next row, so the machine's drift falls on all alike.",
    "",
]

for row in ROWS:
    keys = []
    for s in servers:
        entry = data[s][row]
        if entry:
            keys += [k for k in entry if k not in keys and k not in ("scenario", "warnings")]
    if not keys:
        continue
    lines += [f"## {row}", "", "| metric | " + " | ".join(servers) + " |", "| --- |" + " --- |" * len(servers)]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(str(value(s, row, k)) if value(s, row, k) is not None else "-" for s in servers) + " |")
    warnings = [f"{s}: {w}" for s in servers for w in ((data[s][row] or {}).get("warnings") or [])]
    lines += [""] + [f"- warning, {w}" for w in warnings] + ([""] if warnings else [])

lines += ["## Tether against the goals", "",
          "| goal | target | tether | node-ws | ratio | met |", "| --- | --- | --- | --- | --- | --- |"]
for row, metric, label, higher, target in GOALS:
    t = value("tether", row, metric)
    n = value("node-ws", row, metric) if "node-ws" in servers else None
    ratio = "-"
    met = "-"
    if t is not None and n not in (None, 0):
        r = (t / n) if higher else (n / t if t else float("inf"))
        ratio = f"{r:.2f}x"
        need = None
        if "node-ws" in target:
            need = float(target.split()[1].rstrip("x")) if target.startswith(">=") else float(target.split()[-1])
        if need is not None:
            met = "yes" if r >= need else "no"
    if target.startswith("<= 0.40") and t is not None:
        met = "yes" if t <= 0.40 else "no"
    lines.append(f"| {label} | {target} | {t if t is not None else '-'} | {n if n is not None else '-'} | {ratio} | {met} |")
lines += ["", "Ratios are Tether's advantage (higher is better for Tether in every line).", ""]

# Cluster rows: tether only, beside the single process's rows of the same run.
CLUSTER_ROWS = [("cluster-route-w1", "route-w1"), ("cluster-route-w64", "route-w64"), ("cluster-route-paced", "route-paced")]
cluster = {row: load("tether", row) for row, _ in CLUSTER_ROWS}
if any(cluster.values()):
    def single(row, metric):
        return value("tether", row, metric) if "tether" in servers else None

    def show(v):
        return "-" if v is None else str(v)

    lines += ["## Cluster", "",
              "Two Tether nodes and one redis-server (`--cluster`), every message crossing nodes: the phones connect to",
              "node A, the boxes to node B (`--port-b`). Both nodes and Redis share CPU 0, the one core the single",
              "process gets in its rows, so the cluster's figures are for the same CPU; CPU is per delivered message.", "",
              "| row | msg/s | single node | cluster / single | p99 (us) | single p99 (us) | lost / dup / reordered / error replies | CPU us/msg node A | node B | redis | all three | single node |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row, alone in CLUSTER_ROWS:
        c = cluster[row]
        if not c:
            continue
        rate, rate1 = c.get("msgs_per_s"), single(alone, "msgs_per_s")
        cpus = [c.get("server_cpu_us_per_msg"), c.get("node_b_cpu_us_per_msg"), c.get("redis_cpu_us_per_msg")]
        total = round(sum(cpus), 3) if None not in cpus else None
        faults = " / ".join(show(c.get(k)) for k in ("lost", "duplicated", "reordered", "error_replies"))
        share = f"{rate / rate1:.2f}x" if rate and rate1 else "-"
        lines.append(f"| {row} | {show(rate)} | {show(rate1)} | {share} | {show(c.get('latency_p99_us'))} | "
                     f"{show(single(alone, 'latency_p99_us'))} | {faults} | " + " | ".join(show(v) for v in cpus) +
                     f" | {show(total)} | {show(single(alone, 'server_cpu_us_per_msg'))} |")
    w64, w64_single = (cluster["cluster-route-w64"] or {}).get("msgs_per_s"), single("route-w64", "msgs_per_s")
    p99 = (cluster["cluster-route-paced"] or {}).get("latency_p99_us")
    lines += ["", "| goal | target | measured | met |", "| --- | --- | --- | --- |",
              f"| cross-node msg/s, window 64 | >= 1/4 of the single node's | "
              f"{f'{w64 / w64_single:.2f}x' if w64 and w64_single else '-'} | "
              f"{('yes' if w64 / w64_single >= 0.25 else 'no') if w64 and w64_single else '-'} |",
              f"| cross-node paced 20k msg/s, p99 latency | < 3 ms | {show(p99)} us | "
              f"{('yes' if p99 < 3000 else 'no') if p99 is not None else '-'} |", ""]
    warnings = [w for c in cluster.values() if c for w in (c.get("warnings") or [])]
    lines += [f"- warning: {w}" for w in warnings] + ([""] if warnings else [])


def ratio(a, b, higher):
    if a is None or b in (None, 0) or a == 0:
        return "-"
    return f"{(a / b) if higher else (b / a):.2f}x"


UWS_GOALS = [
    ("route-w1", "server_cpu_us_per_msg", "route w1: server CPU per message (us)", False, "<= uws"),
    ("route-w1", "latency_p99_us", "route w1: p99 latency (us)", False, "<= uws"),
    ("route-paced", "server_cpu_us_per_msg", "paced 20k msg/s: server CPU per message (us)", False, "<= uws"),
    ("route-paced", "latency_p99_us", "paced 20k msg/s: p99 latency (us)", False, "<= uws"),
    ("connect", "server_kib_per_conn", "memory per idle connection (KiB)", False, "<= uws"),
    ("connect", "server_cpu_us_per_conn", "server CPU per accepted connection (us)", False, "<= uws"),
    ("route-w16", "msgs_per_s", "route w16 msg/s", True, ">= 2x uws"),
    ("route-w64", "msgs_per_s", "route w64 msg/s", True, ">= 2x uws"),
    ("presence", "fanout_frames_per_s", "presence fan-out frames/s", True, ">= 2x uws"),
]
if "uws" in servers:
    lines += ["## Tether against uWebSockets", "",
              "| goal | target | tether | uws | Tether's advantage | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row, metric, label, higher, target in UWS_GOALS:
        t, u = value("tether", row, metric), value("uws", row, metric)
        r = ratio(t, u, higher)
        need = 2.0 if target.startswith(">= 2x") else 1.0
        met = "-" if r == "-" else ("yes" if float(r[:-1]) >= need else "no")
        lines.append(f"| {label} | {target} | {t if t is not None else '-'} | {u if u is not None else '-'} | {r} | {met} |")
    lines += [""]

if "tether-before" in servers:
    lines += ["## This build against `tether-before`", "",
              "Tether's advantage over the baseline revision in the same run (below 0.95x would be a regression beyond noise).", "",
              "| row | metric | tether | tether-before | advantage |", "| --- | --- | --- | --- | --- |"]
    for row, metric, higher in [("connect", "conns_per_s", True), ("connect", "server_cpu_us_per_conn", False),
                                ("connect", "server_kib_per_conn", False), ("route-w1", "msgs_per_s", True),
                                ("route-w1", "server_cpu_us_per_msg", False), ("route-w16", "msgs_per_s", True),
                                ("route-w64", "msgs_per_s", True), ("route-paced", "latency_p99_us", False),
                                ("route-paced", "server_cpu_us_per_msg", False), ("presence", "fanout_frames_per_s", True),
                                ("churn", "route_latency_p99_us", False)]:
        t, b = value("tether", row, metric), value("tether-before", row, metric)
        lines.append(f"| {row} | {metric} | {t if t is not None else '-'} | {b if b is not None else '-'} | {ratio(t, b, higher)} |")
    lines += [""]

token_servers = [s for s in servers if s in ("tether-hs256", "tether-es256")]
if token_servers:
    lines += ["## Token mode beside open mode", "",
              "| row | metric | open | " + " | ".join(token_servers) + " | token / open |", "| --- | --- | --- |" + " --- |" * (len(token_servers) + 1)]
    for row, metric, higher in [("connect", "conns_per_s", True), ("connect", "server_cpu_us_per_conn", False),
                                ("route-w64", "msgs_per_s", True), ("route-w64", "server_cpu_us_per_msg", False)]:
        o = value("tether", row, metric)
        vals = [value(s, row, metric) for s in token_servers]
        rel = ", ".join(f"{s}: {ratio(v, o, higher)}" for s, v in zip(token_servers, vals))
        lines.append(f"| {row} | {metric} | {o if o is not None else '-'} | " + " | ".join(str(v) if v is not None else "-" for v in vals) + f" | {rel} |")
    lines += ["", "The token / open column is token mode's figure relative to open mode's (1.00x: no cost).", ""]

if "tether-consoles" in servers:
    lines += ["## Operator consoles beside none", "",
              "route-w64 with three consoles watching the live stream, beside the plain row (the goal: within 2 %).", "",
              "| metric | tether | tether-consoles | consoles / none |", "| --- | --- | --- | --- |"]
    for metric, higher in [("msgs_per_s", True), ("server_cpu_us_per_msg", False), ("latency_p99_us", False)]:
        t, c = value("tether", "route-w64", metric), value("tether-consoles", "route-w64", metric)
        lines.append(f"| {metric} | {t if t is not None else '-'} | {c if c is not None else '-'} | {ratio(c, t, higher)} |")
    lines += ["", "1.00x: no cost; below 1 the consoles cost that much (run to run noise is several %: see benchmarks-notes.md).", ""]
import bench_report_tls  # noqa: E402 (scripts/ is on the path: this file runs as a script)
lines += bench_report_tls.section(out)

# The soak runs apart (make soak, not in this suite) and keeps its own report.
lines += ["## Soak", "",
          "`make soak` (scripts/soak.sh, not part of CI): 15,000 devices in watchers mode, 2 % of them reconnecting",
          "each second for 60 s while 1,000 pairs route at 20 msg/s, once alone and once beside 50 hostile clients",
          "(non-readers, pipelined PNGs, connect/close loops): `tether-bench soak --devices 15000 --fraction 0.02",
          "--pairs 1000 --rate 20 --seconds 60 --hostile 50 --hostile-src 127.0.0.200 --src-ips 4`. Goals, results and",
          "the two p99 latencies side by side: [benchmarks-soak.md](benchmarks-soak.md).", "",
          "The cluster scale run (`make scale`: 60,000 devices over 4 nodes and one Redis, a node killed mid-run): [benchmarks-scale.md](benchmarks-scale.md).", ""]

notes_path = os.path.join("docs", "benchmarks-notes.md")
if os.path.exists(notes_path):
    with open(notes_path) as f:
        lines += [f.read().rstrip(), ""]

micro = os.path.join(out, "microbench.md")
if os.path.exists(micro):
    with open(micro) as f:
        lines += ["## Hot-path micro-benchmarks", "", "Command: `make microbench` (release; plain timed loops, best of 7 rounds).", "",
                  f.read().rstrip(), ""]

lines += ["![msg/s and p99 latency per server](images/bench.svg)", ""]
with open(report_path, "w") as f:
    f.write("\n".join(lines))

# Chart: route msg/s (bars) and route p99 latency (bars), per server, per window.
colors = {"tether": "#2b7bb9", "node-ws": "#d9822b", "hummingbird": "#5c9e31", "uws": "#9b59b6", "tether-before": "#8fb8d8"}
servers = [s for s in servers if s not in ("tether-hs256", "tether-es256", "tether-consoles", "tether-memstore")]   # the chart compares servers
routes = ["route-w1", "route-w16", "route-w64", "route-paced"]
width, height, pad = 760, 300, 50
panel = (width - 3 * pad) / 2


def panel_svg(x0, metric, title):
    vals = [(r, s, value(s, r, metric) or 0) for r in routes for s in servers]
    top = max([v for _, _, v in vals] + [1])
    out = [f'<text x="{x0 + panel / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    group = panel / len(routes)
    bar = group / (len(servers) + 1)
    for gi, r in enumerate(routes):
        for si, s in enumerate(servers):
            v = value(s, r, metric) or 0
            h = (height - 2 * pad) * v / top
            x = x0 + gi * group + si * bar
            y = height - pad - h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar * 0.9:.1f}" height="{h:.1f}" fill="{colors.get(s, "#888")}"/>')
        out.append(f'<text x="{x0 + gi * group + group / 2 - bar / 2:.1f}" y="{height - pad + 15}" text-anchor="middle" font-size="10">{r.replace("route-", "")}</text>')
    out.append(f'<line x1="{x0}" y1="{height - pad}" x2="{x0 + panel}" y2="{height - pad}" stroke="#333"/>')
    out.append(f'<text x="{x0}" y="{pad - 8}" font-size="10">max {top:,.0f}</text>')
    return out


svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
       f'<rect width="{width}" height="{height}" fill="white"/>']
svg += panel_svg(pad, "msgs_per_s", "routed msg/s (higher is better)")
svg += panel_svg(2 * pad + panel, "latency_p99_us", "p99 latency, µs (lower is better)")
for i, s in enumerate(servers):
    svg.append(f'<rect x="{pad + i * 120}" y="{height - 18}" width="10" height="10" fill="{colors.get(s, "#888")}"/>')
    svg.append(f'<text x="{pad + i * 120 + 14}" y="{height - 9}" font-size="11">{s}</text>')
svg.append("</svg>")
os.makedirs(os.path.dirname(chart_path), exist_ok=True)
with open(chart_path, "w") as f:
    f.write("\n".join(svg) + "\n")
