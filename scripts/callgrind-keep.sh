#!/usr/bin/env bash
# Instructions the server spends per kept message (callgrind counts instructions, not seconds, so
# the figure repeats whatever else the machine does). Usage: scripts/callgrind-keep.sh [sqlite|memory|route]
# ("route": plain online routing through the same harness, to compare). Loopback only, bounded.
# Prints: messages, total instructions, instructions per message.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-sqlite}"
BIN="$(swift build -c release --show-bin-path)"
OUT="$(mktemp -d)"
PORT=$((20000 + RANDOM % 20000))
STORE=$([ "$WHAT" = route ] && echo memory || echo "$WHAT")
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.out" "$BIN/tether" --host 127.0.0.1 --port "$PORT" \
    --presence off --limit-exempt 127.0.0.0/8 --offline-store "$STORE" --state-dir "$OUT/state" \
    --offline-max-total-bytes 1073741824 >"$OUT/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
callgrind_control -i on "$SERVER" >/dev/null   # only the run is counted, not the process start
if [ "$WHAT" = route ]; then
    timeout 120 "$BIN/tether-bench" route --pairs 50 --window 16 --seconds 4 --port "$PORT" >/dev/null
else
    timeout 120 "$BIN/tether-bench" keep --pairs 50 --window 16 --recipients 1000 --seconds 4 --port "$PORT" >/dev/null
fi
callgrind_control -i off "$SERVER" >/dev/null
COUNT=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^tether_kept_total/ {k = $2} /^tether_messages_routed_total/ {r = $2} END {print (k > 0 ? k : r)}')
kill -INT "$SERVER"; wait "$SERVER" || true
TOTAL=$(callgrind_annotate "$OUT/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen {gsub(",", "", $1); print $1; seen = 1}')
echo "$WHAT: messages=$COUNT instructions=$TOTAL per_message=$((TOTAL / COUNT))"
echo "profile: $OUT/cg.out (callgrind_annotate it)"
