#!/usr/bin/env bash
# `make bench`: the standard suite against Tether and each available reference server, one fresh
# server per row, server pinned to CPU 0 and bench to CPU 1; then docs/benchmarks.md and the chart.
# ROWS=kept runs only the kept-message rows beside plain routing (Tether alone) and writes
# docs/benchmarks-kept.md, leaving docs/benchmarks.md as it is. Loopback only; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)"
ANCHORS="${ANCHORS:-../shared/anchors}"
OUT="${BENCH_OUT:-.build/bench-results}"
SECONDS_PER_ROUTE="${SECONDS_PER_ROUTE:-10}"
CONNECT_CONNS="${CONNECT_CONNS:-19000}"
PORT=9300
ROWS="${ROWS:-all}"
rm -rf "$OUT" && mkdir -p "$OUT"

# The Hummingbird anchor is built once (about 4 minutes) in a writable copy under .build-anchors/.
HB=.build-anchors/hummingbird
if [ ! -x "$HB/hb-anchor/.build/release/HBAnchor" ] && [ -d "$ANCHORS/hummingbird" ] && [ "${SKIP_HUMMINGBIRD:-0}" != 1 ]; then
    echo "bench: building the Hummingbird reference server" >&2
    rm -rf "$HB" && mkdir -p .build-anchors && cp -r "$ANCHORS/hummingbird" "$HB" && chmod -R u+w "$HB"
    (cd "$HB/hb-anchor" && timeout 900 swift build -c release >/dev/null 2>&1) || echo "bench: Hummingbird did not build; skipped" >&2
fi

# uWebSockets (the one to beat) is built once (about a minute) in a writable copy.
UWS=.build-anchors/uws
if [ ! -x "$UWS/build/seed_server" ] && [ -d "$ANCHORS/uws" ] && [ "${SKIP_UWS:-0}" != 1 ]; then
    echo "bench: building the uWebSockets reference server" >&2
    rm -rf "$UWS" && mkdir -p .build-anchors && cp -r "$ANCHORS/uws" "$UWS" && chmod -R u+w "$UWS"
    (cd "$UWS" && timeout 600 ./build.sh >/dev/null 2>&1) || echo "bench: uWebSockets did not build; skipped" >&2
fi

# BASELINE=REV also measures Tether as built from that git revision ("tether-before"), row by row
# beside the current one: a change's cost in one run.
BASE=.build-baseline
if [ -n "${BASELINE:-}" ]; then
    echo "bench: building the baseline $BASELINE" >&2
    rm -rf "$BASE/src" && mkdir -p "$BASE/src" && git archive "$BASELINE" | tar -x -C "$BASE/src"
    (cd "$BASE/src" && timeout 900 swift build -c release --product tether >/dev/null 2>&1) || { echo "bench: baseline did not build" >&2; exit 1; }
fi

servers=(tether)
if [ -n "${BASELINE:-}" ]; then servers+=(tether-before); fi
if [ -x "$UWS/build/seed_server" ]; then servers+=(uws); fi
if [ -x "$ANCHORS/node-ws/run.sh" ] && [ -d /usr/share/nodejs/ws ]; then servers+=(node-ws); fi
if [ -x "$HB/hb-anchor/.build/release/HBAnchor" ]; then servers+=(hummingbird); fi
# Token mode (HS256 and ES256 device tokens) for the rows that show its cost.
KEYS="$OUT/keys"
mkdir -p "$KEYS"
head -c 48 /dev/urandom | base64 >"$KEYS/bench.key"
openssl ecparam -name prime256v1 -genkey -noout -out "$KEYS/es.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$KEYS/es.pem" -out "$KEYS/es-private.pem"
openssl ec -in "$KEYS/es.pem" -pubout -out "$KEYS/es-public.pem" 2>/dev/null
token_servers=(tether-hs256 tether-es256)
# Kept messages (#18): the SQLite store (the default) and --offline-store memory. Their rows keep
# hundreds of thousands of messages, so the server-wide bound is raised past the default 64 MiB.
kept_servers=(tether tether-memstore)
KEPT_FLAGS=(--offline-max-total-bytes 1073741824)

start_server() {   # name presence -> sets SERVER_PID
    local name=$1 presence=$2
    PORT=$((PORT + 1))
    rm -rf "$OUT/state"   # each row starts with nothing kept
    local common=(--host 127.0.0.1 --port "$PORT" --presence "$presence" --limit-exempt 127.0.0.0/8 --state-dir "$OUT/state" "${EXTRA[@]}")
    case $name in
        tether) taskset -c 0 "$BIN/tether" "${common[@]}" >"$OUT/server.log" 2>&1 & ;;
        tether-memstore) taskset -c 0 "$BIN/tether" "${common[@]}" --offline-store memory >"$OUT/server.log" 2>&1 & ;;
        tether-hs256) taskset -c 0 "$BIN/tether" "${common[@]}" --auth-hmac-key-file "$KEYS/bench.key" >"$OUT/server.log" 2>&1 & ;;
        tether-es256) taskset -c 0 "$BIN/tether" "${common[@]}" --auth-public-key-file "$KEYS/es-public.pem" >"$OUT/server.log" 2>&1 & ;;
        tether-before) taskset -c 0 "$BASE/src/.build/release/tether" --host 127.0.0.1 --port "$PORT" --presence "$presence" >"$OUT/server.log" 2>&1 & ;;
        uws) PORT=$PORT PRESENCE=$presence taskset -c 0 "$UWS/run.sh" >"$OUT/server.log" 2>&1 & ;;
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
    local tokens=()
    case $server in
        tether-hs256) tokens=(--token-key "$KEYS/bench.key") ;;
        tether-es256) tokens=(--token-key "$KEYS/es-private.pem") ;;
    esac
    start_server "$server" "$presence"
    echo "bench: $server $name" >&2
    timeout 300 taskset -c 1 "$BIN/tether-bench" "$@" "${tokens[@]}" --port "$PORT" --server-pid "$SERVER_PID" \
        --src-ips 4 --json "$OUT/$server.$name.json" | tail -n 1 || echo "bench: $server $name failed" >&2
    stop_server
}

# Row by row, every server in turn, so the machine's drift during the run falls on all alike.
EXTRA=()
each() { for server in "${servers[@]}"; do row "$server" "$@"; done; }
each_with_tokens() { for server in "${servers[@]}" "${token_servers[@]}"; do row "$server" "$@"; done; }
each_kept() { EXTRA=("${KEPT_FLAGS[@]}"); for server in "${kept_servers[@]}"; do row "$server" "$@"; done; EXTRA=(); }

# Kept messages: their rate at window 16 (compare route-w16), and 10,000 devices holding 10 each
# reconnecting at once (every message delivered; connect to last message; memory per message).
kept_rows() {
    each_kept off keep-w16 keep --pairs 50 --window 16 --recipients 1000 --seconds "$SECONDS_PER_ROUTE"
    each_kept off drain drain --recipients 10000 --per-recipient 10 --senders 50 --window 32
}

if [ "$ROWS" = kept ]; then
    row tether off route-w16 route --pairs 50 --window 16 --seconds "$SECONDS_PER_ROUTE"
    kept_rows
    python3 scripts/bench_kept_report.py "$OUT" docs/benchmarks-kept.md
    echo "bench: wrote docs/benchmarks-kept.md" >&2
    exit 0
fi

each_with_tokens off connect connect --conns "$CONNECT_CONNS" --hold 2
for window in 1 16; do
    each off "route-w$window" route --pairs 50 --window "$window" --seconds "$SECONDS_PER_ROUTE"
done
each_with_tokens off route-w64 route --pairs 50 --window 64 --seconds "$SECONDS_PER_ROUTE"
each off route-paced route --pairs 1000 --rate 20 --seconds "$SECONDS_PER_ROUTE"
each all presence presence --conns 2000 --devices 50 --cycles 3
each off churn churn --conns 5000 --fraction 0.02 --pairs 100 --rate 20 --seconds "$SECONDS_PER_ROUTE"
kept_rows

"$BIN/tether-microbench" >"$OUT/microbench.md"
python3 scripts/bench_report.py "$OUT" docs/benchmarks.md docs/images/bench.svg "${servers[@]}" "${token_servers[@]}" tether-memstore
python3 scripts/bench_kept_report.py "$OUT" docs/benchmarks-kept.md
echo "bench: wrote docs/benchmarks.md and docs/images/bench.svg" >&2
