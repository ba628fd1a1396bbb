// Parameters of one simulated run. `randomizeOptions` draws them from the seed for swarm testing, so a failing
// swarm seed replays with `--seed S --randomize`.
import { Prng } from './prng.js';

export interface NetworkOptions {
  delayMin: number; //     ticks
  delayMean: number; //    extra exponential delay (ticks): reorders packets
  loss: number; //         per packet
  duplicate: number; //    per packet: delivered twice
  corrupt: number; //      per packet: one bit flipped (checksums must catch it)
  partitionProb: number; // per tick, when none is active
  partitionMean: number; // ticks
  asymmetric: number; //   share of partitions that cut one direction only
}

export interface DiskOptions {
  latencyMin: number;
  latencyMax: number;
  tornOnCrash: number; //  pending write: stored torn (corrupt) instead of lost
  lostOnCrash: number; //  pending write: not stored at all
  bitflipProb: number; //  per tick: flip a bit in one stored prepare of the corruptible replica
}

export interface CrashOptions {
  prob: number; //    per tick: crash a replica (never more than f down at once)
  clusterProb: number; // per tick: crash every replica at once (power loss); all restart within downMin..2*downMin
  wipe: number; //    share of single-replica crashes whose disk is wiped: it restarts with nothing and must recover
  //                  its state by transfer (never two replicas without their state at once: f = 1)
  downMin: number;
  downMax: number;
}

export interface SimOptions {
  seed: number;
  replicas: number;
  clients: number;
  ticks: number; //         fault phase
  settleTicks: number; //   liveness bound once faults stop
  slots: number; //         log window per replica
  requestBodyMax: number;
  duplicateRequests: number; // per client tick: resend an old request (must get a cached reply or a rejection)
  network: NetworkOptions;
  disk: DiskOptions;
  crash: CrashOptions;
  quorumOverride: number; // debug switch in the core; 0 = real quorum
  transferTicks: number; // a state transfer takes this long (the snapshot crossing the network)
  script?: (sim: import('./simulator.js').Simulator) => void; // called at the start of every tick
}

export function defaultOptions(seed: number): SimOptions {
  return {
    seed,
    replicas: 3,
    clients: 4,
    ticks: 3000,
    settleTicks: 6000,
    slots: 1024,
    requestBodyMax: 64,
    duplicateRequests: 0.002,
    network: {
      delayMin: 1, delayMean: 2, loss: 0.02, duplicate: 0.01, corrupt: 0.002,
      partitionProb: 0.002, partitionMean: 200, asymmetric: 0.3,
    },
    disk: { latencyMin: 1, latencyMax: 4, tornOnCrash: 0.3, lostOnCrash: 0.4, bitflipProb: 0.002 },
    crash: { prob: 0.002, clusterProb: 0, wipe: 0, downMin: 20, downMax: 300 },
    quorumOverride: 0,
    transferTicks: 20,
  };
}

export function quietOptions(seed: number): SimOptions {
  const o = defaultOptions(seed);
  o.network = { ...o.network, loss: 0, duplicate: 0, corrupt: 0, partitionProb: 0 };
  o.disk = { ...o.disk, bitflipProb: 0 };
  o.crash = { ...o.crash, prob: 0 };
  o.duplicateRequests = 0;
  return o;
}

// Swarm testing: every seed gets its own fault mix, some faults switched off entirely.
export function randomizeOptions(seed: number): SimOptions {
  const r = new Prng(seed, 0x5a1af0e5);
  const o = defaultOptions(seed);
  o.replicas = r.chance(0.15) ? 5 : r.chance(0.08) ? 1 : 3;
  // Mostly a few clients; sometimes enough to fill the 32-deep pipeline and the request queue.
  o.clients = r.chance(0.2) ? r.between(10, 60) : r.between(1, 8);
  o.ticks = r.between(1500, 3500);
  const on = (p: number) => r.chance(p);
  o.network = {
    delayMin: r.between(0, 2),
    delayMean: r.float() * 5,
    loss: on(0.7) ? r.float() * 0.1 : 0,
    duplicate: on(0.5) ? r.float() * 0.05 : 0,
    corrupt: on(0.4) ? r.float() * 0.01 : 0,
    partitionProb: on(0.6) ? r.float() * 0.008 : 0,
    partitionMean: r.between(30, 400),
    asymmetric: r.float(),
  };
  o.disk = {
    latencyMin: r.between(0, 2), latencyMax: r.between(2, 10),
    tornOnCrash: r.float() * 0.5, lostOnCrash: r.float() * 0.5,
    bitflipProb: on(0.4) ? r.float() * 0.005 : 0,
  };
  o.crash = {
    prob: on(0.6) ? r.float() * 0.006 : 0, clusterProb: on(0.2) ? r.float() * 0.0006 : 0, wipe: 0,
    downMin: 10, downMax: r.between(50, 600),
  };
  o.duplicateRequests = on(0.5) ? r.float() * 0.01 : 0;
  // State transfer, drawn from their own stream: the fault mixes above stay what they were for every seed.
  const s = new Prng(seed, 0x5a1af0e6);
  if (o.replicas > 1) {
    o.crash.wipe = s.chance(0.5) ? s.float() * 0.6 : 0;
    o.transferTicks = s.between(1, 60);
  }
  return o;
}
