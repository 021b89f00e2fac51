#!/usr/bin/env bash
# `make cluster`: a local redis-server (nothing saved) and NODES Tether processes sharing PORT with
# --reuse-port (the kernel spreads new connections over them), one fleet through Redis. Ctrl-C (or
# any node exiting) stops everything: the nodes drain first (1001), then Redis.
#   NODES=3 PORT=8080 REDIS_PORT=6379 scripts/cluster.sh [more tether options...]
set -euo pipefail
cd "$(dirname "$0")/.."
NODES="${NODES:-3}"
PORT="${PORT:-8080}"
REDIS_PORT="${REDIS_PORT:-6379}"
BIN="${BIN:-$(swift build -c release --show-bin-path)}"

command -v redis-server >/dev/null || { echo "cluster: needs redis-server (Debian package redis-server)" >&2; exit 1; }
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "cluster: something already answers on 127.0.0.1:$REDIS_PORT; set REDIS_PORT to a free port" >&2
    exit 1
fi

data="$(mktemp -d)"
nodes=()
redis=
stop() {
    trap - INT TERM EXIT
    if [ ${#nodes[@]} -gt 0 ]; then
        kill -TERM "${nodes[@]}" 2>/dev/null || true
        wait "${nodes[@]}" 2>/dev/null || true
    fi
    if [ -n "$redis" ]; then kill -TERM "$redis" 2>/dev/null || true; wait "$redis" 2>/dev/null || true; fi
    rm -rf "$data"
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# setsid: the terminal's Ctrl-C reaches only this script, which stops the nodes (one drain each) and then Redis.
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$data" \
    --logfile "$data/redis.log" --daemonize no &
redis=$!
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "cluster: redis-server did not start" >&2; cat "$data/redis.log" >&2; exit 1; }

for i in $(seq "$NODES"); do
    # Each node its own state directory: a state directory belongs to one process.
    setsid "$BIN/tether" --port "$PORT" --reuse-port --cluster "redis://127.0.0.1:$REDIS_PORT" --state-dir "$data/node-$i" "$@" \
        > >(sed -u "s/^/[node $i] /") 2>&1 &
    nodes+=($!)
done
echo "cluster: $NODES nodes on port $PORT (--reuse-port), Redis on 127.0.0.1:$REDIS_PORT; Ctrl-C stops them" >&2
status=0
wait -n "${nodes[@]}" || status=$?
echo "cluster: a node exited ($status); stopping the others" >&2
exit "$status"
