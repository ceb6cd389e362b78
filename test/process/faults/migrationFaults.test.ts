// Faults during each phase of a migration (migration/kernelMigrator.ts) between two device
// instances of the WebGPU adapter: the source's or the target's device host is killed (SIGKILL)
// or stalled (SIGSTOP, until a watchdog kills it) as the phase is entered (the migrator's onPhase).
// After each: a migration interrupted before the switch leaves the kernel on its source, one
// switched leaves it on its target, and the runtime, the coordinator and the host processes agree;
// the kernel runs exactly once; its state is its last checkpoint's or newer; nothing is left in
// /dev/shm.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIGRATION_PHASES, type MigrationPhase } from '../../../server/src/migration/migrationTypes';
import {
  FaultLedger,
  assertClean,
  checkAfterFault,
  deviceHostChildren,
  faultTookEffect,
  inject,
  randomFaults,
  settledHost,
  type FaultSignal,
} from '../../support/faultHarness';
import { suiteRuntime } from '../../support/faultRuntime';
import { pollUntil } from '../../support/poll';

type Victim = 'source' | 'target';

const ledger = new FaultLedger('migration');
const suite = suiteRuntime(ledger);

const SWITCH = MIGRATION_PHASES.indexOf('switching');

/** The target's device host: the host process of instance `index` that is not the kernel's. */
async function targetHost(index: number, sourcePid: number): Promise<number> {
  const found = await pollUntil(
    `the target host on instance ${index}`,
    () => deviceHostChildren().find((child) => child.instance === index && child.pid !== sourcePid)?.pid,
    { timeoutMs: 10_000, intervalMs: 2 },
  );
  return found;
}

async function migrateWithFault(
  point: string,
  phase: MigrationPhase,
  victim: Victim,
  signal: FaultSignal,
  delayMs = 0,
): Promise<void> {
  const f = suite.runtime;
  assert.ok(f);
  await settledHost(f.runtime);
  const view = f.runtime.views()[0];
  assert.ok(view?.device && view.hostPid);
  const from = view.device;
  const to = from === 'webgpu:0' ? 'webgpu:1' : 'webgpu:0';
  const start = view.step;
  await pollUntil('the counter steps', () => ((f.runtime.views()[0]?.step ?? 0) > start + 3 ? true : undefined), {
    timeoutMs: 30_000,
  });
  const floor = (await f.runtime.readState('counter')).step;
  // Read after the floor: under load a watchdog may have restarted the host meanwhile.
  const sourcePid = await settledHost(f.runtime);
  const seen = f.outcomes.length;
  let fired: Promise<number> | undefined;
  const report = await f.runtime.migrate('counter', to, {
    onPhase: (entered) => {
      if (entered !== phase || fired) return;
      const hit = (pid: number): number => {
        inject(pid, signal);
        return pid;
      };
      const later = <T>(value: () => T): Promise<T> =>
        new Promise((resolve) => setTimeout(() => resolve(value()), delayMs));
      if (victim === 'source') fired = delayMs === 0 ? Promise.resolve(hit(sourcePid)) : later(() => hit(sourcePid));
      // At 'preparing' the target's host is being started: it is hit as soon as it exists.
      else
        fired = targetHost(Number(to.slice(-1)), sourcePid).then((pid) =>
          delayMs === 0 ? hit(pid) : later(() => hit(pid)),
        );
    },
  });
  assert.ok(
    fired,
    `the migration entered ${phase}: ${report.status} at ${report.failedPhase ?? '-'}: ${report.message}`,
  );
  const victimPid = await fired;
  await faultTookEffect(victimPid);
  const switched =
    report.status === 'migrated' ||
    (report.failedPhase !== undefined && MIGRATION_PHASES.indexOf(report.failedPhase) >= SWITCH);
  const check = await checkAfterFault(f.runtime, new Map([['counter', floor]]), () => f.outcomes.slice(seen));
  const where = check.kernels.get('counter')?.device;
  ledger.record(point, check, { restarts: 1 });
  assertClean(check, point);
  // Interrupted before the switch: on its source; switched: on its target. The coordinator agrees.
  assert.equal(where, switched ? to : from, `${report.status} at ${report.failedPhase ?? '-'}: ${report.message}`);
  assert.equal(f.coordinator.kernelDevice('counter'), where, 'the coordinator records where it runs');
  if (!switched) assert.match(report.message, new RegExp(`keeps running on ${from}`));
}

// SIGSTOP where a loop watchdog catches it (the source preparing and quiescing: its loop runs
// until the drain answers) and where only the request limit does (the target importing: 15 s).
const STALLED: readonly [MigrationPhase, Victim][] = [
  ['preparing', 'source'],
  ['quiescing', 'source'],
  ['transferring', 'target'],
];

for (const victim of ['source', 'target'] as const) {
  for (const phase of MIGRATION_PHASES) {
    test(`migration: SIGKILL of the ${victim}'s host at ${phase}`, { timeout: 90_000 }, async (t) => {
      if (suite.skip) return t.skip(suite.skip);
      await migrateWithFault(`${phase} ${victim} SIGKILL`, phase, victim, 'SIGKILL');
    });
  }
}

for (const [phase, victim] of STALLED) {
  test(
    `migration: SIGSTOP of the ${victim}'s host at ${phase} (a watchdog kills it)`,
    { timeout: 90_000 },
    async (t) => {
      if (suite.skip) return t.skip(suite.skip);
      await migrateWithFault(`${phase} ${victim} SIGSTOP`, phase, victim, 'SIGSTOP');
    },
  );
}

test(
  'migration: faults at seeded random phases, hosts, signals and delays (RINGKERNEL_FAULT_RUNS, RINGKERNEL_FAULT_SEED)',
  { timeout: 600_000 },
  async (t) => {
    if (suite.skip) return t.skip(suite.skip);
    const random = randomFaults('migration');
    if ('skip' in random) return t.skip(random.skip);
    const { runs, choose } = random;
    for (let run = 0; run < runs; run++) {
      const phase = choose.pick(MIGRATION_PHASES);
      const victim = choose.pick<Victim>(['source', 'target']);
      const signal = choose.pick<FaultSignal>(['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGSTOP']);
      const delayMs = choose.below(20);
      await t.test(`run ${run + 1}: ${signal} of the ${victim} at ${phase} + ${delayMs} ms`, async () => {
        await migrateWithFault(`random ${phase} ${victim} ${signal}`, phase, victim, signal, delayMs);
      });
    }
  },
);
