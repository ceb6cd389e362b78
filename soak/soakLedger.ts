// What the soak counts, minute by minute: operations done, faults injected and survived, steps
// re-run, the router's message figures, kernels not running, and memory per process.

export interface MinuteFigures {
  /** 0 is the first minute (the warm-up). */
  minute: number;
  reloads: {
    saves: number;
    validSaves: number;
    invalidSaves: number;
    /** ringkernel/reloadOutcome statuses seen, each kernel of a save counted (recoveries included). */
    outcomes: Record<string, number>;
    /** Saves after which some kernel sent no outcome within the deadline. */
    noOutcome: number;
  };
  migrations: {
    requested: number;
    migrated: number;
    failed: number;
    cancelled: number;
    refused: number;
    maxPausedMs: number;
  };
  validations: { done: number; maxMs: number; withErrors: number; timedOut: number };
  /** Hosts the soak killed, and kernels recovered for other reasons (the step watchdog, mostly). */
  faults: { hostsKilled: number; survived: number; notSurvived: number; otherRecoveries: number };
  stepsRerun: number;
  /** The router's totals gained in this minute (lostWithHost: messages in a killed host's mailbox). */
  messages: { sent: number; delivered: number; failed: number; refused: number; lostWithHost: number };
  /** The most kernels seen not running at one sample (they may be mid-recovery), and their states. */
  kernelsNotRunning: { most: number; states: Record<string, number> };
  memoryMiB: { server: number; hosts: { pid: number; role: string; kernels: string[]; maxMiB: number }[] };
}

export class SoakLedger {
  readonly minutes: MinuteFigures[] = [];

  /** The figures of the minute `atMs` falls in (created, and every minute before it, on first use). */
  at(atMs: number): MinuteFigures {
    const minute = Math.max(0, Math.floor(atMs / 60_000));
    while (this.minutes.length <= minute) this.minutes.push(emptyMinute(this.minutes.length));
    return this.minutes[minute] as MinuteFigures;
  }
}

function emptyMinute(minute: number): MinuteFigures {
  return {
    minute,
    reloads: { saves: 0, validSaves: 0, invalidSaves: 0, outcomes: {}, noOutcome: 0 },
    migrations: { requested: 0, migrated: 0, failed: 0, cancelled: 0, refused: 0, maxPausedMs: 0 },
    validations: { done: 0, maxMs: 0, withErrors: 0, timedOut: 0 },
    faults: { hostsKilled: 0, survived: 0, notSurvived: 0, otherRecoveries: 0 },
    stepsRerun: 0,
    messages: { sent: 0, delivered: 0, failed: 0, refused: 0, lostWithHost: 0 },
    kernelsNotRunning: { most: 0, states: {} },
    memoryMiB: { server: 0, hosts: [] },
  };
}

/** A small seeded generator (mulberry32): the soak's choices repeat with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
