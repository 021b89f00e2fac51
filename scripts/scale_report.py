"""Writes docs/benchmarks-scale.md from a scripts/scale.sh run: scale_report.py OUT REPORT COMMAND."""
import datetime
import json
import os
import sys

out, report, command = sys.argv[1:]


def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return {}
    try:
        return json.loads(open(path).read(), strict=False)
    except ValueError:
        return {"error": f"{name} is not JSON"}


facts = {}
for line in open(os.path.join(out, "facts")):
    key, _, value = line.rstrip("\n").partition(" ")
    facts[key] = value


def num(key):
    try:
        return float(facts[key])
    except (KeyError, ValueError):
        return None


def cmdstats(name):
    calls = {}
    path = os.path.join(out, f"cmdstats-{name}.txt")
    if os.path.exists(path):
        for line in open(path):
            if line.startswith("cmdstat_"):
                command_name, _, rest = line.strip().partition(":")
                fields = dict(item.split("=") for item in rest.split(","))
                calls[command_name.removeprefix("cmdstat_")] = int(fields["calls"])
    return calls


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float) and digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)


route, watch = load("route.json"), load("watch.json")
connects = {n: load(f"connect-{n}.json") for n in "abcd"}
devices = int(facts["devices_per_node"])
pairs = int(facts["pairs"])
watchers = int(facts["watchers"])
total_devices = 4 * devices + 2 * pairs + watchers
kill_time = num("kill_time")

lines = [
    "# Scale run: a cluster of four nodes", "",
    "`make scale` (scripts/scale.sh, not part of CI). One redis-server (nothing saved) and four Tether",
    "nodes (A-D) on one 2-core machine, each `tether --cluster redis://... --presence watchers",
    f"--cluster-lease-seconds {facts['lease']} --limit-exempt 127.0.0.0/8 --state-dir DIR` on its own port;",
    ("Redis and the nodes pinned to CPU 0, every bench process to CPU 1 (as make bench's cluster rows)."
     if facts.get("pinned") == "1" else "nothing pinned: Redis, the nodes and the bench processes share both cores."),
    "",
    f"Run: {facts.get('run_utc') or datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, `nproc` = {facts['nproc']},"
    f" Redis {facts['redis_version']}, source: {facts['source']}.", "",
    f"Command: `{command}`", "",
    "What runs, in order:", "",
    f"1. {devices:,} idle devices per node (`tether-bench connect --conns {devices} --hold ... --id-prefix nX-"
    f" --src-ips {facts['src_ips']}`, one bench process per node, sockets spread over 127.0.0.1-{facts['src_ips']}),"
    f" {4 * devices:,} in all; memory read once all are registered.",
    f"2. {facts['idle_seconds']} s with no traffic: Redis commands per second of the idle cluster (leases, sweeps, inbox reads).",
    f"3. {watchers} watchers (`tether-bench watch`, spread over A, B and D) ask about {int(facts['gone']):,} of node C's devices"
    f" (each watched from each of A, B and D) and {int(facts['steady']):,} devices of each of A, B and D (which must hear nothing).",
    f"4. {pairs:,} pairs route for {facts['route_seconds']} s at {facts['rate']} msg/s each, phones on A, boxes on B"
    f" (`tether-bench route --pairs {pairs} --rate {facts['rate']} --port A --port-b B`); Redis commands are counted"
    f" from {facts['ops_from']} to {int(facts['ops_from']) + int(facts['ops_seconds'])} s into it.",
    f"5. {facts['kill_at']} s into the routing, node C is killed with `kill -9`; the run waits for the route to end"
    " and for every watcher to have its offlines (then 5 s more for duplicates).", "",
    f"Devices in all: {total_devices:,} ({4 * devices:,} idle, {2 * pairs:,} routing, {watchers} watchers).", "",
]

# Goals.
alive = all(facts.get(f"alive_{n}") == "yes" for n in "abd")
route_ok = all(route.get(k) == 0 for k in ("lost", "duplicated", "reordered")) and "error" not in route
watch_ok = watch.get("goals_met") == "yes"
lines += [
    "## Goals", "",
    "| goal | result | met |", "| --- | --- | --- |",
    f"| no routed message lost, duplicated or reordered (every pair stayed connected: A and B survive) |"
    f" lost {route.get('lost', '-')}, duplicated {route.get('duplicated', '-')}, reordered {route.get('reordered', '-')}"
    f" of {fmt(route.get('sent'))} | {'yes' if route_ok else 'no'} |",
    f"| every watcher gets exactly one offline per watched device of node C | {fmt(watch.get('offline_received_once'))}"
    f" of {fmt(watch.get('offline_expected'))} once, {watch.get('offline_missing', '-')} missing,"
    f" {watch.get('offline_duplicated', '-')} duplicated | {'yes' if watch.get('offline_missing') == 0 and watch.get('offline_duplicated') == 0 else 'no'} |",
    f"| no offline for devices elsewhere | {watch.get('offline_for_steady', '-')} for watched devices of A, B, D;"
    f" {watch.get('offline_strays', '-')} strays | {'yes' if watch.get('offline_for_steady') == 0 and watch.get('offline_strays') == 0 else 'no'} |",
    f"| surviving nodes alive at the end | A {facts.get('alive_a')}, B {facts.get('alive_b')}, D {facts.get('alive_d')} | {'yes' if alive else 'no'} |",
    "",
]

# Routing.
lines += ["## Routing across nodes (A to B)", "", "| metric | value |", "| --- | --- |"]
for label, key in [("msg/s delivered", "msgs_per_s"), ("sent", "sent"), ("lost", "lost"), ("duplicated", "duplicated"),
                   ("reordered", "reordered"), ("error replies", "error_replies"), ("latency p50 (µs)", "latency_p50_us"),
                   ("latency p90 (µs)", "latency_p90_us"), ("latency p99 (µs)", "latency_p99_us"),
                   ("latency p99.9 (µs)", "latency_p999_us"), ("latency max (µs)", "latency_max_us"),
                   ("node A CPU (cores)", "server_cpu"), ("node A CPU per message (µs)", "server_cpu_us_per_msg"),
                   ("node B CPU (cores)", "node_b_cpu"), ("node B CPU per message (µs)", "node_b_cpu_us_per_msg"),
                   ("Redis CPU (cores)", "redis_cpu"), ("Redis CPU per message (µs)", "redis_cpu_us_per_msg"),
                   ("route bench CPU (cores)", "bench_cpu")]:
    lines.append(f"| {label} | {fmt(route.get(key))} |")
if "error" in route:
    lines.append(f"| error | {route['error']} |")
lines.append("")

# The kill.
lines += ["## Node C killed: offlines at the watchers", "", "| metric | value |", "| --- | --- |"]
for label, key in [("watchers", "watchers"), ("watched devices of C answered online", "answered_online"),
                   ("watched devices answered not online", "answered_not_online"),
                   ("offlines expected (C's watched devices x 3 nodes)", "offline_expected"),
                   ("offlines received, each once", "offline_received_once"), ("missing", "offline_missing"),
                   ("duplicated", "offline_duplicated"), ("offlines for devices on A, B, D", "offline_for_steady"),
                   ("offlines for devices a watcher did not watch", "offline_strays"),
                   ("online events for watched devices", "online_events"), ("watchers dropped", "watchers_dropped")]:
    lines.append(f"| {label} | {fmt(watch.get(key))} |")
for key, value in watch.items():
    if key.startswith("offline_missing_port_"):
        lines.append(f"| missing at the node on port {key.rsplit('_', 1)[1]} | {value} |")
if kill_time and watch.get("first_offline_unix"):
    lines.append(f"| first offline after the kill (s) | {watch['first_offline_unix'] - kill_time:.2f} |")
    lines.append(f"| last offline after the kill (s) | {watch['last_offline_unix'] - kill_time:.2f} |")
samples = []
if os.path.exists(os.path.join(out, "samples")):
    for line in open(os.path.join(out, "samples")):
        parts = line.split()
        if len(parts) >= 4:
            samples.append(parts)
reaped = next((float(p[0]) for p in samples if kill_time and float(p[0]) > kill_time and p[3] == "3"), None)
if reaped:
    lines.append(f"| node C gone from `tether:nodes` after the kill (s, 1 s samples) | {reaped - kill_time:.1f} |")
lines.append(f"| device keys in Redis at the end (expected: the survivors' {int(facts['expected_device_keys_after']):,}) |"
             f" {fmt(int(facts['redis_device_keys_after']))} |")
lines.append(f"| nodes in `tether:nodes` at the end | {facts.get('redis_nodes_after')} |")
if "error" in watch:
    lines.append(f"| error | {watch['error']} |")
lines.append("")

# Memory.
lines += [
    "## Memory per device", "",
    f"Read with {devices:,} idle devices on each node, before any routing or watching (`VmRSS` and `RssAnon` from",
    "/proc, `tether_devices` from /metrics); \"growth\" is the change from the same node just started, with none.", "",
    "| node | devices | RSS idle (KiB) | RSS loaded (KiB) | RSS / device (KiB) | RSS growth / device (KiB) | anon growth / device (KiB) | RSS while routing (KiB) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
]
for n in "abcd":
    d = num(f"devices_{n}_loaded")
    rss0, rss1 = num(f"rss_kib_{n}_idle"), num(f"rss_kib_{n}_loaded")
    an0, an1 = num(f"anon_kib_{n}_idle"), num(f"anon_kib_{n}_loaded")
    per = rss1 / d if d and rss1 else None
    growth = (rss1 - rss0) / d if d and rss0 and rss1 else None
    anon = (an1 - an0) / d if d and an0 and an1 else None
    lines.append(f"| {n.upper()} | {fmt(int(d)) if d else '-'} | {fmt(int(rss0)) if rss0 else '-'} | {fmt(int(rss1)) if rss1 else '-'} |"
                 f" {fmt(per, 3)} | {fmt(growth, 3)} | {fmt(anon, 3)} | {fmt(int(num(f'rss_kib_{n}_routing'))) if num(f'rss_kib_{n}_routing') else '-'} |")
m0, m1 = num("redis_used_memory_idle"), num("redis_used_memory_loaded")
k0, k1 = num("redis_keys_idle"), num("redis_keys_loaded")
lines += [
    "",
    "Redis (`INFO memory`):", "",
    "| moment | used_memory (bytes) | used_memory_rss (bytes) | keys |", "| --- | --- | --- | --- |",
]
for label, key in [("nodes started, no devices", "idle"), (f"{4 * devices:,} idle devices", "loaded"),
                   ("while routing (plus routing devices and watchers)", "routing"), ("after node C was reaped", "after")]:
    lines.append(f"| {label} | {fmt(int(num(f'redis_used_memory_{key}') or 0))} | {fmt(int(num(f'redis_rss_{key}') or 0))} |"
                 f" {fmt(int(num(f'redis_keys_{key}') or 0))} |")
if m0 and m1:
    lines += ["", f"Redis `used_memory` per registered device: **{(m1 - m0) / (4 * devices):.0f} bytes**"
              f" ({(m1 - m0) / (4 * devices) / 1024:.3f} KiB; the growth from no devices to {4 * devices:,}; keys per device"
              f" {((k1 or 0) - (k0 or 0)) / (4 * devices):.2f}: the `tether:dev:` hash and a member of the node's `tether:devs:` set)."]
lines.append("")

# Redis commands.
def delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) - a.get(k, 0) > 0}


idle_cmds = (num("cmds_idle1") or 0) - (num("cmds_idle0") or 0)
idle_secs = (num("time_idle1") or 0) - (num("time_idle0") or 0)
route_cmds = (num("cmds_route1") or 0) - (num("cmds_route0") or 0)
route_secs = (num("time_route1") or 0) - (num("time_route0") or 0)
routed = (num("routed_out_a_route1") or 0) - (num("routed_out_a_route0") or 0)
routed_in = (num("routed_in_b_route1") or 0) - (num("routed_in_b_route0") or 0)
idle_rate = idle_cmds / idle_secs if idle_secs else 0
idle_by = delta(cmdstats("idle0"), cmdstats("idle1"))
route_by = delta(cmdstats("route0"), cmdstats("route1"))
lines += [
    "## Redis commands per routed message", "",
    "`INFO stats` `total_commands_processed` (it counts the commands a script runs as well as the script call",
    "itself) and `INFO commandstats`, read at the start and end of each window; messages routed in the window",
    "from node A's `tether_cluster_routed_out_total` (handed to B's inbox), B's `tether_cluster_routed_in_total` beside it.", "",
    "| window | seconds | Redis commands | per second | messages routed (A out / B in) | commands per message |",
    "| --- | --- | --- | --- | --- | --- |",
    f"| idle: {4 * devices:,} devices, no traffic | {idle_secs:.1f} | {fmt(int(idle_cmds))} | {idle_rate:,.1f} | 0 | - |",
    f"| routing: {pairs:,} pairs at {facts['rate']} msg/s, watchers idle | {route_secs:.1f} | {fmt(int(route_cmds))} |"
    f" {route_cmds / route_secs if route_secs else 0:,.1f} | {fmt(int(routed))} / {fmt(int(routed_in))} |"
    f" {route_cmds / routed if routed else 0:.4f} |",
    "",
]
def cpu(name, a, b):
    x, y = num(f"{name}_{a}"), num(f"{name}_{b}")
    return y - x if x is not None and y is not None else None


if routed:
    parts = [f"{label} {value * 1e6 / routed:.1f} µs ({value / route_secs:.2f} of a core)"
             for label, value in [("Redis", cpu("redis_cpu", "route0", "route1")), ("node A", cpu("node_cpu_a", "route0", "route1")),
                                  ("node B", cpu("node_cpu_b", "route0", "route1"))] if value is not None]
    lines += ["CPU per routed message in the same window: " + ", ".join(parts) + ".", ""]
    net = route_cmds - idle_rate * route_secs
    lines += [f"Without the idle cluster's own commands (its rate times the window): {net / routed:.4f} commands per message.", ""]
    lines += ["Per command (calls in the window; per message for the routing window). In both windows `info` and `scard`",
              "are this script's own sampler and snapshots; the idle cluster's own commands are, per node, a lease",
              "renewal (`SET`) and `SADD` to `tether:nodes`, a sweep (`SMEMBERS`, then per other node one call of the reap",
              "script, `EVALSHA`, which finds the lease alive with `EXISTS`) every fifth of the lease, and the inbox reader's",
              "`XREAD BLOCK 1000` returning empty once a second. While routing: per tick of node A one `EVALSHA` of the route",
              "script (one `HGET` per message for the holder, one `XLEN` and one `XADD` per holder), and per read of node B",
              "one `XREAD` and one `XTRIM`.", "",
              "| command | idle calls | routing calls | routing calls per message |", "| --- | --- | --- | --- |"]
    for name in sorted(set(idle_by) | set(route_by), key=lambda k: -route_by.get(k, 0)):
        lines.append(f"| {name} | {idle_by.get(name, 0):,} | {route_by.get(name, 0):,} | {route_by.get(name, 0) / routed:.4f} |")
    lines.append("")

# Connecting.
lines += ["## Connecting the idle devices", "",
          f"All {4 * devices:,} registered in {num('connect_seconds') or 0:.1f} s (four bench processes at once, 256"
          " handshakes in flight each; every connect is a claim script in Redis). Redis commands meanwhile:"
          f" {fmt(int((num('cmds_connect1') or 0) - (num('cmds_connect0') or 0)))}, about"
          f" {((num('cmds_connect1') or 0) - (num('cmds_connect0') or 0)) / (4 * devices + 4 * min(500, devices // 10)):.1f}"
          " per connect (counting the 500 warm-up devices each bench process connects and closes first; a close is"
          " a release script, so this is an upper bound)."
          + (f" Redis CPU meanwhile: {cpu('redis_cpu', 'connect0', 'connect1') * 1e6 / (4 * devices):.1f} µs per registered device"
             " (the same upper bound)." if cpu('redis_cpu', 'connect0', 'connect1') is not None else ""), "",
          "| node | opened | failed | conns/s | handshake p99 (µs) |", "| --- | --- | --- | --- | --- |"]
for n in "abcd":
    c = connects[n]
    lines.append(f"| {n.upper()} | {fmt(c.get('opened'))} | {fmt(c.get('failed'))} | {fmt(c.get('conns_per_s'))} | {fmt(c.get('handshake_p99_us'))} |")
lines.append("")

notes = []
for name, run in [("route", route), ("watch", watch)] + [(f"connect-{n}", connects[n]) for n in "abcd"]:
    notes += [f"- warning, {name}: {w}" for w in run.get("warnings") or []]
    if "error" in run:
        notes.append(f"- error, {name}: {run['error']}")
for n in "abcd":
    path = os.path.join(out, f"node-{n}.warnings")
    logged = open(path).read().splitlines() if os.path.exists(path) else []
    if logged:
        notes.append(f"- node {n.upper()} logged {len(logged)} warnings or errors besides the two at start, first: `{logged[0]}`")
if notes:
    lines += ["## Notes", ""] + notes + [""]
# Hand-written readings of the run (control runs, causes) live apart, so a new run keeps them.
notes_path = os.path.join("docs", "benchmarks-scale-notes.md")
if os.path.exists(notes_path):
    lines += [open(notes_path).read().rstrip(), ""]
with open(report, "w") as f:
    f.write("\n".join(lines))
