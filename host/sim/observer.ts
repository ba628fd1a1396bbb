// What a host that draws the run (the visualiser) hears from the simulator, beyond the state it can read
// itself each frame: commits as they happen, control events as they apply, and the end of every tick.
// Packets queued or dropped come from the network's own observer (network.ts NetworkObserver).
import type { SimEvent } from './events.js';
import type { Simulator } from './simulator.js';

export interface SimObserver {
  committed(now: number, replica: number, prepare: Uint8Array): void;
  control(now: number, event: SimEvent): void;
  ticked(sim: Simulator): void;
}
