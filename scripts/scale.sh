#!/usr/bin/env bash
# `make scale` (not part of CI): about 60,000 devices over 4 Tether nodes sharing one redis-server
# (nothing saved) in watchers mode; 1,000 pairs route from node A to node B at 20 msg/s each while
# watchers on A, B and D watch devices of node C, which is killed with -9 mid-run. Measures memory
# per device (each node, Redis), Redis commands per routed message, routing losses, and the
# offlines each watcher gets; writes docs/benchmarks-scale.md. Loopback only; every wait is bounded
# and everything started here is stopped on exit, failure included.
# Smaller trials: SCALE_DEVICES=2000 SCALE_PAIRS=100 SCALE_GONE=300 SCALE_STEADY=30 \
#   SCALE_REPORT=.build/scale-trial.md scripts/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SCALE_BIN:-$(swift build -c release --show-bin-path)}"
OUT="${SCALE_OUT:-.build/scale-results}"
REPORT="${SCALE_REPORT:-docs/benchmarks-scale.md}"
DEVICES="${SCALE_DEVICES:-14500}"     # idle devices held on each node
PAIRS="${SCALE_PAIRS:-1000}"          # phones on node A, boxes on node B
RATE="${SCALE_RATE:-20}"              # messages per second per pair
ROUTE_SECONDS="${SCALE_SECONDS:-60}"  # the routing window
KILL_AT="${SCALE_KILL_AT:-25}"        # seconds into the routing window when node C is killed
GONE="${SCALE_GONE:-3000}"            # node C's devices watched (from A, B and D each)
STEADY="${SCALE_STEADY:-300}"         # devices of each surviving node watched too (no offline owed)
WATCHERS="${SCALE_WATCHERS:-30}"      # spread over A, B and D
LEASE="${SCALE_LEASE:-10}"            # --cluster-lease-seconds: the default
SRC_IPS="${SCALE_SRC_IPS:-8}"         # client sockets from 127.0.0.1 ... 127.0.0.8
PIN="${SCALE_PIN:-1}"                 # 1: Redis and the nodes on CPU 0, the benches on CPU 1; 0: no pinning
IDLE_SECONDS=10                       # the window of Redis commands with no traffic (leases, sweeps, reads)
OPS_FROM=5                            # the routing window's Redis commands: from OPS_FROM s into it ...
OPS_SECONDS=15                        # ... for OPS_SECONDS (ends before the kill)
[ $((OPS_FROM + OPS_SECONDS + 2)) -le "$KILL_AT" ] || { echo "scale: SCALE_KILL_AT must leave the ops window before the kill" >&2; exit 1; }
[ "$GONE" -le "$DEVICES" ] && [ "$STEADY" -le "$DEVICES" ] || { echo "scale: SCALE_GONE and SCALE_STEADY are at most SCALE_DEVICES" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "scale: needs redis-server (Debian package redis-server)" >&2; exit 1; }

rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
FACTS="$OUT/facts"   # "key value" lines for the report
fact() { echo "$1 $2" >>"$FACTS"; }
say() { echo "scale: $(date -u +%H:%M:%S) $*" >&2; }

started=()   # every process started here, stopped by cleanup
cleanup() {
    trap - EXIT INT TERM
    touch "$OUT/stop" 2>/dev/null || true
    for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for pid in "${started[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${started[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {   # the first port from $1 up that nothing listens on
    local port=$1
    while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
    echo "$port"
}
metric() {   # port name -> value (empty if the node does not answer)
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }'
}
proc_kib() {   # pid field -> KiB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}
cpu_seconds() {   # pid -> user + system CPU seconds
    awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null
}
rcli() { timeout 5 redis-cli -p "$REDIS_PORT" "$@"; }
info_field() {   # section field
    rcli INFO "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}
snapshot() {   # name: Redis commands (total and per command) and the routed counters, one moment
    rcli INFO commandstats | tr -d '\r' >"$OUT/cmdstats-$1.txt"
    fact "cmds_$1" "$(info_field stats total_commands_processed)"
    fact "time_$1" "$(date +%s.%N)"
    fact "redis_cpu_$1" "$(cpu_seconds "$redis")"
    fact "node_cpu_a_$1" "$(cpu_seconds "${pid[a]}")"
    fact "node_cpu_b_$1" "$(cpu_seconds "${pid[b]}")"
    fact "routed_out_a_$1" "$(metric "${port[a]}" tether_cluster_routed_out_total)"
    fact "routed_in_b_$1" "$(metric "${port[b]}" tether_cluster_routed_in_total)"
}
memory() {   # name: each node's RSS and devices, Redis memory
    for n in $NODES; do
        kill -0 "${pid[$n]}" 2>/dev/null || continue
        fact "rss_kib_${n}_$1" "$(proc_kib "${pid[$n]}" VmRSS)"
        fact "anon_kib_${n}_$1" "$(proc_kib "${pid[$n]}" RssAnon)"
        fact "devices_${n}_$1" "$(metric "${port[$n]}" tether_devices)"
        fact "resident_bytes_${n}_$1" "$(metric "${port[$n]}" tether_resident_memory_bytes)"
    done
    fact "redis_used_memory_$1" "$(info_field memory used_memory)"
    fact "redis_rss_$1" "$(info_field memory used_memory_rss)"
    fact "redis_keys_$1" "$(rcli DBSIZE)"
}

fact run_utc "$(date -u '+%Y-%m-%d %H:%M UTC')"
fact devices_per_node "$DEVICES"
fact pairs "$PAIRS"
fact rate "$RATE"
fact route_seconds "$ROUTE_SECONDS"
fact kill_at "$KILL_AT"
fact gone "$GONE"
fact steady "$STEADY"
fact watchers "$WATCHERS"
fact lease "$LEASE"
fact src_ips "$SRC_IPS"
fact idle_seconds "$IDLE_SECONDS"
fact ops_from "$OPS_FROM"
fact ops_seconds "$OPS_SECONDS"
fact nproc "$(nproc)"
fact redis_version "$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
fact source "commit-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -z "$(git status --porcelain 2>/dev/null)" ] || echo -with-uncommitted-changes)"

# Redis and the four nodes on CPU 0, every bench process on CPU 1 (as make bench's cluster rows).
if [ "$PIN" = 1 ]; then SERVER_CPU=(taskset -c 0) BENCH_CPU=(taskset -c 1); else SERVER_CPU=() BENCH_CPU=(); fi
fact pinned "$PIN"
REDIS_PORT=$(free_port 9590)
"${SERVER_CPU[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT" \
    --logfile "$OUT/redis.log" --daemonize no &
redis=$!
started+=("$redis")
for _ in $(seq 100); do rcli PING >/dev/null 2>&1 && break; sleep 0.05; done
rcli PING >/dev/null || { echo "scale: redis-server did not start" >&2; exit 1; }

NODES="a b c d"
declare -A port pid
next=9500
for n in $NODES; do
    port[$n]=$(free_port "$next")
    next=$((port[$n] + 1))
    mkdir -p "$OUT/state-$n"
    "${SERVER_CPU[@]}" "$BIN/tether" --host 127.0.0.1 --port "${port[$n]}" --cluster "redis://127.0.0.1:$REDIS_PORT" \
        --presence watchers --cluster-lease-seconds "$LEASE" --limit-exempt 127.0.0.0/8 --state-dir "$OUT/state-$n" \
        >"$OUT/node-$n.log" 2>&1 &
    pid[$n]=$!
    started+=("${pid[$n]}")
done
for n in $NODES; do
    for _ in $(seq 100); do curl -fs --max-time 1 "http://127.0.0.1:${port[$n]}/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fs --max-time 1 "http://127.0.0.1:${port[$n]}/readyz" >/dev/null || { echo "scale: node $n not ready" >&2; tail -n 5 "$OUT/node-$n.log" >&2; exit 1; }
    fact "port_$n" "${port[$n]}"
done
say "redis on $REDIS_PORT, nodes a-d on ${port[a]} ${port[b]} ${port[c]} ${port[d]}"
memory idle

# A second a sample: Redis commands and memory, live nodes, routed counters (bounded: 20 minutes).
(
    for _ in $(seq 1200); do
        [ -e "$OUT/stop" ] && break
        echo "$(date +%s.%N) $(info_field stats total_commands_processed) $(info_field memory used_memory) $(rcli SCARD tether:nodes) $(metric "${port[a]}" tether_cluster_routed_out_total) $(metric "${port[b]}" tether_cluster_routed_in_total)" >>"$OUT/samples"
        sleep 1
    done
) &
started+=($!)

# The idle devices: one bench process per node, each from every source address.
snapshot connect0
connect_benches=()
for n in $NODES; do
    timeout 1500 "${BENCH_CPU[@]}" "$BIN/tether-bench" connect --conns "$DEVICES" --hold 1200 --timeout 300 --stop-file "$OUT/stop" \
        --id-prefix "n$n-" --port "${port[$n]}" --server-pid "${pid[$n]}" --src-ips "$SRC_IPS" --json "$OUT/connect-$n.json" \
        >"$OUT/connect-$n.log" 2>&1 &
    started+=($!)
    connect_benches+=($!)
done
connect_start=$(date +%s.%N)
for i in $(seq 600); do
    done_nodes=0 counts=""
    for n in $NODES; do
        count=$(metric "${port[$n]}" tether_devices)
        counts="$counts $n=${count:-?}"
        [ "${count:-0}" = "$DEVICES" ] && done_nodes=$((done_nodes + 1))
    done
    [ "$done_nodes" = 4 ] && break
    [ $((i % 20)) = 0 ] && say "devices:$counts"
    sleep 0.5
done
[ "$done_nodes" = 4 ] || { echo "scale: the idle devices did not all connect:$counts" >&2; exit 1; }
fact connect_seconds "$(echo "$(date +%s.%N) - $connect_start" | bc)"
sleep 3
snapshot connect1
memory loaded
say "$((4 * DEVICES)) idle devices connected; $IDLE_SECONDS s of Redis commands with no traffic"
snapshot idle0
sleep "$IDLE_SECONDS"
snapshot idle1

# The watchers: on A, B and D, each of node C's GONE devices watched once per node, and STEADY
# devices of each surviving node watched too (these must get no offline).
seq 0 $((GONE - 1)) | sed 's/^/nc-c-/' >"$OUT/gone-ids"
for n in a b d; do seq 0 $((STEADY - 1)) | sed "s/^/n$n-c-/"; done >"$OUT/steady-ids"
timeout 600 "${BENCH_CPU[@]}" "$BIN/tether-bench" watch --watchers "$WATCHERS" --ports "${port[a]},${port[b]},${port[d]}" \
    --gone-ids "$OUT/gone-ids" --steady-ids "$OUT/steady-ids" --seconds $((KILL_AT + ROUTE_SECONDS + 240)) --settle 5 \
    --ready-file "$OUT/watch-ready" --id-prefix wt- --src-ips "$SRC_IPS" --json "$OUT/watch.json" >"$OUT/watch.log" 2>&1 &
watch_bench=$!
started+=("$watch_bench")
for _ in $(seq 600); do [ -e "$OUT/watch-ready" ] && break; kill -0 "$watch_bench" 2>/dev/null || break; sleep 0.1; done
[ -e "$OUT/watch-ready" ] || { echo "scale: the watchers did not get ready" >&2; cat "$OUT/watch.log" >&2; exit 1; }
say "watchers ready; routing $PAIRS pairs at $RATE msg/s for $ROUTE_SECONDS s, node C killed at $KILL_AT s"

timeout $((ROUTE_SECONDS + 300)) "${BENCH_CPU[@]}" "$BIN/tether-bench" route --pairs "$PAIRS" --rate "$RATE" --seconds "$ROUTE_SECONDS" \
    --port "${port[a]}" --port-b "${port[b]}" --id-prefix r- --server-pid "${pid[a]}" --extra-pid "node_b=${pid[b]}" \
    --extra-pid "redis=$redis" --src-ips "$SRC_IPS" --json "$OUT/route.json" >"$OUT/route.log" 2>&1 &
route_bench=$!
started+=("$route_bench")
for _ in $(seq 1200); do
    [ "$(metric "${port[a]}" tether_cluster_routed_out_total)" -gt 0 ] 2>/dev/null && break
    kill -0 "$route_bench" 2>/dev/null || break
    sleep 0.05
done
route_start=$(date +%s.%N)
fact route_start "$route_start"
until_route() { sleep "$(echo "$route_start + $1 - $(date +%s.%N)" | bc | sed 's/^-.*/0/')"; }
until_route "$OPS_FROM"
snapshot route0
until_route $((OPS_FROM + OPS_SECONDS))
snapshot route1
memory routing
until_route "$KILL_AT"
kill -9 "${pid[c]}"
fact kill_time "$(date +%s.%N)"
wait "${pid[c]}" 2>/dev/null || true
say "node C killed (kill -9)"

wait "$route_bench" || say "the route bench ended with status $?"
wait "$watch_bench" || say "the watch bench ended with status $?"
say "route and watch benches done"
memory after
fact redis_nodes_after "$(rcli SCARD tether:nodes)"
fact redis_device_keys_after "$(rcli --scan --pattern 'tether:dev:*' | wc -l)"
fact expected_device_keys_after "$((3 * DEVICES))"   # the routing devices and watchers have left
for n in a b d; do
    if kill -0 "${pid[$n]}" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/${pid[$n]}/stat")" != Z ]; then
        fact "alive_$n" yes
    else
        fact "alive_$n" no
    fi
done
touch "$OUT/stop"   # the connect benches end their hold and report
# Warnings and errors in the nodes' logs, but the two every cluster node logs at start.
for n in $NODES; do
    awk '$2 == "warning" || $2 == "error" || $2 == "critical"' "$OUT/node-$n.log" \
        | grep -v -e "--auth open" -e "cluster link up" >"$OUT/node-$n.warnings" || true
done
for _ in $(seq 600); do
    alive=0
    for bench in "${connect_benches[@]}"; do kill -0 "$bench" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
done

COMMAND="SCALE_DEVICES=$DEVICES SCALE_PAIRS=$PAIRS SCALE_RATE=$RATE SCALE_SECONDS=$ROUTE_SECONDS SCALE_KILL_AT=$KILL_AT SCALE_GONE=$GONE SCALE_STEADY=$STEADY SCALE_WATCHERS=$WATCHERS SCALE_LEASE=$LEASE SCALE_PIN=$PIN make scale"
python3 scripts/scale_report.py "$OUT" "$REPORT" "$COMMAND"
say "wrote $REPORT"
