// `npm run bench --target nats|redis`: the peer servers the tool starts itself (Debian nats-server and
// redis-server). Skipped when a server is not installed, unless SHARDLOG_REQUIRE_BENCH_PEERS is set (.ci/run
// installs both and sets it, so CI runs these). No speed is asserted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findBinary } from '../../host/bench/suite/server-process.js';
import { runTiny } from './helpers/bench.js';

const PEERS = [
  { target: 'nats', binary: 'nats-server', durability: /file store/ },
  { target: 'redis', binary: 'redis-server', durability: /appendfsync always/ },
];

for (const peer of PEERS) {
  const installed = findBinary(peer.binary) !== null;
  if (!installed && process.env.SHARDLOG_REQUIRE_BENCH_PEERS) throw new Error(`SHARDLOG_REQUIRE_BENCH_PEERS is set but ${peer.binary} is not installed`);
  describe(`npm run bench --target ${peer.target}`, { skip: installed ? false : `${peer.binary} not installed (apt-get install ${peer.binary}; .ci/run does)` }, () => {
    // Reading by cursor is covered by end-to-end (send, then read back), reading through a group by the group kind.
    for (const kind of ['pinned-producer', 'balanced-consumer-group', 'end-to-end-producing-consumer']) {
      it(`${kind}: a tiny run moves all its data and states the durability it ran with`, async () => {
        const rows = await runTiny(kind, peer.target);
        assert.equal(rows.length, 1);
        const [r] = rows;
        assert.equal(r.target, peer.target);
        assert.equal(r.bytes, 2e6);
        assert.ok(r.mb_per_s > 0 && r.msg_per_s > 0);
        assert.match(r.durability_detail, peer.durability);
      });
    }
  });
}
