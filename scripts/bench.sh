#!/usr/bin/env bash
# `make bench`: the standard suite against Tether and each available reference server, one fresh
# server per row, server pinned to CPU 0 and bench to CPU 1; then docs/benchmarks.md and the chart.
# Loopback only; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)"
ANCHORS="${ANCHORS:-../shared/anchors}"
OUT="${BENCH_OUT:-.build/bench-results}"
SECONDS_PER_ROUTE="${SECONDS_PER_ROUTE:-10}"
CONNECT_CONNS="${CONNECT_CONNS:-19000}"
PORT=9300
rm -rf "$OUT" && mkdir -p "$OUT"

# The Hummingbird anchor is built once (about 4 minutes) in a writable copy under .build-anchors/.
HB=.build-anchors/hummingbird
if [ ! -x "$HB/hb-anchor/.build/release/HBAnchor" ] && [ -d "$ANCHORS/hummingbird" ] && [ "${SKIP_HUMMINGBIRD:-0}" != 1 ]; then
    echo "bench: building the Hummingbird reference server" >&2
    rm -rf "$HB" && mkdir -p .build-anchors && cp -r "$ANCHORS/hummingbird" "$HB" && chmod -R u+w "$HB"
    (cd "$HB/hb-anchor" && timeout 900 swift build -c release >/dev/null 2>&1) || echo "bench: Hummingbird did not build; skipped" >&2
fi

servers=(tether)
if [ -x "$ANCHORS/node-ws/run.sh" ] && [ -d /usr/share/nodejs/ws ]; then servers+=(node-ws); fi
if [ -x "$HB/hb-anchor/.build/release/HBAnchor" ]; then servers+=(hummingbird); fi

start_server() {   # name presence -> sets SERVER_PID
    local name=$1 presence=$2
    PORT=$((PORT + 1))
    case $name in
        tether) taskset -c 0 "$BIN/tether" --host 127.0.0.1 --port "$PORT" --presence "$presence" --limit-exempt 127.0.0.0/8 >"$OUT/server.log" 2>&1 & ;;
        node-ws) PORT=$PORT PRESENCE=$presence taskset -c 0 "$ANCHORS/node-ws/run.sh" >"$OUT/server.log" 2>&1 & ;;
        hummingbird) PORT=$PORT PRESENCE=$presence THREADS=1 taskset -c 0 "$HB/run.sh" >"$OUT/server.log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "bench: $name did not start" >&2; cat "$OUT/server.log" >&2; return 1
}

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

row() {   # server presence name bench-args...
    local server=$1 presence=$2 name=$3; shift 3
    start_server "$server" "$presence"
    echo "bench: $server $name" >&2
    timeout 300 taskset -c 1 "$BIN/tether-bench" "$@" --port "$PORT" --server-pid "$SERVER_PID" \
        --src-ips 4 --json "$OUT/$server.$name.json" | tail -n 1 || echo "bench: $server $name failed" >&2
    stop_server
}

for server in "${servers[@]}"; do
    row "$server" off connect connect --conns "$CONNECT_CONNS" --hold 2
    for window in 1 16 64; do
        row "$server" off "route-w$window" route --pairs 50 --window "$window" --seconds "$SECONDS_PER_ROUTE"
    done
    row "$server" off route-paced route --pairs 1000 --rate 20 --seconds "$SECONDS_PER_ROUTE"
    row "$server" all presence presence --conns 2000 --devices 50 --cycles 3
    row "$server" off churn churn --conns 5000 --fraction 0.02 --pairs 100 --rate 20 --seconds "$SECONDS_PER_ROUTE"
done

"$BIN/tether-microbench" >"$OUT/microbench.md"
python3 scripts/bench_report.py "$OUT" docs/benchmarks.md docs/images/bench.svg "${servers[@]}"
echo "bench: wrote docs/benchmarks.md and docs/images/bench.svg" >&2
