// The three outputs of a run: the text table, the --json rows and the --report HTML page.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Latency, Throughput } from './accounting.js';
import type { RunResult } from './run.js';

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

export const LATENCY_COLUMNS: [keyof Latency, string][] = [['p50_ms', 'p50'], ['p90_ms', 'p90'], ['p99_ms', 'p99'], ['p999_ms', 'p999'], ['p9999_ms', 'p9999'], ['max_ms', 'max']];

function row(label: string, t: Throughput & Latency): string {
  return `${label.padEnd(22)}${f1(t.mb_per_s).padStart(10)}${Math.round(t.msg_per_s).toString().padStart(12)}${f2(t.seconds).padStart(9)}` +
    LATENCY_COLUMNS.map(([k]) => f2(t[k]).padStart(9)).join('');
}

export function table(r: RunResult): string {
  const s = r.settings;
  const lines = [
    `${r.target} ${r.kind}: ${r.version}`,
    `  durability ${r.durability}: ${r.durability_detail}`,
    `  ${s.streams} stream(s) × ${s.partitions} partition(s), ${s.batches_per_actor} batch(es) per actor of ${s.messagesPerBatch} × ${s.messageSize} B` +
      `${s.rateLimit ? `, rate limit ${f1(s.rateLimit / 1e6)} MB/s (latency from the intended send time)` : ''}`,
    '',
    `${''.padEnd(22)}${'MB/s'.padStart(10)}${'msg/s'.padStart(12)}${'s'.padStart(9)}${LATENCY_COLUMNS.map(([, l]) => `${l} ms`.padStart(9)).join('')}`,
  ];
  for (const g of r.groups) lines.push(row(`${g.role} (total)`, g));
  for (const a of r.actors) lines.push(row(`  ${a.role} ${a.index}`, a));
  const cpu = Object.entries(r.server_cpu).filter(([, c]) => c.user_s + c.sys_s >= 0.05)
    .map(([name, c]) => `${name} ${f2(c.user_s)}u+${f2(c.sys_s)}s`).join(', ');
  lines.push('', `  client cpu ${f2(r.client_cpu.user_s)}u+${f2(r.client_cpu.sys_s)}s${cpu ? `; server cpu by thread: ${cpu}` : ''}`);
  lines.push('  (MB/s counts payload bytes over the slowest actor\'s wall time; latency is per batch)');
  return lines.join('\n');
}

export interface JsonRow extends Throughput, Latency { target: string; kind: string; durability: string; role: string; durability_detail: string; version: string }

export function jsonRows(r: RunResult): JsonRow[] {
  return r.groups.map((g) => ({ target: r.target, kind: r.kind, durability: r.durability, durability_detail: r.durability_detail, version: r.version, ...g }));
}

const require = createRequire(import.meta.url);
const asset = (file: string): string => fs.readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));
// JSON inside <script>: "</script>" in a string must not end the element.
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

function keyValues(title: string, entries: [string, unknown][]): string {
  return `<h2>${escapeHtml(title)}</h2><table class="kv">${entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`).join('')}</table>`;
}

// A self-contained page: uPlot's JS and CSS inlined, the data inlined; it opens from disk with no network.
export function html(r: RunResult): string {
  const summary = r.groups.map((g) => `<tr><td>${g.role}</td><td>${f1(g.mb_per_s)}</td><td>${Math.round(g.msg_per_s)}</td>${LATENCY_COLUMNS.map(([k]) => `<td>${f2(g[k])}</td>`).join('')}</tr>`).join('');
  const settings = Object.entries(r.settings).map(([k, v]) => [k, v ?? '(default)'] as [string, unknown]);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(`${r.target} ${r.kind}`)}</title>
<style>${asset('uPlot.min.css')}
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:24px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}
.kv th{text-align:left}.kv td{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}</style></head><body>
<h1>${escapeHtml(`${r.target} · ${r.kind}`)}</h1>
<p>${escapeHtml(r.version)} — durability <b>${escapeHtml(r.durability)}</b>: ${escapeHtml(r.durability_detail)}</p>
<table><tr><th></th><th>MB/s</th><th>msg/s</th>${LATENCY_COLUMNS.map(([, l]) => `<th>${l} ms</th>`).join('')}</tr>${summary}</table>
<div class="charts"><div id="throughput"></div><div id="latency"></div></div>
${keyValues('Machine', Object.entries(r.machine))}
${keyValues('CPU over the measured phase (user + system seconds)', [
  ['client (this process)', `${f2(r.client_cpu.user_s)} + ${f2(r.client_cpu.sys_s)}`],
  ...Object.entries(r.server_cpu).filter(([, c]) => c.user_s + c.sys_s >= 0.01).map(([name, c]) => [`server thread ${name}`, `${f2(c.user_s)} + ${f2(c.sys_s)}`] as [string, unknown]),
])}
${keyValues('Settings', settings)}
<script>${asset('uPlot.iife.min.js')}</script>
<script>
const t = ${scriptJson(r.timeline)};
const x = t.map(p => p.t_s);
const opts = (title, series) => ({ title, width: 560, height: 300, scales: { x: { time: false } },
  axes: [{ label: 'seconds' }, { label: series[0].label.includes('MB') ? 'MB/s' : 'ms' }], series: [{}, ...series] });
new uPlot(opts('Throughput over time', [{ label: 'MB/s', stroke: '#1f77b4', width: 2 }]), [x, t.map(p => p.mb_per_s)], document.getElementById('throughput'));
new uPlot(opts('Per-batch latency over time', [{ label: 'p50 ms', stroke: '#2ca02c', width: 2 }, { label: 'max ms', stroke: '#d62728' }]),
  [x, t.map(p => p.p50_ms), t.map(p => p.max_ms)], document.getElementById('latency'));
</script></body></html>
`;
}
