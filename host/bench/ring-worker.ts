// One side of the ring benchmark: a pinned worker that either produces or consumes `count` frames, entirely
// inside wasm (benchProduce / benchConsume), or does the same over a MessagePort for the postMessage baseline.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { checkWaitCanary } from '../shared/core.js';
import { instantiateCore } from '../node/core-file.js';
import { pinCurrentThread } from '../node/cpu.js';

interface RingJob {
  mode: 'ring-produce' | 'ring-consume' | 'post-produce' | 'post-consume';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  wasmFile: string;
  ring: number;
  count: number;
  frameLen: number;
  cpu: number;
  startWord: number; // index into an Int32Array over memory: both sides start when it turns 1
  buffer?: number; // this side's private source (producer) or sink (consumer) region (ring modes)
  port?: MessagePort;
}

const job = workerData as RingJob;
pinCurrentThread(job.cpu);
const i32 = new Int32Array(job.memory.buffer);
const core = await instantiateCore(job.module, job.memory, job.wasmFile);
checkWaitCanary(core, job.buffer ?? job.startWord * 4 + 64);
parentPort!.postMessage({ ready: true });
Atomics.wait(i32, job.startWord, 0);
const started = performance.now();

if (job.mode === 'ring-produce') {
  core.benchProduce(job.ring, job.count, job.frameLen, job.buffer!);
  parentPort!.postMessage({ done: true, ms: performance.now() - started });
} else if (job.mode === 'ring-consume') {
  const bad = core.benchConsume(job.ring, job.count, job.frameLen, job.buffer!);
  parentPort!.postMessage({ done: true, ms: performance.now() - started, bad });
} else if (job.mode === 'post-produce') {
  const frame = new Uint8Array(job.frameLen);
  for (let i = 0; i < job.count; i++) {
    frame[0] = i & 0xff;
    job.port!.postMessage(frame);
  }
  parentPort!.postMessage({ done: true, ms: performance.now() - started });
} else {
  let received = 0;
  let bad = 0;
  job.port!.on('message', (frame: Uint8Array) => {
    if (frame.length !== job.frameLen || frame[0] !== (received & 0xff)) bad++;
    if (++received === job.count) {
      parentPort!.postMessage({ done: true, ms: performance.now() - started, bad });
      job.port!.close();
    }
  });
}
