// The real side of the lifecycle test: one server process on a data directory of its own, restarted cleanly
// (SIGTERM, exit 0 expected) or by SIGKILL, and a root client connected to the current process.
import fs from 'node:fs';
import path from 'node:path';
import type { IggyClient } from '../../../host/client/client.js';
import { readSnapshot } from '../../../host/node/consensus/snapshot-file.js';
import { tempDir, withTimeout } from '../helpers/server.js';
import { startProtocolServer, type ProtocolServer } from '../helpers/protocol.js';

export interface ServerProfile {
  shards: number; // 1: every partition on shard 0, which replays the metadata log op by op at boot
  journalSlots: number; // --metadata-journal-slots: a checkpoint every 3/4 of this many metadata ops
}

export const STOP_BOUND_MS = 20_000;

// A failure of the server to keep what it acknowledged (as opposed to a bug in the test).
export class Finding extends Error {
  override name = 'Finding';
  constructor(message: string, readonly kinds: string[]) {
    super(message);
  }
}

export class LiveSystem {
  readonly dataDir = tempDir('lifecycle');
  server!: ProtocolServer;
  client!: IggyClient;
  private readonly outputs: string[] = [];
  readonly checkpoints = new Set<number>(); // snapshot ops seen at restarts

  constructor(readonly profile: ServerProfile) {}

  // A server that does not come up on its own data directory is a finding (it refused what it wrote itself).
  async start(): Promise<void> {
    try {
      this.server = await startProtocolServer([
        '--data-dir', this.dataDir, '--shards', String(this.profile.shards),
        '--metadata-journal-slots', String(this.profile.journalSlots), '--pin-cores=false',
      ]);
    } catch (error) {
      throw new Finding(`the server did not boot: ${(error as Error).message.split('\n').slice(0, 30).join('\n')}`, ['boot failed']);
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
