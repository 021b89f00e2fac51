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
# TLS rows: an ECDSA P-256 certificate for 127.0.0.1 (the bench does not verify it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -days 2 \
    -keyout "$KEYS/tls-key.pem" -out "$KEYS/tls-cert.pem" 2>/dev/null

start_server() {   # name presence -> sets SERVER_PID
    local name=$1 presence=$2
    PORT=$((PORT + 1))
    # The machine is shared: skip ports another run is listening on (its server would answer the probe below).
    while (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do PORT=$((PORT + 1)); done
    local common=(--host 127.0.0.1 --port "$PORT" --presence "$presence" --limit-exempt 127.0.0.0/8 --state-dir "$OUT/state")
    case $name in
        tether) taskset -c 0 "$BIN/tether" "${common[@]}" >"$OUT/server.log" 2>&1 & ;;
        tether-hs256) taskset -c 0 "$BIN/tether" "${common[@]}" --auth-hmac-key-file "$KEYS/bench.key" >"$OUT/server.log" 2>&1 & ;;
        tether-es256) taskset -c 0 "$BIN/tether" "${common[@]}" --auth-public-key-file "$KEYS/es-public.pem" >"$OUT/server.log" 2>&1 & ;;
        tether-tls) taskset -c 0 "$BIN/tether" "${common[@]}" --tls-cert "$KEYS/tls-cert.pem" --tls-key "$KEYS/tls-key.pem" >"$OUT/server.log" 2>&1 & ;;
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

# ROWS="route-w64 connect" and SERVERS="tether tether-hs256" run only those rows and servers.
row() {   # server presence name bench-args...
    local server=$1 presence=$2 name=$3; shift 3
    if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $name "* ]]; then return 0; fi
    if [ -n "${SERVERS:-}" ] && [[ " $SERVERS " != *" $server "* ]]; then return 0; fi
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
each() { for server in "${servers[@]}"; do row "$server" "$@"; done; }
each_with_tokens() { for server in "${servers[@]}" "${token_servers[@]}"; do row "$server" "$@"; done; }

each_with_tokens off connect connect --conns "$CONNECT_CONNS" --hold 2
for window in 1 16; do
    each off "route-w$window" route --pairs 50 --window "$window" --seconds "$SECONDS_PER_ROUTE"
done
each_with_tokens off route-w64 route --pairs 50 --window 64 --seconds "$SECONDS_PER_ROUTE"
each off route-paced route --pairs 1000 --rate 20 --seconds "$SECONDS_PER_ROUTE"
each all presence presence --conns 2000 --devices 50 --cycles 3
each off churn churn --conns 5000 --fraction 0.02 --pairs 100 --rate 20 --seconds "$SECONDS_PER_ROUTE"
# TLS and permessage-deflate (docs/benchmarks-tls.md): Tether only, as the anchors are built
# without SSL and compression. Plain rows of the same run are the reference.
row tether-tls off tls-connect connect --tls --conns 5000 --hold 0
row tether-tls off tls-idle-memory connect --tls --conns "$CONNECT_CONNS" --hold 2
for window in 1 64; do
    row tether-tls off "tls-route-w$window" route --tls --pairs 50 --window "$window" --seconds "$SECONDS_PER_ROUTE"
done
row tether off deflate-off route --pairs 50 --window 16 --seconds "$SECONDS_PER_ROUTE" --message-bytes 1024 --wire-bytes
row tether off deflate-on route --deflate --pairs 50 --window 16 --seconds "$SECONDS_PER_ROUTE" --message-bytes 1024 --wire-bytes

if [ -n "${ROWS:-}${SERVERS:-}" ]; then
    # A partial run leaves the report alone: its rows are printed for the caller to compare.
    for json in "$OUT"/*.json; do echo "$(basename "$json" .json) $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(f"{k}={v}" for k,v in d.items() if isinstance(v,(int,float))))' "$json")"; done
    exit 0
fi
"$BIN/tether-microbench" >"$OUT/microbench.md"
python3 scripts/bench_report.py "$OUT" docs/benchmarks.md docs/images/bench.svg "${servers[@]}" "${token_servers[@]}"
echo "bench: wrote docs/benchmarks.md and docs/images/bench.svg" >&2
