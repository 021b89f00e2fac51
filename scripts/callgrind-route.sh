#!/usr/bin/env bash
# Instructions the server spends per routed message (callgrind counts instructions, not seconds,
# so the figure repeats whatever else the machine does; the 100 handshakes of the run are included).
# Usage: scripts/callgrind-route.sh [WINDOW]; PAIRS=N (default 50); RATE=R paces each pair at R
# messages a second instead of a window (every message its own wakeup, like make bench's paced row,
# slowed for valgrind: PAIRS=1000 RATE=2). TETHER=path measures another build (SERVER_FLAGS replaces
# the default flags, e.g. for a build older than --limit-exempt). CONSOLES=N keeps N operator consoles
# signed in and streaming during the run (the server then has an API key). TOKENS=1 runs token mode
# (an HS256 key; every device connects with a token naming its partner).
# Prints: messages routed, total instructions, instructions per message. Loopback only, bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW="${1:-1}"
BIN="$(swift build -c release --show-bin-path)"
OUT="$(mktemp -d)"
PORT=$((20000 + RANDOM % 20000))
FLAGS=${SERVER_FLAGS---limit-exempt 127.0.0.0/8}
CONSOLES="${CONSOLES:-0}"
BENCH_TOKENS=()
if [ "${TOKENS:-0}" = 1 ]; then
    head -c 48 /dev/urandom | base64 >"$OUT/hmac.key"
    FLAGS="$FLAGS --auth-hmac-key-file $OUT/hmac.key"
    BENCH_TOKENS=(--token-key "$OUT/hmac.key")
fi
if [ "$CONSOLES" -gt 0 ]; then
    openssl rand -hex 24 >"$OUT/api.key"
    FLAGS="$FLAGS --api-key-file $OUT/api.key"
fi
# shellcheck disable=SC2086
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.out" "${TETHER:-$BIN/tether}" --host 127.0.0.1 \
    --port "$PORT" --presence off --state-dir "$OUT/state" $FLAGS >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
STREAMS=()
for i in $(seq "$CONSOLES"); do
    curl -s -c "$OUT/console$i" -H 'Content-Type: application/json' -d "{\"key\":\"$(cat "$OUT/api.key")\"}" \
        "http://127.0.0.1:$PORT/api/console/session" >/dev/null
    curl -s -N -b "$OUT/console$i" "http://127.0.0.1:$PORT/api/console/live" >/dev/null &
    STREAMS+=($!)
done
callgrind_control -i on "$SERVER" >/dev/null   # only the run is counted, not the process start
if [ -n "${RATE:-}" ]; then PACE=(--rate "$RATE"); else PACE=(--window "$WINDOW"); fi
timeout 120 "$BIN/tether-bench" route --pairs "${PAIRS:-50}" "${PACE[@]}" --seconds "${SECONDS_TO_RUN:-10}" --port "$PORT" \
    "${BENCH_TOKENS[@]}" --json "$OUT/route.json" >/dev/null
callgrind_control -i off "$SERVER" >/dev/null
ROUTED=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^tether_messages_routed_total/ {print $2}')
WATCHING=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^tether_console_streams/ {print $2}')
for pid in "${STREAMS[@]}"; do kill "$pid" 2>/dev/null || true; done
kill -INT "$SERVER"; wait "$SERVER" || true
TOTAL=$(callgrind_annotate "$OUT/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen {gsub(",", "", $1); print $1; seen = 1}')
echo "routed=$ROUTED instructions=$TOTAL per_message=$((TOTAL / ROUTED)) consoles=${WATCHING:-0}"
echo "profile: $OUT/cg.out (callgrind_annotate it)"
