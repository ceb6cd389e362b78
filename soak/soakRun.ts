// One soak run: the real language server on the soak's workspace, with every kind of work at once
// (docs/reliability.md, Soak): kernels stepping on every device, the ring's messages flowing, a
// hot reload every few seconds (valid and invalid versions in turn), a migration every few
// seconds, a device host killed with SIGKILL every minute, large files validated, and a sample of
// memory, router figures and kernel states every two seconds.
import { join } from 'node:path';
import {
  kernelsRequest,
  migrateRequest,
  migrationTargetsRequest,
  routerStatsRequest,
  type KernelView,
  type KernelsInfo,
  type ReloadOutcome,
  type RouterStats,
} from '../server/src/lsp/protocol';
import { errorMessage } from '../server/src/logger';
import {
  DEFAULT_MEMORY_BOUND,
  memoryTrend,
  type MemoryBound,
  type MemorySample,
  type MemoryTrend,
} from './memoryTrend';
import { processTree } from './processTree';
import { SoakLedger, seededRandom, type MinuteFigures } from './soakLedger';
import { SoakServer, within } from './soakServer';
import type { SoakWorkspace } from './soakWorkspace';

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Progress lines (stderr). */
  progress(line: string): void;
  reloadEveryMs?: number;
  migrateEveryMs?: number;
  validateEveryMs?: number;
  killEveryMs?: number;
  firstKillAtMs?: number;
  sampleEveryMs?: number;
  warmupMs?: number;
  bound?: MemoryBound;
  /** `ringkernel.*` settings beyond the soak's own. */
  settings?: object;
}

export interface RouterSummary {
  totals: { sent: number; delivered: number; failed: number; pending: number };
  failures: { kind: string; count: number; detail: string }[];
}

/** A host the soak killed, and what became of its kernels. */
export interface FaultRecord {
  atMs: number;
  pid: number;
  role: string;
  kernels: { id: string; stepAtKill: number; restoredStep?: number; stepsRerun?: number; outcome?: string }[];
  /** Every kernel of it running again in another host, and when; or why not. */
  survived: boolean;
  backAfterMs?: number;
  problem?: string;
}

export interface SoakResult {
  workspace: string;
  serverLog: string;
  settings: object;
  kernels: { id: string; device: string }[];
  minutes: MinuteFigures[];
  faults: FaultRecord[];
  totals: {
    reloadSaves: number;
    reloadOutcomes: Record<string, number>;
    migrations: number;
    migrationsFailed: number;
    validations: number;
    hostsKilled: number;
    /** Kernels brought back from a checkpoint for a reason other than the soak's kills (the step watchdog on a loaded machine). */
    otherRecoveries: number;
    faultsSurvived: number;
    stepsRerun: number;
    messagesSent: number;
    messagesDelivered: number;
    /** Router failures (destination stopped or removed, ...) plus messages lost with a killed host. */
    messagesLost: number;
    lostWithHost: number;
    routerFailed: number;
    refused: number;
    /** Kernels not running at the end (after a grace period for a recovery in progress), with their states. */
    kernelsLost: number;
    kernelsLostDetail: { id: string; state: string; error?: string }[];
  };
  memory: {
    warmupMs: number;
    bound: MemoryBound;
    /** Whether the run was long enough after the warm-up to judge growth (bound.minSpanMinutes). */
    judged: boolean;
    note?: string;
    server: MemoryTrend | undefined;
    /** Each device host (and the Tint host) that lived long enough after the warm-up. */
    hosts: ({ pid: number; role: string; kernels: string[] } & MemoryTrend)[];
    grew: boolean;
  };
  /** The router's totals and failures when the work started (after the kernels started) and at the end. */
  router: { atStart: RouterSummary; atEnd: RouterSummary };
  /** The server's log lines at the error level (its log is serverLog). */
  errorsLogged: number;
  /** Errors the soak itself met (requests that failed, the server exiting), the first 50. */
  problems: string[];
  serverExit?: { code: number | null; signal: string | null; atMs: number };
  ok: boolean;
  /** Why not ok. */
  reasons: string[];
}

const HOST_OWN_WARMUP_MS = 30_000;

export async function runSoak(workspace: SoakWorkspace, options: SoakOptions): Promise<SoakResult> {
  const durationMs = options.minutes * 60_000;
  const warmupMs = options.warmupMs ?? 60_000;
  const bound = options.bound ?? DEFAULT_MEMORY_BOUND;
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const ledger = new SoakLedger();
  const faults: FaultRecord[] = [];
  const problems: string[] = [];
  const problem = (line: string): void => {
    if (problems.length < 50) problems.push(line);
    options.progress(`soak: ${line}`);
  };
  const settings = {
    webgpu: { instancesPerAdapter: 2 },
    validation: { onType: false },
    ...options.settings,
  };
  const serverLog = join(workspace.root, 'server.log');
  const startedAt = Date.now();
  const server = await SoakServer.start(workspace.root, settings, serverLog, startedAt);
  const request = <R>(what: string, promise: Promise<R>, ms = 30_000): Promise<R> => within(ms, what, promise);
  const kernels = (): Promise<KernelsInfo> =>
    request('ringkernel/kernels', server.connection.sendRequest(kernelsRequest));

  // Wait for every kernel to run before the clock of the work starts.
  options.progress(
    `soak: server pid ${server.pid}, workspace ${workspace.root}; waiting for ${workspace.kernels.length} kernels`,
  );
  const readyBy = Date.now() + 180_000;
  for (;;) {
    const info = await kernels();
    const running = info.kernels.filter((k) => k.state === 'running' && k.step > 0).length;
    if (running === workspace.kernels.length) break;
    if (Date.now() > readyBy || server.exit) {
      await server.close();
      const states = info.kernels.map((k) => `${k.id}: ${k.state}${k.error ? ` (${k.error})` : ''}`).join('; ');
      throw new Error(`soak: the kernels did not all start within 180 s (${states}); server log: ${serverLog}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  options.progress(
    `soak: all kernels running after ${Math.round(server.now() / 1000)} s; soaking for ${options.minutes} min`,
  );
  const workStart = server.now();
  const elapsed = (): number => server.now() - workStart;
  const outcomesFrom = server.outcomes.length;
  let stopping = false;
  const loop = async (everyMs: number, firstAtMs: number, body: () => Promise<void>): Promise<void> => {
    let next = firstAtMs;
    for (;;) {
      while (!stopping && elapsed() < next)
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, next - elapsed())));
      if (stopping) return;
      try {
        await body();
      } catch (error) {
        problem(errorMessage(error));
      }
      next = Math.max(next + everyMs, elapsed());
    }
  };

  // ---- hot reloads: each target in turn, valid and invalid versions alternating per target ----
  for (const target of workspace.reloadTargets)
    await server.open(target.path, target.languageId, target.version(0, true));
  let saveCount = 0;
  const reload = async (): Promise<void> => {
    const target = workspace.reloadTargets[saveCount % workspace.reloadTargets.length];
    if (!target) return;
    const round = Math.floor(saveCount / workspace.reloadTargets.length) + 1;
    saveCount++;
    const valid = round % 2 === 1;
    const minute = ledger.at(elapsed()).reloads;
    minute.saves++;
    if (valid) minute.validSaves++;
    else minute.invalidSaves++;
    const from = server.outcomes.length;
    await request(`the save of ${target.path}`, server.save(target.path, target.version(round, valid)), 120_000);
    // One outcome per kernel that runs the file (a kernel mid-migration or mid-recovery answers later).
    const deadline = Date.now() + 60_000;
    const waiting = new Set(target.kernels);
    while (waiting.size > 0 && Date.now() < deadline && !server.exit) {
      for (const { outcome } of server.outcomes.slice(from)) waiting.delete(outcome.kernelId);
      if (waiting.size > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (waiting.size > 0) {
      ledger.at(elapsed()).reloads.noOutcome++;
      problem(`no reload outcome within 60 s of a ${valid ? 'valid' : 'invalid'} save for ${[...waiting].join(', ')}`);
    }
  };

  // ---- migrations: a running kernel to one of its possible targets ----
  const migrate = async (): Promise<void> => {
    const running = (await kernels()).kernels.filter((k) => k.state === 'running');
    const kernel = pick(running);
    if (!kernel) return;
    const minute = ledger.at(elapsed()).migrations;
    let targets;
    try {
      targets = await request(
        'ringkernel/migrationTargets',
        server.connection.sendRequest(migrationTargetsRequest, { kernelId: kernel.id }),
      );
    } catch (error) {
      minute.refused++;
      problem(`migrationTargets ${kernel.id}: ${errorMessage(error)}`);
      return;
    }
    const target = pick(targets.targets.filter((t) => t.possible && t.device !== targets.from));
    if (!target) return;
    minute.requested++;
    try {
      const outcome = await request(
        `the migration of ${kernel.id} to ${target.device}`,
        server.connection.sendRequest(migrateRequest, { kernelId: kernel.id, device: target.device }),
        120_000,
      );
      const done = ledger.at(elapsed()).migrations;
      done[outcome.status]++;
      done.maxPausedMs = Math.max(done.maxPausedMs, Math.round(outcome.pausedMs));
      if (outcome.status !== 'migrated') options.progress(`soak: migration ${outcome.status}: ${outcome.message}`);
    } catch (error) {
      ledger.at(elapsed()).migrations.refused++;
      problem(`migrate ${kernel.id} -> ${target.device}: ${errorMessage(error)}`);
    }
  };

  // ---- validation of large files ----
  for (const file of workspace.largeFiles) await server.open(file.path, file.languageId, file.text(0));
  let validationCount = 0;
  const validate = async (): Promise<void> => {
    const file = workspace.largeFiles[validationCount % workspace.largeFiles.length];
    if (!file) return;
    validationCount++;
    const began = Date.now();
    try {
      const published = await request(
        `the validation of ${file.path}`,
        server.save(file.path, file.text(validationCount)),
        120_000,
      );
      const minute = ledger.at(elapsed()).validations;
      minute.done++;
      minute.maxMs = Math.max(minute.maxMs, Date.now() - began);
      const errors = published.diagnostics.filter((d) => d.severity === 1);
      if (errors.length > 0) {
        minute.withErrors++;
        problem(`${file.path} (valid) got ${errors.length} errors, first: ${errors[0]?.message ?? ''}`);
      }
    } catch (error) {
      ledger.at(elapsed()).validations.timedOut++;
      throw error;
    }
  };

  // ---- a device host killed ----
  const kill = async (): Promise<void> => {
    const info = await kernels();
    const byHost = new Map<number, KernelView[]>();
    for (const k of info.kernels)
      if (k.state === 'running' && k.hostPid !== undefined)
        byHost.set(k.hostPid, [...(byHost.get(k.hostPid) ?? []), k]);
    const pid = pick([...byHost.keys()].sort((a, b) => a - b));
    if (pid === undefined) return problem('no running kernel has a device host to kill');
    const victims = byHost.get(pid) ?? [];
    const role = processTree(server.pid).find((p) => p.pid === pid)?.role ?? 'deviceHost';
    const fault: FaultRecord = {
      atMs: elapsed(),
      pid,
      role,
      kernels: victims.map((k) => ({ id: k.id, stepAtKill: k.step })),
      survived: false,
    };
    faults.push(fault);
    ledger.at(fault.atMs).faults.hostsKilled++;
    options.progress(`soak: SIGKILL ${role} pid ${pid} (${victims.map((k) => k.id).join(', ')})`);
    process.kill(pid, 'SIGKILL');
    const outcomeFrom = server.outcomes.length;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = (await kernels()).kernels;
      const back = fault.kernels.every((v) => {
        const k = now.find((n) => n.id === v.id);
        return k?.state === 'running' && k.hostPid !== undefined && k.hostPid !== pid;
      });
      if (back) break;
      if (Date.now() > deadline || server.exit) {
        fault.problem = `not back within 120 s: ${fault.kernels
          .map((v) => now.find((n) => n.id === v.id))
          .map((k) => `${k?.id ?? '?'} ${k?.state ?? 'gone'}${k?.error ? ` (${k.error})` : ''}`)
          .join('; ')}`;
        ledger.at(elapsed()).faults.notSurvived++;
        return problem(`host ${pid}: ${fault.problem}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    fault.survived = true;
    fault.backAfterMs = elapsed() - fault.atMs;
    ledger.at(elapsed()).faults.survived++;
    // Steps re-run: the step each kernel had reached against the checkpoint it came back from.
    const settle = Date.now() + 10_000;
    while (Date.now() < settle && fault.kernels.some((v) => v.outcome === undefined)) {
      for (const { outcome } of server.outcomes.slice(outcomeFrom)) {
        const victim = fault.kernels.find((v) => v.id === outcome.kernelId && v.outcome === undefined);
        if (!victim || !['recovered', 'autoRolledBack', 'failed'].includes(outcome.status)) continue;
        victim.outcome = outcome.message;
        const rerun = stepsRerun(outcome, victim.stepAtKill);
        if (rerun) {
          victim.restoredStep = rerun.restoredStep;
          victim.stepsRerun = rerun.steps;
          ledger.at(elapsed()).stepsRerun += rerun.steps;
        }
      }
      if (fault.kernels.some((v) => v.outcome === undefined)) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    options.progress(
      `soak: host ${pid}'s kernels back after ${fault.backAfterMs} ms; steps re-run: ${fault.kernels
        .map((v) => `${v.id} ${v.stepsRerun ?? '?'}`)
        .join(', ')}`,
    );
  };

  // ---- samples: memory, router totals, kernel states ----
  const memory = new Map<number, { role: string; kernels: Set<string>; samples: MemorySample[] }>();
  let lastTotals = { sent: 0, delivered: 0, failed: 0, refused: 0, lostWithHost: 0 };
  const routerTotals = (stats: RouterStats): typeof lastTotals => ({
    sent: stats.totals.sent,
    delivered: stats.totals.delivered,
    failed: stats.totals.failed,
    refused: stats.failures.find((f) => f.kind === 'pendingFull')?.count ?? 0,
    lostWithHost: stats.failures.find((f) => f.kind === 'lostWithHost')?.count ?? 0,
  });
  const routerSummary = (stats: RouterStats): RouterSummary => ({
    totals: {
      sent: stats.totals.sent,
      delivered: stats.totals.delivered,
      failed: stats.totals.failed,
      pending: stats.totals.pending,
    },
    failures: stats.failures.map((f) => ({ kind: f.kind, count: f.count, detail: f.detail })),
  });
  const atStart = await request('ringkernel/routerStats', server.connection.sendRequest(routerStatsRequest));
  lastTotals = routerTotals(atStart);
  const baseTotals = lastTotals;
  let atEnd = atStart;
  let outcomesCounted = outcomesFrom;
  const countOutcomes = (): void => {
    for (const { atMs, outcome } of server.outcomes.slice(outcomesCounted)) {
      const minute = ledger.at(atMs - workStart);
      minute.reloads.outcomes[outcome.status] = (minute.reloads.outcomes[outcome.status] ?? 0) + 1;
      // A kernel brought back from a checkpoint for another reason than the soak's SIGKILL (a host
      // that exits by itself reads "exited unexpectedly" too, but only the soak sends SIGKILL): the
      // step watchdog, mostly.
      if (
        (outcome.status === 'recovered' || outcome.status === 'autoRolledBack') &&
        !outcome.message.includes('exited unexpectedly (SIGKILL)')
      )
        minute.faults.otherRecoveries++;
    }
    outcomesCounted = server.outcomes.length;
  };
  const sample = async (): Promise<void> => {
    countOutcomes();
    const at = elapsed();
    const minute = ledger.at(at);
    const info = await kernels();
    const hostKernels = new Map<number, string[]>();
    const notRunning: Record<string, number> = {};
    let notRunningCount = 0;
    for (const k of info.kernels) {
      if (k.hostPid !== undefined) hostKernels.set(k.hostPid, [...(hostKernels.get(k.hostPid) ?? []), k.id]);
      if (k.state !== 'running') {
        notRunning[k.state] = (notRunning[k.state] ?? 0) + 1;
        notRunningCount++;
      }
    }
    if (notRunningCount > minute.kernelsNotRunning.most)
      minute.kernelsNotRunning = { most: notRunningCount, states: notRunning };
    for (const p of processTree(server.pid)) {
      const series = memory.get(p.pid) ?? { role: p.role, kernels: new Set<string>(), samples: [] };
      memory.set(p.pid, series);
      series.samples.push({ atMs: at, rssMiB: p.rssMiB });
      for (const id of hostKernels.get(p.pid) ?? []) series.kernels.add(id);
      if (p.role === 'server') minute.memoryMiB.server = Math.max(minute.memoryMiB.server, round1(p.rssMiB));
      else {
        const row = minute.memoryMiB.hosts.find((h) => h.pid === p.pid);
        if (row) {
          row.maxMiB = Math.max(row.maxMiB, round1(p.rssMiB));
          for (const id of hostKernels.get(p.pid) ?? []) if (!row.kernels.includes(id)) row.kernels.push(id);
        } else
          minute.memoryMiB.hosts.push({
            pid: p.pid,
            role: p.role,
            kernels: hostKernels.get(p.pid) ?? [],
            maxMiB: round1(p.rssMiB),
          });
      }
    }
    atEnd = await request('ringkernel/routerStats', server.connection.sendRequest(routerStatsRequest));
    const totals = routerTotals(atEnd);
    for (const key of Object.keys(totals) as (keyof typeof totals)[])
      minute.messages[key] += totals[key] - lastTotals[key];
    lastTotals = totals;
  };

  let lastMinuteReported = -1;
  const report = (): void => {
    const current = Math.floor(elapsed() / 60_000);
    for (let m = lastMinuteReported + 1; m < current; m++)
      options.progress(`soak: ${minuteLine(ledger.at(m * 60_000))}`);
    lastMinuteReported = Math.max(lastMinuteReported, current - 1);
  };

  await sample();
  const loops = [
    loop(options.sampleEveryMs ?? 2_000, options.sampleEveryMs ?? 2_000, async () => {
      await sample();
      report();
    }),
    loop(options.reloadEveryMs ?? 3_000, 1_000, reload),
    loop(options.migrateEveryMs ?? 4_000, 2_000, migrate),
    loop(options.validateEveryMs ?? 5_000, 2_500, validate),
    loop(options.killEveryMs ?? 60_000, options.firstKillAtMs ?? 40_000, kill),
  ];
  while (elapsed() < durationMs && !server.exit) await new Promise((resolve) => setTimeout(resolve, 250));
  stopping = true;
  await Promise.all(loops);
  if (server.exit)
    problem(
      `the language server exited during the soak (code ${server.exit.code}, signal ${server.exit.signal}); see ${serverLog}`,
    );

  // ---- the end: every kernel running again (a recovery or migration may still be finishing) ----
  let lost: { id: string; state: string; error?: string }[] = [];
  const endBy = Date.now() + 90_000;
  while (!server.exit) {
    const info = await kernels().catch(() => undefined);
    if (!info) break;
    lost = workspace.kernels.flatMap(({ id }) => {
      const k = info.kernels.find((v) => v.id === id);
      if (k?.state === 'running') return [];
      return [{ id, state: k?.state ?? 'absent', ...(k?.error ? { error: k.error } : {}) }];
    });
    if (lost.length === 0 || Date.now() > endBy) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (server.exit) lost = workspace.kernels.map(({ id }) => ({ id, state: 'server exited' }));
  await sample().catch((error: unknown) => problem(`the last sample: ${errorMessage(error)}`));
  countOutcomes();
  // The server's own exit below is the soak's doing; an exit before it is not.
  const exitedDuring = server.exit;
  const errorsLogged = server.errorsLogged;
  await server.close();

  // ---- memory after the warm-up ----
  const serverSeries = [...memory.values()].find((s) => s.role === 'server');
  const serverTrend = serverSeries ? memoryTrend(serverSeries.samples, warmupMs, bound) : undefined;
  const hostTrends: SoakResult['memory']['hosts'] = [];
  for (const [pid, series] of memory) {
    if (series.role === 'server') continue;
    const first = series.samples[0];
    if (!first) continue;
    const trend = memoryTrend(series.samples, Math.max(warmupMs, first.atMs + HOST_OWN_WARMUP_MS), bound);
    if (trend && trend.samples >= 3)
      hostTrends.push({ pid, role: series.role, kernels: [...series.kernels], ...trend });
  }
  const grew = (serverTrend?.grew ?? false) || hostTrends.some((h) => h.grew);

  const minutes = ledger.minutes.slice(0, Math.ceil(durationMs / 60_000));
  const sum = (f: (m: MinuteFigures) => number): number => minutes.reduce((a, m) => a + f(m), 0);
  const reloadOutcomes: Record<string, number> = {};
  for (const m of ledger.minutes)
    for (const [status, count] of Object.entries(m.reloads.outcomes))
      reloadOutcomes[status] = (reloadOutcomes[status] ?? 0) + count;
  const lostWithHost = lastTotals.lostWithHost - baseTotals.lostWithHost;
  const routerFailed = lastTotals.failed - baseTotals.failed;
  const totals: SoakResult['totals'] = {
    reloadSaves: sum((m) => m.reloads.saves),
    reloadOutcomes,
    migrations: sum((m) => m.migrations.migrated),
    migrationsFailed: sum((m) => m.migrations.failed + m.migrations.cancelled + m.migrations.refused),
    validations: sum((m) => m.validations.done),
    hostsKilled: faults.length,
    otherRecoveries: sum((m) => m.faults.otherRecoveries),
    faultsSurvived: faults.filter((f) => f.survived).length,
    stepsRerun: faults.reduce((a, f) => a + f.kernels.reduce((b, k) => b + (k.stepsRerun ?? 0), 0), 0),
    messagesSent: lastTotals.sent - baseTotals.sent,
    messagesDelivered: lastTotals.delivered - baseTotals.delivered,
    messagesLost: lostWithHost + routerFailed,
    lostWithHost,
    routerFailed,
    refused: lastTotals.refused - baseTotals.refused,
    kernelsLost: lost.length,
    kernelsLostDetail: lost,
  };
  const reasons: string[] = [];
  if (totals.messagesLost > 0)
    reasons.push(
      `${totals.messagesLost} messages lost (${lostWithHost} with a killed host, ${routerFailed} failed in the router)`,
    );
  if (totals.kernelsLost > 0)
    reasons.push(
      `${totals.kernelsLost} kernels not running at the end: ${lost.map((k) => `${k.id} ${k.state}`).join(', ')}`,
    );
  if (totals.faultsSurvived < totals.hostsKilled)
    reasons.push(`${totals.hostsKilled - totals.faultsSurvived} killed hosts' kernels did not come back`);
  if (grew)
    reasons.push(
      `memory grew after the warm-up past the bound (${[...(serverTrend?.grew ? [`server ${serverTrend.slopeMiBPerMinute.toFixed(1)} MiB/min`] : []), ...hostTrends.filter((h) => h.grew).map((h) => `${h.role} pid ${h.pid} ${h.slopeMiBPerMinute.toFixed(1)} MiB/min`)].join(', ')})`,
    );
  if (exitedDuring)
    reasons.push(
      `the language server exited during the soak (code ${exitedDuring.code}, signal ${exitedDuring.signal})`,
    );
  return {
    workspace: workspace.root,
    serverLog,
    settings,
    kernels: workspace.kernels,
    minutes,
    faults,
    totals,
    memory: {
      warmupMs,
      bound,
      judged: serverTrend?.judged ?? false,
      ...(serverTrend?.judged
        ? {}
        : { note: `fewer than ${bound.minSpanMinutes} minutes after the warm-up: memory is reported, not judged` }),
      server: serverTrend,
      hosts: hostTrends,
      grew,
    },
    problems,
    router: { atStart: routerSummary(atStart), atEnd: routerSummary(atEnd) },
    errorsLogged,
    ...(exitedDuring ? { serverExit: exitedDuring } : {}),
    ok: reasons.length === 0,
    reasons,
  };
}

/**
 * The steps a recovery runs again, from its outcome's `rerun` (a recovery's, an automatic
 * rollback's or a device loss's re-placement): from the checkpoint it resumed at to the furthest
 * step the kernel is known to have reached (the runtime's count, or the soak's own look just
 * before the kill). Undefined when the outcome restored nothing (a failure).
 */
export function stepsRerun(
  outcome: Pick<ReloadOutcome, 'rerun'>,
  stepAtKill: number,
): { restoredStep: number; steps: number } | undefined {
  if (!outcome.rerun) return undefined;
  const { fromStep, reachedStep } = outcome.rerun;
  return { restoredStep: fromStep, steps: Math.max(0, Math.max(stepAtKill, reachedStep) - fromStep) };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function minuteLine(m: MinuteFigures): string {
  const outcomes = Object.entries(m.reloads.outcomes)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  const hosts = m.memoryMiB.hosts
    .filter((h) => h.role.startsWith('deviceHost'))
    .map((h) => `${h.pid}:${Math.round(h.maxMiB)}`)
    .join(' ');
  const others = m.memoryMiB.hosts
    .filter((h) => h.role === 'tintHost')
    .map((h) => `${h.pid}:${Math.round(h.maxMiB)}`)
    .join(' ');
  return (
    `minute ${m.minute + 1}: saves ${m.reloads.saves}${outcomes ? ` (${outcomes})` : ''}, migrations ${m.migrations.migrated}/${m.migrations.requested}, ` +
    `validations ${m.validations.done}, hosts killed ${m.faults.hostsKilled}, survived ${m.faults.survived}, other recoveries ${m.faults.otherRecoveries}, steps re-run ${m.stepsRerun}, ` +
    `messages delivered ${m.messages.delivered}, lost with host ${m.messages.lostWithHost}, failed ${m.messages.failed}, ` +
    `kernels not running (most) ${m.kernelsNotRunning.most}, server ${Math.round(m.memoryMiB.server)} MiB, device hosts MiB (pid:max) ${hosts}; Tint hosts MiB ${others}`
  );
}
