// The shard view of one replica: the shards of one process around a ring, the partitions of a topic placed on
// them by the core's own router (routePartition from this page's core.wasm, the function the server routes
// with), and frames crossing the inter-shard rings. The simulator runs the metadata group only, so the traffic
// here is illustrative: each op the cluster commits for client c, request n is sent as a frame from the shard
// that accepted c's connection (c mod shards) to the owner of partition (c + n) mod partitions.
import { Router, type RouterExports } from '../../shared/router.js';
import { instantiateVsr } from '../../shared/vsr-abi.js';
import type { VizRun } from './viz-run.js';

export const STREAM = 1;
export const TOPIC = 1;
export const PARTITIONS = 16;
const FRAME_TICKS = 8;

export class ShardMap {
  readonly owners: number[];

  constructor(module: WebAssembly.Module, readonly shards: number) {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    // A bare instance (no bindings): the router's exports take and return plain i32s, as the bindings' do.
    const router = new Router(instantiateVsr(module, memory) as unknown as RouterExports, shards);
    this.owners = Array.from({ length: PARTITIONS }, (_, p) => router.partition(STREAM, TOPIC, p));
    const bad = this.owners.find((s) => s < 0 || s >= shards);
    if (bad !== undefined) throw new Error(`routePartition returned ${bad} for ${shards} shards`);
  }
}

export function drawShards(ctx: CanvasRenderingContext2D, run: VizRun, map: ShardMap, subTick: number): void {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  const cx = width / 2;
  const cy = height / 2 + 6;
  const radius = Math.min(width, height) * 0.33;
  const at = (s: number) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * s) / map.shards;
    return { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
  };
  ctx.strokeStyle = '#30363d';
  for (let a = 0; a < map.shards; a++) {
    for (let b = a + 1; b < map.shards; b++) {
      ctx.beginPath(); ctx.moveTo(at(a).x, at(a).y); ctx.lineTo(at(b).x, at(b).y); ctx.stroke();
    }
  }
  const now = run.sim.now - 1 + subTick;
  for (const mark of run.firstCommits) {
    if (mark.client === 0 || now - mark.tick > FRAME_TICKS || now < mark.tick) continue;
    const from = at((mark.client - 1) % map.shards);
    const owner = map.owners[(mark.client + mark.request) % PARTITIONS];
    const to = at(owner);
    const t = (now - mark.tick) / FRAME_TICKS;
    ctx.fillStyle = `hsl(${(mark.op * 47) % 360} 70% 65%)`;
    ctx.beginPath();
    ctx.arc(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.font = '11px ui-monospace, monospace';
  ctx.textAlign = 'center';
  for (let s = 0; s < map.shards; s++) {
    const p = at(s);
    ctx.fillStyle = '#161b22';
    ctx.strokeStyle = '#8b949e';
    ctx.fillRect(p.x - 46, p.y - 22, 92, 44);
    ctx.strokeRect(p.x - 46, p.y - 22, 92, 44);
    ctx.fillStyle = '#c9d1d9';
    ctx.fillText(`shard ${s}`, p.x, p.y - 8);
    const owned = map.owners.flatMap((owner, partition) => owner === s ? [partition] : []);
    ctx.fillStyle = '#7ee787';
    ctx.fillText(owned.length ? `p ${owned.join(' ')}` : '(none)', p.x, p.y + 10);
  }
  ctx.fillStyle = '#8b949e';
  ctx.textAlign = 'left';
  ctx.fillText(`stream ${STREAM} topic ${TOPIC}: ${PARTITIONS} partitions on ${map.shards} shards (routePartition)`, 6, 12);
}
