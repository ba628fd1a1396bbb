// The cluster torture's network, for link cuts: each replica runs in a network namespace of its own
// (`shardlog-<pid>-r<i>`, entered with `ip netns exec`, which execs in place: the pid stays the server's, so
// SIGKILL/SIGSTOP still reach it) with one address on a bridge of the run's own in the root namespace, where the
// workload and the /health probes reach every replica. The roster names those addresses, so each replica listens
// on its own entry's ports and dials its peers' as usual; the server is not changed.
// A cut of link A-B is a blackhole route to B's address inside A's namespace and to A's inside B's: the packets
// of that pair vanish as on a real partition (no RST, no refusal: an open connection stalls, a new dial gets
// nowhere), while both still talk to the root namespace (clients) and to the third replica. Healing deletes the
// routes. A replica cut from both peers is isolated.
// The addresses come from 198.18.0.0/15 (RFC 2544's range for benchmark networks), one /24 per run, claimed by an
// atomic mkdir (two runs at once never share one); nothing routes out of the bridge. Everything made is removed
// at the end, on failure and at process exit; namespaces, bridges and claims left by a run whose process died are
// removed by the next run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const NS_NAME = /^shardlog-(\d+)-r\d+$/;
const BRIDGE_NAME = /^slb(\d+)$/;
const CLAIM_NAME = /^shardlog-netns-(\d+)$/;
const SUBNETS = 512; // the /24s of 198.18.0.0/15

export class NetError extends Error {
  constructor(message: string) { super(message); this.name = 'NetError'; }
}

function ip(args: string[]): void {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new NetError(`ip ${args.join(' ')}: ${(run.stderr || run.error?.message || `exit ${run.status}`).trim()}`);
}

function ipLines(args: string[]): string[] {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.split('\n').filter((l) => l.trim() !== '') : [];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ReplicaNet {
  private readonly cuts = new Set<string>(); // "a-b" with a < b
  private closed = false;
  private readonly onExit = () => this.close();

  private constructor(readonly addresses: string[], private readonly namespaces: string[], private readonly bridge: string, private readonly claim: string) {
    process.once('exit', this.onExit);
  }

  // Makes the namespaces, the bridge and the addresses for `replicas` replicas. Returns why it could not (one
  // line: not root, no `ip`, a kernel without namespaces), with nothing left behind.
  static create(replicas: number): ReplicaNet | string {
    removeStale();
    const pid = process.pid;
    const bridge = `slb${pid}`;
    const namespaces = Array.from({ length: replicas }, (_, i) => `shardlog-${pid}-r${i}`);
    const made: { namespaces: string[]; bridge: boolean } = { namespaces: [], bridge: false };
    let claim: string | null = null;
    try {
      const subnet = claimSubnet(pid);
      claim = subnet.claim;
      ip(['link', 'add', bridge, 'type', 'bridge']);
      made.bridge = true;
      ip(['addr', 'add', `${subnet.prefix}.1/24`, 'dev', bridge]);
      ip(['link', 'set', bridge, 'up']);
      const addresses: string[] = [];
      for (const [i, ns] of namespaces.entries()) {
        const outside = `slv${pid}r${i}`;
        const address = `${subnet.prefix}.${10 + i}`;
        ip(['netns', 'add', ns]);
        made.namespaces.push(ns);
        ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        ip(['link', 'set', outside, 'master', bridge]);
        ip(['link', 'set', outside, 'up']);
        ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
        ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
        addresses.push(address);
      }
      return new ReplicaNet(addresses, namespaces, bridge, claim);
    } catch (error) {
      for (const ns of made.namespaces) spawnSync('ip', ['netns', 'del', ns]);
      if (made.bridge) spawnSync('ip', ['link', 'del', bridge]);
      if (claim !== null) fs.rmSync(claim, { recursive: true, force: true });
      return `no network namespaces for link cuts (${error instanceof Error ? error.message : String(error)})`;
    }
  }

  // The command prefix that runs a program inside replica i's namespace.
  exec(replica: number): string[] { return ['ip', 'netns', 'exec', this.namespaces[replica]]; }

  cut(a: number, b: number): void {
    const link = linkName(a, b);
    if (this.cuts.has(link)) return;
    ip(['-n', this.namespaces[a], 'route', 'add', 'blackhole', `${this.addresses[b]}/32`]);
    ip(['-n', this.namespaces[b], 'route', 'add', 'blackhole', `${this.addresses[a]}/32`]);
    this.cuts.add(link);
  }

  heal(a: number, b: number): void {
    const link = linkName(a, b);
    if (!this.cuts.delete(link)) return;
    ip(['-n', this.namespaces[a], 'route', 'del', 'blackhole', `${this.addresses[b]}/32`]);
    ip(['-n', this.namespaces[b], 'route', 'del', 'blackhole', `${this.addresses[a]}/32`]);
  }

  healAll(): void {
    for (const link of [...this.cuts]) {
      const [a, b] = link.split('-').map(Number);
      this.heal(a, b);
    }
  }

  get cutLinks(): string[] { return [...this.cuts]; }

  // Removes the namespaces (their veth ends go with them), the bridge and the claim. Safe to call twice.
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.onExit);
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', this.bridge]);
    fs.rmSync(this.claim, { recursive: true, force: true });
  }
}

const linkName = (a: number, b: number) => (a < b ? `${a}-${b}` : `${b}-${a}`);

// A /24 of 198.18.0.0/15 no other run holds (an atomic mkdir of its claim, holding our pid) and no interface of
// this machine has an address in.
function claimSubnet(pid: number): { prefix: string; claim: string } {
  const inUse = ipLines(['-4', '-o', 'addr', 'show']).join('\n');
  for (let k = 0; k < SUBNETS; k++) {
    const index = (pid + k) % SUBNETS;
    const prefix = `198.${18 + (index >> 8)}.${index & 255}`;
    if (inUse.includes(` ${prefix}.`)) continue;
    const claim = path.join(os.tmpdir(), `shardlog-netns-${index}`);
    try {
      fs.mkdirSync(claim);
    } catch {
      continue;
    }
    fs.writeFileSync(path.join(claim, 'pid'), String(pid));
    return { prefix, claim };
  }
  throw new NetError('every /24 of 198.18.0.0/15 is claimed by another run or in use');
}

// The namespaces, bridges and subnet claims of runs whose process is gone.
function removeStale(): void {
  for (const line of ipLines(['netns', 'list'])) {
    const name = line.split(' ')[0];
    const m = name.match(NS_NAME);
    if (m && !alive(Number(m[1]))) spawnSync('ip', ['netns', 'del', name]);
  }
  for (const line of ipLines(['-o', 'link', 'show', 'type', 'bridge'])) {
    const name = line.split(':')[1]?.trim().split('@')[0] ?? '';
    const m = name.match(BRIDGE_NAME);
    if (m && !alive(Number(m[1]))) spawnSync('ip', ['link', 'del', name]);
  }
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!CLAIM_NAME.test(entry)) continue;
    const claim = path.join(os.tmpdir(), entry);
    let owner = 0;
    try { owner = Number(fs.readFileSync(path.join(claim, 'pid'), 'utf8')); } catch { /* a claim being made, or torn */ }
    if (owner > 0 && !alive(owner)) fs.rmSync(claim, { recursive: true, force: true });
  }
}
