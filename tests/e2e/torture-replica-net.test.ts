// The cluster torture's network (host/torture/replica-net.ts) on real namespaces: a replica's address is reached
// from the root namespace and from a peer; a cut of that link stops the peer's packets but not the clients'; the
// heal brings the link back; close removes everything, and a run's leftovers whose process died are removed by the
// next run. Skipped, saying why, where namespaces cannot be made (not root).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ReplicaNet } from '../../host/torture/replica-net.js';

const PORT = 7_411;
const made = ReplicaNet.create(3);
const skip = typeof made === 'string' ? made : false;

// One connection attempt from replica `from`'s namespace to `address`, bounded: 'hi' (the listener's greeting) or
// the error's name.
function dialFrom(rn: ReplicaNet, from: number, address: string): string {
  const script = `const s=require('net').connect(${PORT},'${address}');s.setTimeout(700,()=>{console.log('timeout');process.exit()});`
    + `s.on('data',(d)=>{console.log(String(d));process.exit()});s.on('error',(e)=>{console.log(e.code);process.exit()})`;
  const run = spawnSync(rn.exec(from)[0], [...rn.exec(from).slice(1), process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 });
  return run.stdout.trim();
}

function dialFromRoot(address: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(PORT, address);
    s.setTimeout(2_000, () => { s.destroy(); resolve('timeout'); });
    s.on('data', (d) => { s.destroy(); resolve(String(d)); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const namespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

describe('torture replica network (namespaces, link cuts)', { skip }, () => {
  const rn = made as ReplicaNet;
  let listener: ReturnType<typeof spawn>;

  before(async () => {
    // A greeter in replica 1's namespace, on its address.
    const script = `require('net').createServer((s)=>s.end('hi')).listen(${PORT},'${rn.addresses[1]}',()=>console.log('up'))`;
    listener = spawn(rn.exec(1)[0], [...rn.exec(1).slice(1), process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener.stdout!.once('data', () => resolve());
      listener.once('exit', (code) => reject(new Error(`the greeter exited (${code})`)));
    });
  });

  after(() => {
    listener?.kill('SIGKILL');
    rn.close();
  });

  it('a link cut stops that pair only; the heal brings it back', async () => {
    assert.equal(dialFrom(rn, 0, rn.addresses[1]), 'hi');
    rn.cut(0, 1);
    assert.deepEqual(rn.cutLinks, ['0-1']);
    assert.notEqual(dialFrom(rn, 0, rn.addresses[1]), 'hi', 'replica 0 still reached replica 1 across the cut');
    assert.equal(dialFrom(rn, 2, rn.addresses[1]), 'hi', 'the third replica lost replica 1 too');
    assert.equal(await dialFromRoot(rn.addresses[1]), 'hi', 'clients in the root namespace lost replica 1');
    rn.healAll();
    assert.deepEqual(rn.cutLinks, []);
    assert.equal(dialFrom(rn, 0, rn.addresses[1]), 'hi');
  });

  it('close removes the namespaces; the next run removes those of a run whose process died', () => {
    listener.kill('SIGKILL');
    rn.close();
    for (let i = 0; i < 3; i++) assert.ok(!namespaces().includes(`shardlog-${process.pid}-r${i}`), namespaces());
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid no process holds any more
    const stale = `shardlog-${dead}-r0`;
    assert.equal(spawnSync('ip', ['netns', 'add', stale]).status, 0);
    const next = ReplicaNet.create(3);
    try {
      assert.ok(typeof next !== 'string', String(next));
      assert.ok(!namespaces().includes(stale), `${stale} is still there`);
    } finally {
      if (typeof next !== 'string') next.close();
      spawnSync('ip', ['netns', 'del', stale]);
    }
  });
});
