#!/usr/bin/env bash
# `make bench`: the standard suite against Tether and each available reference server, one fresh
# server per row, server pinned to CPU 0 and bench to CPU 1; then docs/benchmarks.md and the chart.
# Loopback only; every run is bounded in time.
#   ROWS="route-w64 connect"   runs only these rows, SERVERS="tether tether-consoles" only these servers;
#                              either writes the report to BENCH_OUT instead of docs/ (a quick comparison)
#   ROWS=kept                  runs only the kept-message rows beside plain routing (Tether alone) and
#                              writes docs/benchmarks-kept.md, leaving docs/benchmarks.md as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)"
ANCHORS="${ANCHORS:-../shared/anchors}"
OUT="${BENCH_OUT:-.build/bench-results}"
SECONDS_PER_ROUTE="${SECONDS_PER_ROUTE:-10}"
CONNECT_CONNS="${CONNECT_CONNS:-19000}"
PORT="${BENCH_PORT:-9300}"      # servers take the ports above it, one per row
rm -rf "$OUT" && mkdir -p "$OUT"
wanted() { [ -z "${SERVERS:-}" ] || [[ " $SERVERS " == *" $1 "* ]]; }

# The Hummingbird anchor is built once (about 4 minutes) in a writable copy under .build-anchors/.
HB=.build-anchors/hummingbird
if [ ! -x "$HB/hb-anchor/.build/release/HBAnchor" ] && [ -d "$ANCHORS/hummingbird" ] && [ "${SKIP_HUMMINGBIRD:-0}" != 1 ] && wanted hummingbird; then
    echo "bench: building the Hummingbird reference server" >&2
    rm -rf "$HB" && mkdir -p .build-anchors && cp -r "$ANCHORS/hummingbird" "$HB" && chmod -R u+w "$HB"
    (cd "$HB/hb-anchor" && timeout 900 swift build -c release >/dev/null 2>&1) || echo "bench: Hummingbird did not build; skipped" >&2
fi

# uWebSockets (the one to beat) is built once (about a minute) in a writable copy.
UWS=.build-anchors/uws
if [ ! -x "$UWS/build/seed_server" ] && [ -d "$ANCHORS/uws" ] && [ "${SKIP_UWS:-0}" != 1 ] && wanted uws; then
    echo "bench: building the uWebSockets reference server" >&2
    rm -rf "$UWS" && mkdir -p .build-anchors && cp -r "$ANCHORS/uws" "$UWS" && chmod -R u+w "$UWS"
    (cd "$UWS" && timeout 600 ./build.sh >/dev/null 2>&1) || echo "bench: uWebSockets did not build; skipped" >&2
fi

# BASELINE=REV also measures Tether as built from that git revision ("tether-before"), row by row
# beside the current one: a change's cost in one run.
BASE=.build-baseline
if [ -n "${BASELINE:-}" ]; then
    BASE_REV=$(git rev-parse "$BASELINE^{commit}")
    if [ "$(cat "$BASE/rev" 2>/dev/null)" != "$BASE_REV" ] || [ ! -x "$BASE/src/.build/release/tether" ]; then   # built once per revision
        echo "bench: building the baseline $BASELINE" >&2
        rm -rf "$BASE/src" "$BASE/rev" && mkdir -p "$BASE/src" && git archive "$BASE_REV" | tar -x -C "$BASE/src"
        (cd "$BASE/src" && timeout 900 swift build -c release --product tether >/dev/null 2>&1) || { echo "bench: baseline did not build" >&2; exit 1; }
        echo "$BASE_REV" >"$BASE/rev"
    fi
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
# The operator console's cost: route-w64 while three consoles watch the live stream.
openssl rand -hex 24 >"$KEYS/api.key"
console_servers=(tether-consoles)
# TLS rows: an ECDSA P-256 certificate for 127.0.0.1 (the bench does not verify it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -days 2 \
    -keyout "$KEYS/tls-key.pem" -out "$KEYS/tls-cert.pem" 2>/dev/null
# Kept messages (#18): the SQLite store (the default) and --offline-store memory. Their rows keep
# hundreds of thousands of messages, so the server-wide bound is raised past the default 64 MiB.
kept_servers=(tether tether-memstore)
KEPT_FLAGS=(--offline-max-total-bytes 1073741824)

start_server() {   # name presence -> sets SERVER_PID
    local name=$1 presence=$2
    PORT=$((PORT + 1))
    # The machine is shared: skip ports another run is listening on (its server would answer the probe below).
    while (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do PORT=$((PORT + 1)); done
    rm -rf "$OUT/state"   # each row starts with nothing kept
    local common=(--host 127.0.0.1 --port "$PORT" --presence "$presence" --limit-exempt 127.0.0.0/8 --state-dir "$OUT/state" "${EXTRA[@]}")
    case $name in
        tether) taskset -c 0 "$BIN/tether" "${common[@]}" >"$OUT/server.log" 2>&1 & ;;
        tether-memstore) taskset -c 0 "$BIN/tether" "${common[@]}" --offline-store memory >"$OUT/server.log" 2>&1 & ;;
        tether-hs256) taskset -c 0 "$BIN/tether" "${common[@]}" --auth-hmac-key-file "$KEYS/bench.key" >"$OUT/server.log" 2>&1 & ;;
        tether-es256) taskset -c 0 "$BIN/tether" "${common[@]}" --auth-public-key-file "$KEYS/es-public.pem" >"$OUT/server.log" 2>&1 & ;;
        tether-consoles) taskset -c 0 "$BIN/tether" "${common[@]}" --api-key-file "$KEYS/api.key" >"$OUT/server.log" 2>&1 & ;;
        tether-tls) taskset -c 0 "$BIN/tether" "${common[@]}" --tls-cert "$KEYS/tls-cert.pem" --tls-key "$KEYS/tls-key.pem" >"$OUT/server.log" 2>&1 & ;;
        # shellcheck disable=SC2086  # BASELINE_FLAGS: what that revision understands (default: the per-address limits off, as for tether)
        tether-before) taskset -c 0 "$BASE/src/.build/release/tether" --host 127.0.0.1 --port "$PORT" --presence "$presence" ${BASELINE_FLAGS---limit-exempt 127.0.0.0/8} >"$OUT/server.log" 2>&1 & ;;
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
# Signs COUNT consoles in and keeps their live streams open (curl, on the bench's CPU) until
# close_consoles; returns once the server counts them.
CONSOLE_PIDS=()
open_consoles() {
    local count=$1 key
    key=$(cat "$KEYS/api.key")
    for i in $(seq "$count"); do
        curl -s -c "$OUT/console$i.cookies" -H 'Content-Type: application/json' -d "{\"key\":\"$key\"}" \
            "http://127.0.0.1:$PORT/api/console/session" >/dev/null
        taskset -c 1 curl -s -N -b "$OUT/console$i.cookies" "http://127.0.0.1:$PORT/api/console/live" >/dev/null &
        CONSOLE_PIDS+=($!)
    done
    for _ in $(seq 50); do
        [ "$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "tether_console_streams" { print $2 }')" = "$count" ] && return 0
        sleep 0.1
    done
    echo "bench: the consoles did not attach" >&2; return 1
}

close_consoles() {
    for pid in "${CONSOLE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    CONSOLE_PIDS=()
}

row() {   # server presence name bench-args...
    local server=$1 presence=$2 name=$3; shift 3
    if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $name "* ]]; then return 0; fi
    wanted "$server" || return 0
    local tokens=()
    case $server in
        tether-hs256) tokens=(--token-key "$KEYS/bench.key") ;;
        tether-es256) tokens=(--token-key "$KEYS/es-private.pem") ;;
    esac
    start_server "$server" "$presence"
    if [ "$server" = tether-consoles ]; then open_consoles 3; fi
    echo "bench: $server $name" >&2
    timeout 300 taskset -c 1 "$BIN/tether-bench" "$@" "${tokens[@]}" --port "$PORT" --server-pid "$SERVER_PID" \
        --src-ips 4 --json "$OUT/$server.$name.json" | tail -n 1 || echo "bench: $server $name failed" >&2
    close_consoles
    stop_server
}

# Cluster rows (issue 13): phones on node A, boxes on node B, one redis-server between them; the two
# nodes and Redis are pinned to CPU 0, the one core the single server gets, the bench to CPU 1. The
# CPU of each (server_cpu_us_per_msg is node A's) is read per message. Skipped without redis-server.
# CLUSTER_NODE_ARGS adds options to both nodes (e.g. "--cluster-inbox-max 1000000").
REDIS_PORT="${BENCH_REDIS_PORT:-9399}"
cluster_row() {   # name bench-args...
    local name=$1; shift
    if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $name "* ]]; then return 0; fi
    if [ -n "${SERVERS:-}" ] && [[ " $SERVERS " != *" tether "* ]]; then return 0; fi
    if ! command -v redis-server >/dev/null; then echo "bench: no redis-server, $name skipped" >&2; return 0; fi
    taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$(cd "$OUT" && pwd)" \
        --logfile "$(cd "$OUT" && pwd)/redis.log" --daemonize no &
    local redis=$! ports=() pids=() node
    for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
    for node in a b; do
        PORT=$((PORT + 1))
        taskset -c 0 "$BIN/tether" --host 127.0.0.1 --port "$PORT" --presence off --limit-exempt 127.0.0.0/8 \
            --state-dir "$OUT/state-$node" --cluster "redis://127.0.0.1:$REDIS_PORT" ${CLUSTER_NODE_ARGS:-} >"$OUT/server-$node.log" 2>&1 &
        pids+=($!) ports+=("$PORT")
    done
    local ready=0
    for _ in $(seq 100); do
        if curl -fsS "http://127.0.0.1:${ports[0]}/readyz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:${ports[1]}/readyz" >/dev/null 2>&1; then
            ready=1; break
        fi
        sleep 0.1
    done
    if [ "$ready" = 1 ]; then
        echo "bench: tether $name" >&2
        timeout 300 taskset -c 1 "$BIN/tether-bench" "$@" --port "${ports[0]}" --port-b "${ports[1]}" --server-pid "${pids[0]}" \
            --extra-pid "node_b=${pids[1]}" --extra-pid "redis=$redis" --src-ips 4 --json "$OUT/tether.$name.json" \
            | tail -n 1 || echo "bench: tether $name failed" >&2
    else
        echo "bench: the cluster did not start, $name skipped" >&2; tail -n 3 "$OUT/server-a.log" >&2
    fi
    kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true
    kill "$redis" 2>/dev/null || true; wait "$redis" 2>/dev/null || true
}

# Row by row, every server in turn, so the machine's drift during the run falls on all alike.
EXTRA=()
each() { for server in "${servers[@]}"; do row "$server" "$@"; done; }
each_with_tokens() { for server in "${servers[@]}" "${token_servers[@]}"; do row "$server" "$@"; done; }
each_kept() { EXTRA=("${KEPT_FLAGS[@]}"); for server in "${kept_servers[@]}"; do row "$server" "$@"; done; EXTRA=(); }

# Kept messages: their rate at window 16 (compare route-w16), and 10,000 devices holding 10 each
# reconnecting at once (every message delivered; connect to last message; memory per message).
kept_rows() {
    each_kept off keep-w16 keep --pairs 50 --window 16 --recipients 2000 --seconds "$SECONDS_PER_ROUTE"
    each_kept off drain drain --recipients 10000 --per-recipient 10 --senders 50 --window 32
}

if [ "${ROWS:-}" = kept ]; then
    ROWS="" SERVERS=""   # the kept section names its own rows and servers
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
for server in "${servers[@]}" "${token_servers[@]}" "${console_servers[@]}"; do
    row "$server" off route-w64 route --pairs 50 --window 64 --seconds "$SECONDS_PER_ROUTE"
done
each off route-paced route --pairs 1000 --rate 20 --seconds "$SECONDS_PER_ROUTE"
cluster_row cluster-route-w1 route --pairs 50 --window 1 --seconds "$SECONDS_PER_ROUTE"
cluster_row cluster-route-w64 route --pairs 50 --window 64 --seconds "$SECONDS_PER_ROUTE"
cluster_row cluster-route-paced route --pairs 1000 --rate 20 --seconds "$SECONDS_PER_ROUTE"
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
kept_rows

if [ -n "${ROWS:-}${SERVERS:-}" ]; then   # a partial run leaves docs/ alone
    ran=()
    for server in "${servers[@]}" "${token_servers[@]}" "${console_servers[@]}"; do wanted "$server" && ran+=("$server"); done
    python3 scripts/bench_report.py "$OUT" "$OUT/benchmarks.md" "$OUT/bench.svg" "${ran[@]}"
    echo "bench: wrote $OUT/benchmarks.md" >&2
    exit 0
fi
"$BIN/tether-microbench" >"$OUT/microbench.md"
python3 scripts/bench_report.py "$OUT" docs/benchmarks.md docs/images/bench.svg "${servers[@]}" "${token_servers[@]}" "${console_servers[@]}"
python3 scripts/bench_report.py "$OUT" docs/benchmarks.md docs/images/bench.svg "${servers[@]}" "${token_servers[@]}" tether-memstore
python3 scripts/bench_kept_report.py "$OUT" docs/benchmarks-kept.md
echo "bench: wrote docs/benchmarks.md and docs/images/bench.svg" >&2
