// Faults during each phase of a hot reload (runtime/reloadPhases.ts): the kernel's device host is
// killed (SIGKILL) or stalled (SIGSTOP, until a watchdog kills it) as the phase is entered, and a
// new version that hangs in its first step is a fault inside the kernel. After each: the kernel
// runs, in one host, the one the runtime names; its state is its last checkpoint's or newer and
// agrees with its step count; the steps re-run are reported; no shared-memory file is left.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { RELOAD_PHASES, type ReloadPhase } from '../../../server/src/runtime/reloadPhases';
import {
  FaultLedger,
  HANGING_COUNTER_WGSL,
  assertClean,
  checkAfterFault,
  counterVersion,
  faultTookEffect,
  inject,
  randomFaults,
  settledHost,
  type FaultSignal,
} from '../../support/faultHarness';
import { suiteRuntime, type FaultRuntime } from '../../support/faultRuntime';
import { MAX_REGIONS, transferRegions, type RegionLease } from '../../../server/src/hosts/transferRegions';
import { pollUntil } from '../../support/poll';

const ledger = new FaultLedger('reload');
const suite = suiteRuntime(ledger);
let version = 1;

/** Waits until the kernel steps, then takes a checkpoint (readState) and returns its step: the floor. */
async function checkpointFloor(f: FaultRuntime): Promise<number> {
  const start = f.runtime.views()[0]?.step ?? 0;
  await pollUntil('the counter steps', () => ((f.runtime.views()[0]?.step ?? 0) > start + 3 ? true : undefined), {
    timeoutMs: 30_000,
  });
  return (await f.runtime.readState('counter')).step;
}

/** After the reload: the new version ran its first step, so a recovery starts from the checkpoint taken at the swap. */
const FIRST_STEP = 'first step';
/** The counter's state (faultRuntime's default): its reads need a shared-memory region. */
const STATE_BYTES = 1 << 20;
/** How long the transfer pool stays busy into the resume at the FIRST_STEP point: longer than a step here. */
const POOL_BUSY_MS = 200;

/**
 * Reloads a new version of the counter with `signal` sent to its host when `phase` is entered
 * (`delayMs` later, for the random runs), or once the reload reports the new version's first
 * step, then checks and records the aftermath.
 */
async function reloadWithFault(
  point: string,
  phase: ReloadPhase | typeof FIRST_STEP,
  signal: FaultSignal,
  delayMs = 0,
): Promise<void> {
  const f = suite.runtime;
  assert.ok(f);
  await settledHost(f.runtime);
  const floor = await checkpointFloor(f);
  // Read after the floor: under load a watchdog may have restarted the host meanwhile.
  const pid = await settledHost(f.runtime);
  const seen = f.outcomes.length;
  let fired = false;
  let landed: Promise<void> = Promise.resolve();
  let held: Promise<RegionLease>[] = [];
  f.onReloadPhase = (_id, entered) => {
    if (phase === FIRST_STEP) {
      // The transfer pool is busy as the checkpoint is taken (other reads hold every region) and
      // frees up a moment into the resume: the checkpoint's read waits for a region meanwhile.
      if (entered === 'checkpoint')
        held = Array.from({ length: MAX_REGIONS }, () => transferRegions().take(STATE_BYTES));
      if (entered === 'resume')
        setTimeout(
          () => void Promise.all(held).then((leases) => leases.forEach((lease) => lease.release())),
          POOL_BUSY_MS,
        );
      return;
    }
    if (entered !== phase || fired) return;
    fired = true;
    if (delayMs === 0) inject(pid, signal);
    else
      landed = new Promise((resolve) =>
        setTimeout(() => {
          inject(pid, signal);
          resolve();
        }, delayMs),
      );
  };
  writeFileSync(f.sourceOf('counter'), counterVersion(++version));
  const outcome = await f.runtime.reload('counter');
  f.onReloadPhase = undefined;
  if (phase === FIRST_STEP) {
    assert.equal(outcome.status, 'reloaded', outcome.message);
    fired = true;
    inject(pid, signal);
  }
  assert.ok(fired, `the reload entered ${phase}`);
  await landed;
  await faultTookEffect(pid);
  assert.ok(
    ['reloaded', 'autoRolledBack', 'failed'].includes(outcome.status),
    `a reload with a fault at ${phase} ends reloaded, rolled back or failed with why, not ${outcome.status}: ${outcome.message}`,
  );
  const check = await checkAfterFault(f.runtime, new Map([['counter', floor]]), () => f.outcomes.slice(seen));
  const restarted = f.runtime.views()[0]?.hostPid !== pid ? 1 : 0;
  ledger.record(point, check, { restarts: restarted });
  assertClean(check, point);
  assert.equal(restarted, 1, `the ${signal} at ${phase} restarted the host`);
  // Whatever came back from a checkpoint says which steps it re-ran.
  for (const recovered of f.outcomes
    .slice(seen)
    .filter((o) => o.status === 'recovered' || o.status === 'autoRolledBack')) {
    assert.ok(recovered.rerun, `${recovered.status} reports the steps re-run: ${recovered.message}`);
    assert.ok(
      recovered.rerun.fromStep >= floor,
      `restored from step ${recovered.rerun.fromStep}, not before the checkpoint at ${floor}`,
    );
  }
}

// SIGSTOP where the loop watchdog catches it (a loop runs: validate, compile, drain) and at one
// phase where only the request limit does (checkpoint: 15 s each); SIGKILL everywhere.
const STALLED: readonly ReloadPhase[] = ['validate', 'compile', 'drain', 'checkpoint'];

for (const phase of RELOAD_PHASES) {
  test(`reload: SIGKILL of the kernel's host at ${phase}`, { timeout: 90_000 }, async (t) => {
    if (suite.skip) return t.skip(suite.skip);
    await reloadWithFault(`${phase} SIGKILL`, phase, 'SIGKILL');
  });
}

// The point of seed 380098093 (SIGKILL 15 ms into restore, landing after the new version's first
// step), made certain: the checkpoint taken at the swap waits for a shared-memory region while the
// new version starts. Its read went out after that version's startLoop, held the state after the
// first step under the step before it, and the recovery from it ran that step twice.
test(
  "reload: SIGKILL of the kernel's host right after the new version's first step, its checkpoint's read having waited for a region",
  { timeout: 90_000 },
  async (t) => {
    if (suite.skip) return t.skip(suite.skip);
    await reloadWithFault('after the first step SIGKILL', FIRST_STEP, 'SIGKILL');
  },
);

for (const phase of STALLED) {
  test(`reload: SIGSTOP of the kernel's host at ${phase} (the watchdog kills it)`, { timeout: 90_000 }, async (t) => {
    if (suite.skip) return t.skip(suite.skip);
    await reloadWithFault(`${phase} SIGSTOP`, phase, 'SIGSTOP');
  });
}

test(
  'reload: a version that hangs in its first step is rolled back from the checkpoint at the swap',
  { timeout: 90_000 },
  async (t) => {
    if (suite.skip) return t.skip(suite.skip);
    const f = suite.runtime;
    assert.ok(f);
    const floor = await checkpointFloor(f);
    const pid = f.runtime.views()[0]?.hostPid;
    const before = f.runtime.views()[0]?.version ?? 0;
    const seen = f.outcomes.length;
    writeFileSync(f.sourceOf('counter'), HANGING_COUNTER_WGSL);
    const outcome = await f.runtime.reload('counter');
    assert.equal(outcome.status, 'autoRolledBack', outcome.message);
    assert.ok(
      outcome.rerun && outcome.rerun.fromStep >= floor,
      `rolled back from its swap checkpoint: ${outcome.message}`,
    );
    assert.equal(f.runtime.views()[0]?.version, before, 'the version before runs again');
    const check = await checkAfterFault(f.runtime, new Map([['counter', floor]]), () => f.outcomes.slice(seen));
    ledger.record('hanging version', check, { restarts: f.runtime.views()[0]?.hostPid !== pid ? 1 : 0 });
    assertClean(check, 'a hanging version');
    // Put the counter's code back for the tests after this one.
    writeFileSync(f.sourceOf('counter'), counterVersion(++version));
    assert.equal((await f.runtime.reload('counter')).status, 'reloaded');
  },
);

test(
  'reload: faults at seeded random phases, signals and delays (RINGKERNEL_FAULT_RUNS, RINGKERNEL_FAULT_SEED)',
  { timeout: 600_000 },
  async (t) => {
    if (suite.skip) return t.skip(suite.skip);
    const random = randomFaults('reload');
    if ('skip' in random) return t.skip(random.skip);
    const { runs, choose } = random;
    for (let run = 0; run < runs; run++) {
      const phase = choose.pick(RELOAD_PHASES);
      const signal = choose.pick<FaultSignal>(['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGSTOP']);
      const delayMs = choose.below(20);
      await t.test(`run ${run + 1}: ${signal} at ${phase} + ${delayMs} ms`, async () => {
        await reloadWithFault(`random ${phase} ${signal}`, phase, signal, delayMs);
      });
    }
  },
);
