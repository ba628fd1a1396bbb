// The machine's own ceilings, measured with the same volume as the run they sit beside: loopback TCP (one
// connection, 1 MiB writes, the receiver on another thread so each side has its own event loop) and the disk's
// 1 MiB write + fdatasync rate in the temp directory the servers use.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const CHUNK = 1024 * 1024;

// The receiver counts bytes and reports when it has them all; it runs as an eval'd worker so no extra file ships.
const SINK = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
let got = 0;
const server = net.createServer((s) => s.on('data', (d) => { got += d.length; if (got >= workerData) { parentPort.postMessage('done'); s.destroy(); server.close(); } }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

export async function loopbackTcpMBps(bytes: number): Promise<number> {
  const worker = new Worker(SINK, { eval: true, workerData: bytes });
  try {
    const messages: unknown[] = [];
    let wake: (() => void) | null = null;
    worker.on('message', (m) => { messages.push(m); wake?.(); });
    const next = async (): Promise<unknown> => {
      while (messages.length === 0) await new Promise<void>((resolve) => { wake = resolve; });
      return messages.shift();
    };
    const port = await next() as number;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.setNoDelay(true);
    const chunk = Buffer.alloc(CHUNK, 0x61);
    const start = performance.now();
    for (let sent = 0; sent < bytes; sent += CHUNK) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await next();
    const seconds = (performance.now() - start) / 1000;
    socket.destroy();
    return Math.ceil(bytes / CHUNK) * CHUNK / seconds / 1e6;
  } finally {
    await worker.terminate();
  }
}

export function writeFdatasyncMBps(bytes: number, dir = os.tmpdir()): number {
  const folder = fs.mkdtempSync(path.join(dir, 'shardlog-bench-disk-'));
  const file = path.join(folder, 'data');
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(CHUNK, 0x61);
    const start = performance.now();
    let written = 0;
    for (; written < bytes; written += CHUNK) {
      fs.writeSync(fd, chunk);
      fs.fdatasyncSync(fd);
    }
    return written / ((performance.now() - start) / 1000) / 1e6;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
