// The machine a run measured, and the CPU a server process spent per thread (from /proc; empty off Linux).
import fs from 'node:fs';
import os from 'node:os';

export interface Machine { cpus: number; cpu_model: string; kernel: string; node: string; memory_gb: number; platform: string }

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', kernel: `${os.type()} ${os.release()}`, node: process.version,
    memory_gb: Math.round(os.totalmem() / 1e9), platform: `${os.platform()} ${os.arch()}`,
  };
}

// Seconds of user and system time per thread, keyed `name#tid` (Node's main, worker and libuv threads may share
// a name; the tid tells them apart across one run).
export interface CpuByThread { [thread: string]: { user_s: number; sys_s: number } }

const TICK_S = 0.01; // USER_HZ = 100 on Linux

export function cpuByThread(pid: number | null): CpuByThread {
  const out: CpuByThread = {};
  if (pid === null) return out;
  let tasks: string[];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const task of tasks) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[`${name}#${task}`] = { user_s: Number(fields[11]) * TICK_S, sys_s: Number(fields[12]) * TICK_S }; // utime, stime
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

export function cpuDelta(before: CpuByThread, after: CpuByThread): CpuByThread {
  const out: CpuByThread = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name] ?? { user_s: 0, sys_s: 0 };
    out[name] = { user_s: round2(a.user_s - b.user_s), sys_s: round2(a.sys_s - b.sys_s) };
  }
  return out;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
