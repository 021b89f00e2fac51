#!/usr/bin/env bash
# Instructions per cross-node message in each process of a two-node fleet: phones on node A, boxes
# on node B, one redis-server, all three under callgrind (instructions, not seconds: the figure
# holds however busy the machine is; system calls are not counted). Pinned as make bench's cluster
# rows pin them (the three on CPU 0, the bench on CPU 1), so batches form as they do there, slowed.
# Counting starts WARM seconds into the run and lasts COUNT seconds; messages are node B's
# tether_cluster_routed_in_total over that time.
# Usage: scripts/callgrind-cluster.sh [WINDOW]; PAIRS=N (default 50); RATE=R paces each pair at R
# messages a second instead (PAIRS=1000 RATE=2: a few messages a route call, as in the paced row).
# TETHER=path measures another build's nodes. Loopback only, bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW="${1:-64}"
WARM="${WARM:-6}"
COUNT="${COUNT:-10}"
BIN="$(swift build -c release --show-bin-path)"
NODE="${TETHER:-$BIN/tether}"
OUT="$(mktemp -d)"
BASE=$((20000 + RANDOM % 20000))
REDIS_PORT=$BASE PORT_A=$((BASE + 1)) PORT_B=$((BASE + 2))
CG=(valgrind --tool=callgrind --instr-atstart=no --dump-instr=no)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
taskset -c 0 "${CG[@]}" --callgrind-out-file="$OUT/cg.redis" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$OUT" --logfile "$OUT/redis.log" --daemonize no 2>"$OUT/valgrind-redis.log" &
PIDS+=($!)
for _ in $(seq 200); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
for node in a b; do
    port=$PORT_A; [ $node = b ] && port=$PORT_B
    taskset -c 0 "${CG[@]}" --callgrind-out-file="$OUT/cg.$node" "$NODE" --host 127.0.0.1 --port "$port" --presence off \
        --limit-exempt 127.0.0.0/8 --state-dir "$OUT/state-$node" --cluster "redis://127.0.0.1:$REDIS_PORT" >"$OUT/server-$node.log" 2>&1 &
    PIDS+=($!)
done
for _ in $(seq 600); do
    curl -fsS "http://127.0.0.1:$PORT_A/readyz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$PORT_B/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
routed() { curl -s "http://127.0.0.1:$PORT_B/metrics" | awk '/^tether_cluster_routed_in_total/ {print $2}'; }
if [ -n "${RATE:-}" ]; then PACE=(--rate "$RATE"); else PACE=(--window "$WINDOW"); fi
timeout 300 taskset -c 1 "$BIN/tether-bench" route --pairs "${PAIRS:-50}" "${PACE[@]}" --seconds $((WARM + COUNT + 4)) \
    --port "$PORT_A" --port-b "$PORT_B" --src-ips 4 >"$OUT/bench.txt" 2>&1 &
BENCH=$!
sleep "$WARM"
for pid in "${PIDS[@]}"; do callgrind_control -i on "$pid" >/dev/null 2>&1; done
BEFORE=$(routed)
sleep "$COUNT"
for pid in "${PIDS[@]}"; do callgrind_control -d "$pid" >/dev/null 2>&1; callgrind_control -i off "$pid" >/dev/null 2>&1; done
MESSAGES=$(( $(routed) - BEFORE ))
wait "$BENCH" || true
kill "${PIDS[@]}" 2>/dev/null || true; wait "${PIDS[@]}" 2>/dev/null || true
echo "messages=$MESSAGES $(grep -o 'lost=[0-9]* duplicated=[0-9]* reordered=[0-9]*' "$OUT/bench.txt" | tail -n 1)"
for name in a b redis; do
    total=$(awk '/^totals:/ {print $2}' "$OUT/cg.$name.1")
    echo "$name per_message=$((total / MESSAGES))"
done
echo "profiles: $OUT/cg.{a,b,redis}.1 (callgrind_annotate them)"
