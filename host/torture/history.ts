// The torture run's history: one JSON object per line, written as each operation happens, so a run that dies
// still leaves what it did. The vocabulary follows Jepsen's queue workloads (Kafka, Redpanda, NATS analyses):
// a send is invoked and then completes ok (with the offsets the server acknowledged), fail (the server answered
// with an error: nothing was written) or info (the outcome is unknown: the connection died under it). Offsets
// are decimal strings (they are u64 on the wire; JSON numbers would round past 2^53).
import fs from 'node:fs';
import readline from 'node:readline';
import { IggyError } from '../client/errors.js';
import { ErrorCode } from '../shared/wire/codes.js';

// A key is one partition, named "stream/topic/partition".
export type Key = string;

export type HistoryEvent =
  // `replica` (a cluster's sends, polls, commits and resumes): the replica whose answer completed it (the client's connection then:
  // the SDK follows the leader), for the checker's examples.
  // A producer asks to append `values` (in order) to `key`.
  | { t: number; process: string; type: 'invoke'; f: 'send'; key: Key; values: string[] }
  // The server acknowledged them at `offset`, `offset + 1`, ... (one per value, in order).
  | { t: number; process: string; type: 'ok'; f: 'send'; key: Key; values: string[]; offset: string; replica?: number }
  | { t: number; process: string; type: 'fail' | 'info'; f: 'send'; key: Key; values: string[]; error: string; replica?: number }
  // A consumer got these [offset, value] pairs from `key`. `group` names the consumer group for members: a group
  // member's partitions move between members, so a jump forward is not a skip for it.
  | { t: number; process: string; type: 'ok'; f: 'poll'; key: Key; messages: [string, string][]; group?: string; replica?: number }
  // The consumer starts over (a new consumer object, a position set by hand): ordering checks begin afresh.
  | { t: number; process: string; type: 'ok'; f: 'reset'; key: Key }
  // An offset commit: StoreOffset, or the auto-commit of a poll (the server stores the reply's last offset, known
  // only from the reply). `group` names the consumer group whose offset it is; without it the process's own
  // consumer's. Acknowledged (ok), refused by the server (fail: not stored) or unknown (info: may be stored).
  | { t: number; process: string; type: 'invoke'; f: 'commit'; key: Key; group?: string }
  | { t: number; process: string; type: 'ok'; f: 'commit'; key: Key; offset: string; group?: string; replica?: number }
  | { t: number; process: string; type: 'fail' | 'info'; f: 'commit'; key: Key; error: string; group?: string }
  // A consumer (re)starting reads its stored offset back (null: none stored) and resumes after it: the position it
  // was handed is where its next poll must start (no skip), and no acknowledged commit may be missing from it.
  | { t: number; process: string; type: 'invoke'; f: 'resume'; key: Key; group?: string }
  | { t: number; process: string; type: 'ok'; f: 'resume'; key: Key; offset: string | null; group?: string; replica?: number }
  // A read that is not a consumer's progress: `final` is the read-back after healing (the truth the checker
  // compares against); otherwise an audit read, e.g. while a damaged file is being served.
  | { t: number; process: string; type: 'ok'; f: 'read'; key: Key; messages: [string, string][]; final: boolean }
  // What the nemesis did (for the reader of the history; the checker ignores it).
  | { t: number; process: 'nemesis'; type: 'info'; f: 'fault'; fault: string; detail: string };

// Distributive Omit: drops `t` from each member of the union.
export type Untimed<T> = T extends unknown ? Omit<T, 't'> : never;

export class HistoryWriter {
  private readonly fd: number;
  private readonly started = process.hrtime.bigint();

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  // Appends one event, stamped with the ms since the run began. A synchronous write: the line is in the file
  // before the next operation starts, whatever happens to this process afterwards. Nothing is kept in memory: the
  // checker reads the file back (a long run's history is gigabytes as objects).
  record(event: Untimed<HistoryEvent>): void {
    if (this.closed) return; // a worker stopped by force may still end an operation after the run closed the file
    const t = Number(process.hrtime.bigint() - this.started) / 1e6;
    const full = { t: Math.round(t * 1000) / 1000, ...event } as HistoryEvent;
    fs.writeSync(this.fd, `${JSON.stringify(full)}\n`);
  }

  private closed = false;

  close(): void {
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

export function readHistory(file: string): HistoryEvent[] {
  return fs.readFileSync(file, 'utf8').split('\n').map((line, i) => parseEvent(file, i + 1, line)).filter((e) => e !== null);
}

// The events of a history file one at a time, without holding the file or the events.
export async function* eachEvent(file: string): AsyncGenerator<HistoryEvent> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    const event = parseEvent(file, ++number, line);
    if (event) yield event;
  }
}

function parseEvent(file: string, number: number, line: string): HistoryEvent | null {
  if (line.trim() === '') return null;
  try {
    return JSON.parse(line) as HistoryEvent;
  } catch (error) {
    throw new Error(`${file}:${number}: not a history event: ${(error as Error).message}`);
  }
}

// What a failed send or commit means for the history: a server's answer is definite (nothing was written), except
// TransientNotCommitted (57: a cluster's primary prepared it and lost its view; the new view may still commit it);
// anything else (a dropped connection, a timeout, an eviction) may or may not have been written.
export function outcomeOf(error: unknown): 'fail' | 'info' {
  return error instanceof IggyError && error.code !== ErrorCode.transientNotCommitted ? 'fail' : 'info';
}
