"""Turns the kept-message rows of scripts/bench.sh (ROWS=kept, or the full suite) into docs/benchmarks-kept.md."""
import datetime
import json
import os
import sys

out, report_path = sys.argv[1:3]
STORES = [("tether", "SQLite (default)"), ("tether-memstore", "memory")]


def load(server, row):
    path = os.path.join(out, f"{server}.{row}.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def cell(value):
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


route = load("tether", "route-w16")
keep = {s: load(s, "keep-w16") for s, _ in STORES}
drain = {s: load(s, "drain") for s, _ in STORES}

lines = ["# Benchmarks: kept messages (#18)", "",
         "Produced by `ROWS=kept scripts/bench.sh` (or the full `make bench`) on the project's shared 2-core machine:",
         "a fresh server per row pinned to CPU 0, `tether-bench` pinned to CPU 1, loopback. The machine is shared with",
         "other work, so absolute figures drift; rows measured in one run are what to compare.", "",
         f"Run: {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')}, `nproc` = {os.cpu_count()}.", "",
         "| row | command (plus `--port P --server-pid PID --src-ips 4 --json F`) | server |", "| --- | --- | --- |",
         "| route-w16 | `tether-bench route --pairs 50 --window 16 --seconds 10` (plain online routing) | `tether --presence off` |",
         "| keep-w16 | `tether-bench keep --pairs 50 --window 16 --recipients 2000 --seconds 10`: 50 phones send messages with `\"ttl\":300` to 100,000 devices that stay offline (100 each at most: the bound is out of reach at these rates), 16 awaiting their status 8 each | `--offline-max-total-bytes 1073741824`, store as named |",
         "| drain | `tether-bench drain --recipients 10000 --per-recipient 10 --senders 50 --window 32`: 100,000 messages kept, then the 10,000 devices connect at once | the same |",
         "", "## Rate at window 16", "",
         "| | msg/s | of online routing | p50 µs | p99 µs | server CPU µs/msg | kept | refused |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
base = route.get("msgs_per_s")
lines.append(f"| online routing (route-w16) | {cell(base)} | 1.00 | {cell(route.get('latency_p50_us'))} | {cell(route.get('latency_p99_us'))} | "
             f"{cell(route.get('server_cpu_us_per_msg'))} | - | - |")
for server, name in STORES:
    row = keep[server]
    rate = row.get("msgs_per_s")
    share = f"{rate / base:.2f}" if rate and base else "-"
    lines.append(f"| kept, {name} store | {cell(rate)} | {share} | {cell(row.get('latency_p50_us'))} | {cell(row.get('latency_p99_us'))} | "
                 f"{cell(row.get('server_cpu_us_per_msg'))} | {cell(row.get('kept'))} | {cell(row.get('refused'))} |")
rate = keep["tether"].get("msgs_per_s")
met = "-" if not rate or not base else ("yes" if rate * 3 >= base else "no")
lines += ["", f"Goal: the SQLite store keeps at least a third of online routing's msg/s at window 16: **{met}**.",
          "A kept message's latency is the time to its status 8, which leaves only after the tick's commit (for SQLite: one",
          "transaction and one sync of the write-ahead log per loop tick).", "",
          "## 10,000 devices holding 10 kept messages each reconnect at once", "",
          "| | SQLite | memory |", "| --- | --- | --- |"]
for key, label in [("kept", "messages kept"), ("fill_kept_per_s", "kept msg/s while filling (window 32 per sender)"),
                   ("connected", "devices connected"), ("connect_spread_s", "first to last connect, s"),
                   ("drain_s", "first connect to last message delivered, s"),
                   ("connect_to_last_p50_us", "connect to its last kept message, p50 µs"),
                   ("connect_to_last_p99_us", "connect to its last kept message, p99 µs"),
                   ("connect_to_last_max_us", "connect to its last kept message, max µs"),
                   ("delivered", "delivered"), ("lost", "lost"), ("duplicated", "duplicated"), ("reordered", "out of order"),
                   ("server_cpu_us_per_delivered", "server CPU µs per delivered message (drain)")]:
    lines.append(f"| {label} | {cell(drain['tether'].get(key))} | {cell(drain['tether-memstore'].get(key))} |")
lines += ["", "## Memory per kept message", "",
          "Server RSS before and after the 100,000 messages of the drain row were kept, divided by their count.", "",
          "| | SQLite | memory |", "| --- | --- | --- |"]
for key, label in [("payload_bytes", "payload bytes (the message as sent)"), ("server_bytes_per_kept", "server RSS growth per message, bytes"),
                   ("server_overhead_bytes_per_kept", "beyond the payload, bytes"), ("server_anon_bytes_per_kept", "anonymous memory growth per message, bytes")]:
    lines.append(f"| {label} | {cell(drain['tether'].get(key))} | {cell(drain['tether-memstore'].get(key))} |")
warnings = [f"{server} {row}: {w}" for server, _ in STORES for row, data in (("keep-w16", keep[server]), ("drain", drain[server]))
            for w in data.get("warnings", [])] + [f"tether route-w16: {w}" for w in route.get("warnings", [])]
if warnings:
    lines += [""] + [f"- warning, {w}" for w in warnings]
notes = os.path.join("docs", "benchmarks-kept-notes.md")
if os.path.exists(notes):
    with open(notes) as f:
        lines += ["", f.read().rstrip()]
lines.append("")
with open(report_path, "w") as f:
    f.write("\n".join(lines))
