// /health and /metrics of a running server, as the storage tests read them.
import { request } from 'undici';
import type { RunningServer } from './server.js';

export interface HealthReason {
  kind: string;
  subject: string;
  shard: number;
  detail: string;
  since: string;
}

export interface Health {
  httpStatus: number;
  status: string;
  reasons: HealthReason[];
}

export async function health(server: RunningServer): Promise<Health> {
  const res = await request(`http://${server.httpAddress}/health`);
  const body = (await res.body.json()) as { status: string; reasons: HealthReason[] };
  return { httpStatus: res.statusCode, status: body.status, reasons: body.reasons };
}

// The sum of a metric family over its label sets (every shard reports its own).
export async function metricSum(server: RunningServer, name: string): Promise<number> {
  const res = await request(`http://${server.httpAddress}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      seen = true;
    }
  }
  if (!seen) throw new Error(`no metric ${name} in /metrics`);
  return sum;
}
