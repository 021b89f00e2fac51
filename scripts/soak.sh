#!/usr/bin/env bash
# `make soak` (not part of CI): the watchers-mode soak once without and once with hostile clients,
# a fresh server each, server pinned to CPU 0 and bench to CPU 1; writes docs/benchmarks-soak.md.
# Loopback only; each run is bounded by a timeout. Smaller trials: SOAK_DEVICES=2000 SOAK_PAIRS=100
# SOAK_SECONDS=10 SOAK_REPORT=.build/soak-trial.md scripts/soak.sh (SOAK_BIN=DIR: binaries built elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SOAK_BIN:-$(swift build -c release --show-bin-path)}"
OUT="${SOAK_OUT:-.build/soak-results}"
REPORT="${SOAK_REPORT:-docs/benchmarks-soak.md}"
DEVICES="${SOAK_DEVICES:-15000}"
PAIRS="${SOAK_PAIRS:-1000}"
SECONDS_MEASURED="${SOAK_SECONDS:-60}"
HOSTILE="${SOAK_HOSTILE:-50}"
SRC_IPS=4                   # well-behaved clients from 127.0.0.1-4, inside the exempt 127.0.0.0/25
HOSTILE_SRC=127.0.0.200     # hostile clients from here: limited like any other address
PORT=9400
rm -rf "$OUT" && mkdir -p "$OUT"

# Per-address limits exempt the well-behaved bench addresses (a server without the flag has no limits).
server_flags=(--host 127.0.0.1 --presence watchers)
help="$("$BIN/tether" --help 2>&1 || true)"   # not piped into grep -q: pipefail would see tether's SIGPIPE
if [[ $help == *--state-dir* ]]; then server_flags+=(--state-dir "$OUT/state"); fi   # not the working directory
if [[ $help == *--limit-exempt* ]]; then
    server_flags+=(--limit-exempt 127.0.0.0/25)
    limits="per-address limits on, 127.0.0.0/25 exempt"
else
    limits="this server has no per-address limits (no --limit-exempt)"
    echo "soak: $limits" >&2
fi

run() {   # hostile-count name
    local hostile=$1 name=$2
    PORT=$((PORT + 1))
    taskset -c 0 "$BIN/tether" "${server_flags[@]}" --port "$PORT" >"$OUT/server.$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "soak: $name (hostile $hostile)" >&2
    timeout $((SECONDS_MEASURED + 240)) taskset -c 1 "$BIN/tether-bench" soak --devices "$DEVICES" --fraction 0.02 \
        --pairs "$PAIRS" --rate 20 --seconds "$SECONDS_MEASURED" --hostile "$hostile" --hostile-src "$HOSTILE_SRC" \
        --port "$PORT" --server-pid "$pid" --src-ips "$SRC_IPS" --json "$OUT/$name.json" | tail -n 1 \
        || echo "soak: $name failed" >&2
    if kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ]; then
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    else
        local status=0
        wait "$pid" 2>/dev/null || status=$?
        echo "soak: the server died during $name (exit status $status; 141 is SIGPIPE)" | tee "$OUT/$name.died" >&2
    fi
}

run 0 calm
run "$HOSTILE" hostile

SOURCE="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then SOURCE="$SOURCE with uncommitted changes"; fi
COMMAND="tether-bench soak --devices $DEVICES --fraction 0.02 --pairs $PAIRS --rate 20 --seconds $SECONDS_MEASURED --hostile H --hostile-src $HOSTILE_SRC --src-ips $SRC_IPS"
python3 - "$OUT" "$REPORT" "$COMMAND" "${server_flags[*]}" "$limits" "${SOAK_SOURCE:-$SOURCE}" "$(nproc)" <<'PY'
import datetime, json, os, sys
out, report, command, flags, limits, source, nproc = sys.argv[1:]
runs = {}
for name in ("calm", "hostile"):
    path = os.path.join(out, f"{name}.json")
    runs[name] = json.loads(open(path).read(), strict=False) if os.path.exists(path) else {}
calm, hostile = runs["calm"], runs["hostile"]
rows = [
    ("hostile clients", "hostile"), ("goals met", "goals_met"),
    ("routed msg/s", "route_msgs_per_s"), ("route p50 latency (µs)", "route_latency_p50_us"),
    ("route p99 latency (µs)", "route_latency_p99_us"), ("route p99.9 latency (µs)", "route_latency_p999_us"),
    ("route max latency (µs)", "route_latency_max_us"), ("routed sent", "route_sent"), ("routed lost", "route_lost"),
    ("routed duplicated", "route_duplicated"), ("routed reordered", "route_reordered"),
    ("route error replies", "route_error_replies"), ("reconnects", "reconnects"),
    ("reconnect failures", "reconnect_failures"), ("reconnects still pending at the end", "reconnects_pending"),
    ("reconnect handshake p99 (µs)", "reconnect_handshake_p99_us"), ("devices dropped by the server", "devices_dropped_by_server"),
    ("watchers dropped", "watchers_dropped"),
    ("presence events owed", "presence_owed"), ("presence delivered", "presence_delivered"),
    ("presence missing", "presence_missing"), ("presence duplicated", "presence_duplicated"),
    ("presence order breaks", "presence_order_breaks"), ("server RSS idle (KiB)", "server_rss_idle_kib"),
    ("server RSS start (KiB)", "server_rss_start_kib"), ("server RSS peak (KiB)", "server_rss_peak_kib"),
    ("server RSS end (KiB)", "server_rss_end_kib"), ("server RSS end / start", "server_rss_end_ratio"),
    ("server alive at the end", "server_alive"), ("server CPU (cores)", "server_cpu"), ("bench CPU (cores)", "bench_cpu"),
]
cell = lambda run, key: str(run.get(key, "-"))
lines = [
    "# Soak", "",
    "`make soak` (scripts/soak.sh; not part of CI): one run without and one with hostile clients, a fresh",
    f"server each (`tether {flags} --port P`, {limits}), pinned to CPU 0, the bench to CPU 1.", "",
    f"Run: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, `nproc` = {nproc}, source: {source}.", "",
    f"Command: `{command} --port P --server-pid PID --json F`, with H = 0, then H = {hostile.get('hostile', '-')}.", "",
    "Goals (well-behaved clients only): no routed message lost or duplicated, every presence event",
    "delivered exactly once and in order to its watcher, server RSS at the end within 10 % of the start",
    "(both read with the same well-behaved devices connected). The p99 has no threshold: compare the columns.", "",
    "| metric | without hostile clients | with hostile clients |", "| --- | --- | --- |",
]
lines += [f"| {label} | {cell(calm, key)} | {cell(hostile, key)} |" for label, key in rows]
extra = [k for k in hostile if k.startswith("hostile_")]
if extra:
    lines += ["", "Hostile clients (their failures are expected; refusals are the server defending itself):", "",
              "| count | value |", "| --- | --- |"] + [f"| {k} | {hostile[k]} |" for k in extra]
notes = [f"- warning, {name}: {w}" for name, run in runs.items() for w in (run.get("warnings") or [])]
notes += [f"- error, {name}: {run['error']}" for name, run in runs.items() if "error" in run]
for name in runs:
    died = os.path.join(out, f"{name}.died")
    if os.path.exists(died):
        notes.append(f"- error, {name}: {open(died).read().strip().removeprefix('soak: ')}")
if notes:
    lines += [""] + notes
with open(report, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
echo "soak: wrote $REPORT" >&2
