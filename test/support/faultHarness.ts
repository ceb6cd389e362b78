// Fault injection against real device hosts: kills (SIGKILL) or stalls (SIGSTOP, until the
// supervisor's watchdog kills it) a device-host process at a chosen point, then checks what the
// product promises after a fault (docs/reliability.md, Fault injection): no kernel lost and none
// running twice (the runtime's views against the loops each host process says it runs, and
// against the host processes the OS shows), each kernel's state from its last checkpoint or newer
// (the counter kernel's words say how many steps made the state), the steps re-run reported, and
// no shared-memory file left behind. A FaultLedger counts faults and losses per point and prints
// one summary line per point; those lines are the figures in docs/reliability.md.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { seededWords } from './badInput';
import { pollUntil } from './poll';
import { transferRegions } from '../../server/src/hosts/transferRegions';
import type { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';

/** SIGKILL: the host dies at once. SIGSTOP: it freezes; the watchdog (stepTimeoutMs, or the request limit) kills it. */
export type FaultSignal = 'SIGKILL' | 'SIGSTOP';

// ---- the seed ----

/** RINGKERNEL_FAULT_SEED replays a run; otherwise a fresh seed, printed before anything runs. */
export function faultSeed(): number {
  const given = process.env.RINGKERNEL_FAULT_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new Error(`RINGKERNEL_FAULT_SEED must be a whole number from 0, not ${JSON.stringify(given)}`);
    return seed >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/**
 * A suite's random faults: on demand only (RINGKERNEL_FAULT_RUNS; npm run test:faults sets 2), so
 * npm test cannot fail by chance; the chosen points run in every npm test (the point a random
 * reload fault found, seed 380098093, is one of them now). The seed is printed before the first
 * run, so a failure can be replayed.
 */
export function randomFaults(
  suite: string,
): { runs: number; choose: ReturnType<typeof seededChooser> } | { skip: string } {
  const runs = faultRuns(0);
  if (runs === 0) return { skip: 'random faults run with RINGKERNEL_FAULT_RUNS=N (npm run test:faults sets 2)' };
  const seed = faultSeed();
  console.log(`fault ${suite} random: seed ${seed}, ${runs} runs (RINGKERNEL_FAULT_SEED=${seed} replays it)`);
  return { runs, choose: seededChooser(seed) };
}

/** How many random faults to inject on top of the chosen points (RINGKERNEL_FAULT_RUNS, default `ciDefault`). */
export function faultRuns(ciDefault: number): number {
  const given = process.env.RINGKERNEL_FAULT_RUNS;
  if (given === undefined || given === '') return ciDefault;
  const runs = Number(given);
  if (!Number.isSafeInteger(runs) || runs < 0)
    throw new Error(`RINGKERNEL_FAULT_RUNS must be a whole number from 0, not ${JSON.stringify(given)}`);
  return runs;
}

/** A seeded chooser: the same seed picks the same points, signals and delays. */
export function seededChooser(seed: number): { pick<T>(items: readonly T[]): T; below(n: number): number } {
  const next = seededWords(seed);
  return {
    pick: <T>(items: readonly T[]): T => {
      const item = items[next() % items.length];
      if (item === undefined) throw new Error('nothing to pick from');
      return item;
    },
    below: (n: number) => next() % Math.max(1, n),
  };
}

// ---- processes ----

/** The device-host processes this process started, from /proc (the OS's account, not the runtime's). */
export function deviceHostChildren(parent = process.pid): { pid: number; instance: number }[] {
  const found: { pid: number; instance: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after the last ')' are safe.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent || fields[0] === 'Z') continue;
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const script = args.findIndex((arg) => arg.endsWith('deviceHost.js'));
      if (script < 0) continue;
      found.push({ pid: Number(name), instance: Number(args[script + 2] ?? 0) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Waits until a faulted host process is gone (a stalled one once its watchdog killed it), so the
 * checks look at the aftermath, not at the moment before a delayed fault took effect.
 */
export async function faultTookEffect(pid: number): Promise<void> {
  await pollUntil(`device host ${pid} to be gone after its fault`, () => (processAlive(pid) ? undefined : true), {
    timeoutMs: 60_000,
  });
}

/** Processes this harness stopped: continued or killed at the end, so none outlives the test. */
const stopped = new Set<number>();

/**
 * Sends the fault. Synchronous, so a hook that calls it at a phase's entry lands the fault there.
 * False when the process was gone already (its watchdog restarted it on a loaded machine): the
 * aftermath is checked all the same. Throwing would fail the phase hook, inside the product.
 */
export function inject(pid: number, signal: FaultSignal): boolean {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  if (signal === 'SIGSTOP') stopped.add(pid);
  return true;
}

/**
 * Waits until the kernel runs in a host (the aftermath of the point before may still be
 * recovering) and returns that host's pid: each point starts from a running kernel.
 */
export async function settledHost(runtime: KernelRuntime, kernelId = 'counter'): Promise<number> {
  return pollUntil(
    `kernel "${kernelId}" running in a host`,
    () => {
      const view = runtime.views().find((v) => v.id === kernelId);
      return view?.state === 'running' ? view.hostPid : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

/**
 * At the end of a suite, after the runtime was disposed: kills what this harness stopped and
 * nobody killed, and any device host still running (one the runtime lost track of would keep
 * this process alive). Returns the pids of the hosts that were still there.
 */
export function releaseAll(): number[] {
  const left = deviceHostChildren().map((child) => child.pid);
  for (const pid of new Set([...stopped, ...left])) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  stopped.clear();
  return left;
}

// ---- shared-memory files ----

/** This server process's shared-memory transfer files (bulkTransfer.ts names them ringkernel-bulk-PID-...). */
export function bulkFilesOf(ownerPid = process.pid): string[] {
  const folder = '/dev/shm';
  try {
    return readdirSync(folder).filter((name) => name.startsWith(`ringkernel-bulk-${ownerPid}-`));
  } catch {
    return [];
  }
}

/**
 * Waits for in-flight transfers to end; what stays is a leftover: a region still lent once the
 * kernels settled (a transfer that never gave it back), or a file of this process that is not one
 * of its pool's regions. Idle regions are kept for reuse on purpose (transferRegions.ts).
 */
export async function leftoverFiles(ownerPid = process.pid, timeoutMs = 3_000): Promise<string[]> {
  const leftovers = (): string[] => {
    const { lent, idle } = transferRegions().regions();
    const pooled = new Set([...lent, ...idle].map((path) => basename(path)));
    return [
      ...lent.map((path) => `${basename(path)} (still lent)`),
      ...bulkFilesOf(ownerPid).filter((name) => !pooled.has(name)),
    ];
  };
  try {
    await pollUntil('shared-memory transfers to end', () => (leftovers().length === 0 ? true : undefined), {
      timeoutMs,
    });
    return [];
  } catch {
    return leftovers();
  }
}

// ---- the counter kernel ----

/**
 * Word 0: the steps run (control.step + 1); word 1: 1 + 2 + ... + steps (mod 2^32); the rest
 * change every step. A state restored from an older checkpoint with a newer step count, or a step
 * run twice on one state, breaks the two words' agreement.
 */
export const COUNTER_WGSL = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i == 0u) {
    state[0] = control.step + 1u;
    state[1] = state[1] + control.step + 1u;
  } else if (i >= 2u && i < arrayLength(&state)) {
    state[i] = state[i] * 1664525u + 1013904223u + i;
  }
}
`;

/** The same counter, another version (a comment differs): a reload swaps code, not behaviour. */
export function counterVersion(n: number): string {
  return `// version ${n}\n${COUNTER_WGSL}`;
}

/** A version whose first step never ends: the loop watchdog restarts its host; the reload rolls back. */
export const HANGING_COUNTER_WGSL = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  var i = 0u;
  loop {
    if (state[0] == 0xffffffffu) { break; }
    i = i + 1u;
    state[2] = i;
  }
}
`;

/** The counter's step and whether its words agree with it. */
export function counterState(state: Uint8Array, step: number): { consistent: boolean; steps: number; detail: string } {
  const words = new Uint32Array(state.buffer, state.byteOffset, 2);
  const steps = words[0] ?? 0;
  const sum = words[1] ?? 0;
  const expected = Number((BigInt(steps) * BigInt(steps + 1)) / 2n) >>> 0;
  const consistent = steps === step && sum === expected;
  return { consistent, steps, detail: `reported step ${step}, word 0 ${steps}, word 1 ${sum} (expected ${expected})` };
}

// ---- after a fault ----

export interface FaultCheck {
  /** Kernels not running (or failed) once the runtime settled. */
  lost: string[];
  /** Kernels with a loop in more than one host, or in a host other than the one the runtime names. */
  twice: string[];
  /** Kernels whose state came from before their last checkpoint, or disagrees with its step count. */
  older: string[];
  /** Steps reported as re-run by the recoveries and rollbacks of this fault. */
  rerunSteps: number;
  /** Shared-memory files left behind. */
  leftovers: string[];
  /** Host processes that are not the runtime's (a kernel could be running in them). */
  strayHosts: number[];
  /** Where each kernel runs and its step, after the fault. */
  kernels: Map<string, { device: string; step: number }>;
  /** What the last look found wrong, for the assertion message. */
  detail?: string;
}

/**
 * Waits for every kernel to settle (running, its loop in exactly one host: the one the runtime
 * names), then checks it. `checkpointSteps` are each kernel's checkpoint steps known from before
 * the fault: its state must not be older. `outcomes` gives the reload outcomes since the fault
 * (asked once the kernels settled, so the recoveries are in).
 */
export async function checkAfterFault(
  runtime: KernelRuntime,
  checkpointSteps: ReadonlyMap<string, number>,
  outcomes: () => readonly ReloadOutcome[],
  options: {
    timeoutMs?: number;
    /** Whether a kernel's state agrees with its step (default: the counter kernel's words). */
    consistent?: (kernelId: string, state: Uint8Array, step: number) => boolean;
  } = {},
): Promise<FaultCheck> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const check: FaultCheck = {
    lost: [],
    twice: [],
    older: [],
    rerunSteps: 0,
    leftovers: [],
    strayHosts: [],
    kernels: new Map(),
  };
  // Settled: every kernel running with a host, each host's loops agreeing with the views.
  let last = '';
  try {
    await pollUntil(
      'every kernel running in exactly one host, the one the runtime names',
      async () => {
        const views = runtime.views();
        const report = await runtime.hostReport();
        const problems: string[] = [];
        for (const view of views) {
          if (view.state !== 'running')
            problems.push(`${view.id} is ${view.state}${view.error ? `: ${view.error}` : ''}`);
          const homes = report.filter((host) => host.loops.some((loop) => loop.kernel === view.id));
          if (homes.length !== 1 || homes[0]?.pid !== view.hostPid)
            problems.push(
              `${view.id} loops in ${homes.map((h) => h.pid).join(', ') || 'no host'}, the runtime says ${String(view.hostPid)}`,
            );
        }
        const ours = new Set(report.map((host) => host.pid));
        const stray = deviceHostChildren().filter((child) => !ours.has(child.pid));
        if (stray.length > 0)
          problems.push(`host processes the runtime does not hold: ${stray.map((s) => s.pid).join(', ')}`);
        last = problems.join('; ');
        return problems.length === 0 ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch {
    // Counted below from the last look.
  }
  const views = runtime.views();
  const report = await runtime.hostReport();
  for (const view of views) {
    if (view.state !== 'running') check.lost.push(view.id);
    const homes = report.filter((host) => host.loops.some((loop) => loop.kernel === view.id));
    if (homes.length > 1 || (homes.length === 1 && homes[0]?.pid !== view.hostPid)) check.twice.push(view.id);
    if (homes.length === 0 && view.state === 'running') check.lost.push(view.id);
  }
  const ours = new Set(report.map((host) => host.pid));
  check.strayHosts = deviceHostChildren()
    .filter((child) => !ours.has(child.pid))
    .map((child) => child.pid);
  for (const view of views) {
    if (check.lost.includes(view.id)) continue;
    const snapshot = await runtime.readState(view.id);
    const counted = options.consistent
      ? { consistent: options.consistent(view.id, snapshot.state, snapshot.step), detail: `step ${snapshot.step}` }
      : counterState(snapshot.state, snapshot.step);
    const floor = checkpointSteps.get(view.id) ?? 0;
    if (!counted.consistent || snapshot.step < floor) {
      check.older.push(view.id);
      if (last === '') last = `${view.id}: ${counted.detail}, last checkpoint at step ${floor}`;
    }
    check.kernels.set(view.id, { device: view.device ?? '?', step: snapshot.step });
  }
  for (const outcome of outcomes()) {
    if (outcome.rerun) {
      // A restore never starts from before the checkpoint known before the fault.
      const floor = checkpointSteps.get(outcome.kernelId) ?? 0;
      if (outcome.rerun.fromStep < floor && !check.older.includes(outcome.kernelId)) check.older.push(outcome.kernelId);
      check.rerunSteps += Math.max(0, outcome.rerun.reachedStep - outcome.rerun.fromStep);
    }
  }
  check.leftovers = await leftoverFiles();
  if (check.lost.length + check.twice.length + check.older.length + check.strayHosts.length > 0) check.detail = last;
  return check;
}

/** Fails the test with everything a check found. */
export function assertClean(check: FaultCheck, point: string): void {
  const wrong = [
    check.lost.length ? `lost: ${check.lost.join(', ')}` : '',
    check.twice.length ? `running twice: ${check.twice.join(', ')}` : '',
    check.older.length ? `state older than its last checkpoint: ${check.older.join(', ')}` : '',
    check.strayHosts.length ? `stray host processes: ${check.strayHosts.join(', ')}` : '',
    check.leftovers.length ? `files left: ${check.leftovers.join(', ')}` : '',
  ].filter((line) => line !== '');
  assert.deepEqual(
    wrong,
    [],
    `after a fault at ${point}: ${wrong.join('; ')}${check.detail ? ` (${check.detail})` : ''}`,
  );
}

// ---- the ledger ----

export interface LedgerRow {
  injected: number;
  /** Faults that took effect: the faulted host process was gone afterwards (a stalled one killed by its watchdog). */
  restarts: number;
  lost: number;
  twice: number;
  older: number;
  rerunSteps: number;
  leftovers: number;
  strayHosts: number;
  /** Messages lost (message points only): handed out by the router and neither received nor waiting. */
  messagesLost?: number;
  duplicates?: number;
}

/** Faults and losses per point; one line per point in the summary. */
export class FaultLedger {
  private readonly rows = new Map<string, LedgerRow>();

  constructor(readonly suite: string) {}

  record(point: string, check: FaultCheck, extra: Partial<LedgerRow> = {}): void {
    const row = this.rows.get(point) ?? {
      injected: 0,
      restarts: 0,
      lost: 0,
      twice: 0,
      older: 0,
      rerunSteps: 0,
      leftovers: 0,
      strayHosts: 0,
    };
    row.injected++;
    row.lost += check.lost.length;
    row.twice += check.twice.length;
    row.older += check.older.length;
    row.rerunSteps += check.rerunSteps;
    row.leftovers += check.leftovers.length;
    row.strayHosts += check.strayHosts.length;
    row.restarts += extra.restarts ?? 0;
    if (extra.messagesLost !== undefined) row.messagesLost = (row.messagesLost ?? 0) + extra.messagesLost;
    if (extra.duplicates !== undefined) row.duplicates = (row.duplicates ?? 0) + extra.duplicates;
    this.rows.set(point, row);
  }

  lines(): string[] {
    return [...this.rows].map(([point, r]) => {
      const messages =
        r.messagesLost !== undefined ? `, ${r.messagesLost} messages lost, ${r.duplicates ?? 0} duplicated` : '';
      return (
        `fault ${this.suite} ${point}: ${r.injected} injected, ${r.restarts} took effect (host gone), ${r.lost} kernels lost, ` +
        `${r.twice} running twice, ${r.older} older than their checkpoint, ${r.rerunSteps} steps re-run, ` +
        `${r.leftovers} files left, ${r.strayHosts} stray hosts${messages}`
      );
    });
  }

  /** Prints the summary (and appends it to RINGKERNEL_FAULT_REPORT when set). */
  print(): void {
    const lines = this.lines();
    for (const line of lines) console.log(line);
    const report = process.env.RINGKERNEL_FAULT_REPORT;
    if (report) {
      appendFileSync(report, lines.map((line) => `${line}\n`).join(''));
    }
  }
}
