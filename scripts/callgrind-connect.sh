#!/usr/bin/env bash
# Instructions the server spends per accepted WebSocket connection: handshake, registration, and the
# close at the end (callgrind counts instructions, so the figure repeats whatever else the machine does).
# Usage: scripts/callgrind-connect.sh [CONNS] (default 2000); TETHER=path measures another build.
# Prints: connections accepted, total instructions, instructions per connection. Loopback only, bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS="${1:-2000}"
BIN="$(swift build -c release --show-bin-path)"
OUT="$(mktemp -d)"
PORT=$((20000 + RANDOM % 20000))
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.out" "${TETHER:-$BIN/tether}" --host 127.0.0.1 \
    --port "$PORT" --presence off --limit-exempt 127.0.0.0/8 --state-dir "$OUT/state" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
callgrind_control -i on "$SERVER" >/dev/null   # only the run is counted, not the process start
timeout 120 "$BIN/tether-bench" connect --conns "$CONNS" --hold 1 --warm-up 0 --port "$PORT" --json "$OUT/connect.json" >/dev/null
sleep 1   # the closes at the end of the hold are part of a connection's cost
callgrind_control -i off "$SERVER" >/dev/null
ACCEPTED=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['opened'])" "$OUT/connect.json")
kill -INT "$SERVER"; wait "$SERVER" || true
TOTAL=$(callgrind_annotate "$OUT/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen {gsub(",", "", $1); print $1; seen = 1}')
echo "accepted=$ACCEPTED instructions=$TOTAL per_connection=$((TOTAL / ACCEPTED))"
echo "profile: $OUT/cg.out (callgrind_annotate it)"
