// Child process of consensus-kill.test.ts: opens the metadata log in `dir`, registers a fresh client and proposes
// in a loop (a few proposals per event-loop turn), printing `ack <op> <run> <n>` for every acknowledged one,
// until it is SIGKILLed. Body of proposal n of run r: requestBody(r * 100000 + n). Bounded: stops by itself.
import { MetadataLog } from '../../host/node/consensus/metadata-log.js';
import { prng } from './helpers-prng.js';
import { shardCore } from './consensus-core.js';
import { ToyState, requestBody } from './consensus-state.js';

const [dir, runText] = process.argv.slice(2);
const run = Number(runText);
const random = prng(run * 7919 + 1);
const shard = await shardCore();
const log = await MetadataLog.open(dir, shard.core, shard.memory, shard.sc, new ToyState(), { slotCount: 64, clientsMax: 64, quiet: true });
const client = (BigInt(run + 1) << 64n) | 0xabcdefn;
const { status, session } = await log.register(client);
if (status !== 0) throw new Error(`register: status ${status}`);
process.stdout.write('ready\n');
const deadline = Date.now() + 15_000;
let n = 0;
while (Date.now() < deadline && n < 20_000) {
  const batch = [];
  for (let k = 1 + Math.floor(random() * 8); k > 0; k--) {
    n++;
    const mine = n;
    batch.push(log.propose({ client, session, request: BigInt(mine), operation: 130, body: requestBody(run * 100000 + mine), userId: run })
      .then((r) => {
        if (r.status !== 0) throw new Error(`proposal ${mine}: status ${r.status}`);
        process.stdout.write(`ack ${r.op} ${run} ${mine}\n`);
      }));
  }
  await Promise.all(batch);
}
log.close();
