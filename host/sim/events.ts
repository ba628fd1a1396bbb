// Control events: the faults a person (or a test) injects by hand, each at a given tick, through the simulator's
// own fault model (crash/restart, network partitions and rates, journal corruption, more clients). A run is its
// options plus this list: applied at the same ticks, the list replays the run exactly (the visualiser records
// every control as one of these and puts the list in its URL; see replay-link.ts).
import { CoreVsrConstants } from '../shared/core-abi.generated.js';
import type { Simulator } from './simulator.js';

export type SimEvent =
  | { tick: number; kind: 'crash'; replica: number }
  | { tick: number; kind: 'restart'; replica: number }
  // Cuts the replicas in `sideA` (bit r = replica r) from the rest until a heal; `oneWay`: only A → rest.
  | { tick: number; kind: 'partition'; sideA: number; oneWay: boolean }
  | { tick: number; kind: 'heal' }
  | { tick: number; kind: 'loss'; permille: number }
  | { tick: number; kind: 'duplicate'; permille: number }
  | { tick: number; kind: 'delay'; tenths: number } // mean extra delay, in tenths of a tick
  | { tick: number; kind: 'corrupt'; replica: number; op: number } // flips a bit of that op's prepare at rest
  | { tick: number; kind: 'clients'; add: number };

export type SimEventKind = SimEvent['kind'];

// Every client keeps a session in each replica's client table: never more clients than it holds.
export const CLIENTS_LIMIT = CoreVsrConstants.CLIENTS_MAX; // each replica's client table holds this many

// Applies one event to the simulator at its current tick. Events naming a replica the run does not have are
// refused when decoded (replay-link.ts), never silently dropped here.
export function applyEvent(sim: Simulator, event: SimEvent): void {
  const network = sim.network;
  switch (event.kind) {
    case 'crash': sim.crash(event.replica); break; // stays down until a restart event
    case 'restart': sim.restart(event.replica); break;
    case 'partition': {
      const sideA = sim.replicas.map((n) => (event.sideA >> n.index & 1) === 1);
      network.partition(sideA, event.oneWay, Number.MAX_SAFE_INTEGER); // random partitions wait for the heal
      break;
    }
    case 'heal': network.heal(); break;
    case 'loss': network.options.loss = event.permille / 1000; break;
    case 'duplicate': network.options.duplicate = event.permille / 1000; break;
    case 'delay': network.options.delayMean = event.tenths / 10; break;
    case 'corrupt': sim.replicas[event.replica].disk.corruptOp(event.op); break;
    case 'clients': for (let i = 0; i < event.add && sim.clients.length < CLIENTS_LIMIT; i++) sim.addClient(); break;
  }
}

// An event before it has a tick (a control as pressed; the recorder stamps the tick it applies at).
export type SimControl = SimEvent extends infer E ? E extends SimEvent ? Omit<E, 'tick'> : never : never;
