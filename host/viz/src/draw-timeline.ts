// Per-replica timeline of the last HISTORY_TICKS ticks: a band coloured by the replica's role at each tick
// (down, view change, recovering show as gaps and colour changes) and a mark for every op it committed, so
// replicas that fall behind and catch up (repair) are visible as bursts of marks.
import { ROLE_COLOURS } from './palette.js';
import { HISTORY_TICKS, type VizRun } from './viz-run.js';

export function drawTimeline(ctx: CanvasRenderingContext2D, run: VizRun): void {
  const { width, height } = ctx.canvas;
  const sim = run.sim;
  ctx.clearRect(0, 0, width, height);
  const labelWidth = 150;
  const plot = width - labelWidth - 10;
  const rows = sim.replicas.length;
  const rowHeight = Math.min(34, (height - 16) / rows);
  const start = sim.now - HISTORY_TICKS;
  const x = (tick: number): number => labelWidth + ((tick - start) / HISTORY_TICKS) * plot;
  ctx.font = '11px ui-monospace, monospace';
  ctx.textAlign = 'left';
  for (const node of sim.replicas) {
    const y = 4 + node.index * rowHeight;
    ctx.fillStyle = '#c9d1d9';
    const last = run.marks[node.index].at(-1);
    ctx.fillText(`r${node.index} committed ${last ? last.op : 0}`, 4, y + rowHeight / 2 + 4);
    const history = run.roleHistory[node.index];
    const first = sim.now - history.length;
    for (let i = Math.max(0, history.length - HISTORY_TICKS); i < history.length; i++) {
      ctx.fillStyle = ROLE_COLOURS[history[i]];
      ctx.globalAlpha = 0.35;
      ctx.fillRect(x(first + i), y + 2, plot / HISTORY_TICKS + 0.5, rowHeight - 6);
    }
    ctx.globalAlpha = 1;
    for (const mark of run.marks[node.index]) {
      if (mark.tick < start) continue;
      ctx.fillStyle = `hsl(${(mark.op * 47) % 360} 70% 65%)`;
      ctx.fillRect(x(mark.tick), y + 4, 2, rowHeight - 10);
    }
  }
  ctx.fillStyle = '#8b949e';
  ctx.fillText(`ticks ${Math.max(0, start)}..${sim.now}`, labelWidth, height - 2);
}
