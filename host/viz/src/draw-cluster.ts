// The cluster view: replicas on a circle (colour = role; view, op, commit and journal fill written on them),
// clients along the bottom, and every packet in flight as a moving arrow coloured by its command. Lost packets
// flash as a red cross at the sender; packets cut by a partition as a grey one.
import { COMMAND_COLOURS, ROLE_COLOURS } from './palette.js';
import type { VizRun } from './viz-run.js';

export interface Point { x: number; y: number }

export function replicaPositions(width: number, height: number, replicas: number): Point[] {
  const cx = width / 2;
  const cy = height * 0.42;
  const radius = Math.min(width, height) * 0.3;
  return Array.from({ length: replicas }, (_, r) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * r) / replicas;
    return { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
  });
}

function clientPositions(width: number, height: number, clients: number): Point[] {
  const step = Math.min(40, (width - 40) / Math.max(1, clients));
  const left = width / 2 - (step * (clients - 1)) / 2;
  return Array.from({ length: clients }, (_, c) => ({ x: left + c * step, y: height - 22 }));
}

export const NODE_RADIUS = 56;

export function drawCluster(ctx: CanvasRenderingContext2D, run: VizRun, subTick: number, selected: Set<number>): void {
  const { width, height } = ctx.canvas;
  const sim = run.sim;
  ctx.clearRect(0, 0, width, height);
  const replicas = replicaPositions(width, height, sim.replicas.length);
  const clients = clientPositions(width, height, sim.clients.length);
  const at = (address: number): Point => address < replicas.length ? replicas[address] : clients[address - replicas.length] ?? { x: width / 2, y: height };
  const now = sim.now - 1 + subTick; // the tick just run, plus the fraction of the next one elapsed

  // Partition: cut links as dashed red lines under everything else.
  const cut = sim.network.cutLinks;
  const n = replicas.length;
  ctx.setLineDash([6, 6]);
  ctx.strokeStyle = 'rgba(248,81,73,0.55)';
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      if (!cut[a * n + b] && !cut[b * n + a]) continue;
      ctx.beginPath(); ctx.moveTo(replicas[a].x, replicas[a].y); ctx.lineTo(replicas[b].x, replicas[b].y); ctx.stroke();
    }
  }
  ctx.setLineDash([]);

  for (const f of run.flights) {
    const from = at(f.from);
    const to = at(f.to);
    if (f.lost) {
      if (now - f.sentAt > 2) continue;
      const x = from.x + (to.x - from.x) * 0.25;
      const y = from.y + (to.y - from.y) * 0.25;
      ctx.strokeStyle = `rgba(248,81,73,${1 - (now - f.sentAt) / 2})`;
      ctx.beginPath(); ctx.moveTo(x - 4, y - 4); ctx.lineTo(x + 4, y + 4); ctx.moveTo(x + 4, y - 4); ctx.lineTo(x - 4, y + 4); ctx.stroke();
      continue;
    }
    const span = Math.max(1, f.at - f.sentAt);
    const t = (now - f.sentAt) / span;
    if (t < 0 || t > 1) continue;
    arrow(ctx, from, to, t, COMMAND_COLOURS[f.command] ?? '#ffffff');
  }

  for (let c = 0; c < clients.length; c++) {
    const p = clients[c];
    const client = sim.clients[c];
    ctx.fillStyle = client.outstanding ? '#8fa3b8' : '#30363d';
    ctx.fillRect(p.x - 9, p.y - 9, 18, 18);
    ctx.fillStyle = '#c9d1d9';
    ctx.font = '9px ui-monospace, monospace';
    ctx.textAlign = 'center';
    ctx.fillText(`c${client.id}`, p.x, p.y + 3);
  }

  const newestView = run.maxView();
  for (const node of sim.replicas) {
    const p = replicas[node.index];
    const role = run.role(node.index);
    // A primary cut off from a newer view still believes it leads: say so (it can no longer commit).
    const stale = role === 'primary' && node.viewNumber() < newestView;
    ctx.beginPath();
    ctx.arc(p.x, p.y, NODE_RADIUS, 0, 2 * Math.PI);
    ctx.fillStyle = ROLE_COLOURS[role];
    ctx.fill();
    ctx.lineWidth = selected.has(node.index) ? 4 : 1.5;
    ctx.strokeStyle = selected.has(node.index) ? '#f85149' : '#0d1117';
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = '#0d1117';
    ctx.textAlign = 'center';
    ctx.font = "bold 12px ui-monospace, monospace";
    ctx.fillText(`r${node.index} ${role}`, p.x, p.y - 14);
    if (stale) ctx.fillText('(stale)', p.x, p.y - 30);
    ctx.font = '11px ui-monospace, monospace';
    if (node.alive) {
      ctx.fillText(`view ${node.viewNumber()}`, p.x, p.y + 1);
      ctx.fillText(`op ${node.op()} c ${node.commitMin()}`, p.x, p.y + 15);
    } else {
      ctx.fillText(node.restartAt >= 0 ? `back at ${node.restartAt}` : 'crashed', p.x, p.y + 8);
    }
    // Journal fill: prepares on disk over the log window.
    const fill = Math.min(1, node.disk.journal.size / sim.options.slots);
    ctx.fillStyle = '#21262d';
    ctx.fillRect(p.x - 34, p.y + 26, 68, 6);
    ctx.fillStyle = '#7ee787';
    ctx.fillRect(p.x - 34, p.y + 26, 68 * fill, 6);
  }
}

// A comet from `from` towards `to`, its head at fraction t of the way (edges start and end at the node rims).
function arrow(ctx: CanvasRenderingContext2D, from: Point, to: Point, t: number, colour: string): void {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const length = Math.hypot(dx, dy) || 1;
  const ux = dx / length;
  const uy = dy / length;
  const start = NODE_RADIUS;
  const travel = Math.max(0, length - 2 * NODE_RADIUS);
  const head = start + travel * t;
  const tail = Math.max(start, head - 26);
  const hx = from.x + ux * head;
  const hy = from.y + uy * head;
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(from.x + ux * tail, from.y + uy * tail);
  ctx.lineTo(hx, hy);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(hx, hy);
  ctx.lineTo(hx - ux * 8 - uy * 4, hy - uy * 8 + ux * 4);
  ctx.lineTo(hx - ux * 8 + uy * 4, hy - uy * 8 - ux * 4);
  ctx.closePath();
  ctx.fill();
  ctx.lineWidth = 1;
}
