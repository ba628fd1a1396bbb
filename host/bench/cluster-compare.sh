#!/usr/bin/env bash
# The same bench:protocol workload against a single node and against a 3-replica cluster (2 shards each, on this
# machine), one after the other in one run: send throughput ratio and per-batch latency. Batches stay under the
# 1 MiB a replica prepare carries (REPLICA_ATTACHMENT_MAX). Each phase also prints every server's CPU per MB by
# thread (--cpu-pids; r0 is the first primary). Usage: host/bench/cluster-compare.sh [bench:protocol flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
WORKLOAD=(--producers 2 --batches 100 --messages 500 --size 1000 "$@")
node host/tools/build.mjs all --if-needed >/dev/null
BASE=$((20000 + RANDOM % 20000))
TMP=$(mktemp -d /tmp/shardlog-cluster-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
ready() { for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done; echo "node on http port $1 never became ready" >&2; exit 1; }

echo "== single node (2 shards)"
node host/bin/shardlog-server.mjs --shards 2 --pin-cores false --data-dir "$TMP/single" --tcp-address "127.0.0.1:$BASE" \
  --http-address "127.0.0.1:$((BASE + 1))" --log-level warn & PIDS+=($!)
ready $((BASE + 1))
node --no-liftoff dist/host/bench/protocol-bench.js --address "127.0.0.1:$BASE" --cpu-pids "single=${PIDS[0]}" "${WORKLOAD[@]}"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true

echo "== 3-replica cluster (${CLUSTER_SHARDS:-2} shard(s) each, --durability ${DURABILITY:-persisted})"
R=""
for i in 0 1 2; do R+="${R:+,}$i=127.0.0.1:$((BASE + 10 + i))/$((BASE + 20 + i))/$((BASE + 30 + i))"; done
for i in 0 1 2; do
  SHARDLOG_CLUSTER_SECRET=cluster-compare-bench-secret-0123456789 node host/bin/shardlog-server.mjs --replica-id "$i" --cluster "$R" --shards "${CLUSTER_SHARDS:-2}" --pin-cores false \
    --data-dir "$TMP/r$i" --durability "${DURABILITY:-persisted}" --log-level warn & PIDS+=($!)
done
for i in 0 1 2; do ready $((BASE + 30 + i)); done
# A new cluster creates its root user once it has formed: wait for a login (bounded), not only for /health.
node --input-type=module -e "
  const { IggyClient } = await import('./dist/host/client/client.js');
  for (let i = 0; ; i++) {
    try { await (await IggyClient.connect({ address: '127.0.0.1:$((BASE + 10))', username: 'iggy', password: 'iggy' })).close(); break; }
    catch (e) { if (i >= 100) { console.error('the cluster never accepted a login: ' + e.message); process.exit(1); } await new Promise((r) => setTimeout(r, 200)); }
  }"
node --no-liftoff dist/host/bench/protocol-bench.js --address "127.0.0.1:$((BASE + 10))" --cpu-pids "r0=${PIDS[1]},r1=${PIDS[2]},r2=${PIDS[3]}" "${WORKLOAD[@]}"
