// The real side of the lifecycle test: one server process on a data directory of its own, restarted cleanly
// (SIGTERM, exit 0 expected) or by SIGKILL, and a root client connected to the current process.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { IggyClient } from '../../../host/client/client.js';
import { readSnapshot } from '../../../host/node/consensus/snapshot-file.js';
import { freePort, tempDir, withTimeout } from '../helpers/server.js';
import { startProtocolServer, type ProtocolServer } from '../helpers/protocol.js';

export interface ServerProfile {
  shards: number; // 1: every partition on shard 0, which replays the metadata log op by op at boot
  journalSlots: number; // --metadata-journal-slots: a checkpoint every 3/4 of this many metadata ops
}

export const STOP_BOUND_MS = 20_000;

// Servers still running when the harness exits: with --minutes, fast-check abandons the run in progress at the
// deadline (its `finally` never runs) and main exits, which left that run's server behind. SIGKILLed on exit.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// Boots tried on fresh ports when the ports were taken between freePort() and the server's bind (other processes
// on the machine get ephemeral ports from the same range): seen once in a 10-minute run (seed 20261208).
export const BOOT_ATTEMPTS = 5;

// A failure of the server to keep what it acknowledged (as opposed to a bug in the test).
export class Finding extends Error {
  override name = 'Finding';
  constructor(message: string, readonly kinds: string[]) {
    super(message);
  }
}

// Every boot attempt found its TCP or HTTP port taken by another process: the machine, not the server.
export class ServerPortsBusy extends Error {
  override name = 'ServerPortsBusy';
}

export interface LiveSystemOptions {
  ports?: () => Promise<number>; // a free loopback port [freePort]; tests hand out a taken one
  bootAttempts?: number; // [BOOT_ATTEMPTS]
}

export class LiveSystem {
  readonly dataDir = tempDir('lifecycle');
  server!: ProtocolServer;
  client!: IggyClient;
  busyPortBoots = 0; // boots that found a port taken and were tried again on fresh ones
  private readonly outputs: string[] = [];
  readonly checkpoints = new Set<number>(); // snapshot ops seen at restarts

  constructor(readonly profile: ServerProfile, private readonly options: LiveSystemOptions = {}) {}

  // A server that does not come up on its own data directory is a finding (it refused what it wrote itself). One
  // that could not bind its ports is started again on fresh ones: the client connects to wherever it listens, and
  // the model is about the data directory, so a new address changes nothing it checks.
  async start(): Promise<void> {
    const attempts = this.options.bootAttempts ?? BOOT_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const ports = this.options.ports ?? freePort;
      const tcp = await ports();
      const http = await ports();
      try {
        this.server = await startProtocolServer([
          '--data-dir', this.dataDir, '--shards', String(this.profile.shards), '--http-address', `127.0.0.1:${http}`,
          '--metadata-journal-slots', String(this.profile.journalSlots), '--pin-cores=false',
        ], {}, tcp);
        const { child, exited } = this.server.server;
        running.add(child);
        void exited.then(() => running.delete(child));
        break;
      } catch (error) {
        const message = (error as Error).message;
        if (!/EADDRINUSE|AddressInUse/.test(message)) {
          throw new Finding(`the server did not boot: ${message.split('\n').slice(0, 30).join('\n')}`, ['boot failed']);
        }
        this.busyPortBoots += 1;
        if (attempt >= attempts) {
          throw new ServerPortsBusy(`the server could not bind its ports in ${attempts} boot(s) on fresh ports (last TCP ${tcp}, HTTP ${http}): ${lastLines(message, 3)}`);
        }
      }
    }
    this.client = await this.server.connect();
  }

  // Stops the process (SIGTERM expects a clean exit with code 0) and starts a new one on the same directory.
  async restart(how: 'clean' | 'kill'): Promise<void> {
    await this.stop(how);
    this.noteCheckpoint();
    await this.start();
  }

  async stop(how: 'clean' | 'kill'): Promise<void> {
    // The signal first: a SIGKILL must find the client's requests still in flight.
    const { child, exited } = this.server.server;
    child.kill(how === 'clean' ? 'SIGTERM' : 'SIGKILL');
    const exit = await withTimeout(exited, STOP_BOUND_MS, `the server exited after ${how === 'clean' ? 'SIGTERM' : 'SIGKILL'}`).catch((error: Error) => {
      child.kill('SIGKILL');
      throw new Finding(error.message, ['stop timed out']);
    });
    await this.client.close().catch(() => {});
    this.outputs.push(this.server.server.output());
    if (how === 'clean' && exit.code !== 0) {
      throw new Finding(`a clean stop (SIGTERM) exited with ${exit.code ?? exit.signal}:\n${lastLines(this.server.server.output(), 15)}`, ['clean stop failed']);
    }
  }

  // The server's WARN and ERROR lines of every process so far: context for a finding.
  warnings(): string {
    const all = [...this.outputs, this.server?.server.output() ?? ''].join('\n');
    return all.split('\n').filter((l) => / (WARN|ERROR) /.test(l)).slice(-20).join('\n');
  }

  async close(keepData: boolean): Promise<void> {
    await this.client?.close().catch(() => {});
    await this.server?.stop();
    if (!keepData) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  private noteCheckpoint(): void {
    const snapshot = readSnapshot(path.join(this.dataDir, 'metadata', 'snapshot'));
    if (snapshot) this.checkpoints.add(snapshot.op);
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
