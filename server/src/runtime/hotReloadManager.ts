// Hot reload, as the seed's HotReloadManager names it, with every phase real: validate with the
// compiler that runs the code, compile on the kernel's device, drain at a step boundary,
// checkpoint, swap, restore, resume; per-phase timings, fallback versions, retries, rollback,
// statistics. What the seed got wrong is fixed: a reload asked for while another runs is queued
// (its in-progress guard never fired), a validation failure counts as a failed reload, and a new
// version that hangs or faults is rolled back from its checkpoint instead of reported as done.
//
// Decision: validation and compilation run at the same time, before the drain, while the old
// version keeps stepping (an invalid version's module is compiled, never run, and thrown away);
// the kernel pauses only for drain, checkpoint, swap and its first new step.
import type { CompiledKernelHandle, KernelSource } from '../backends/backend';
import { GpuError } from '../backends/gpuError';
import { formatBytes } from '../format';
import { errorMessage, type Logger } from '../logger';
import type { KernelCheckpoint } from './kernelCheckpoint';
import type { HotReloadStats, ReloadOutcome, ReloadPhaseTimings, ReloadStatus } from './kernelReports';
import { kernelVersion, type KernelVersion, type ManagedKernel } from './managedKernel';

export interface HotReloadConfig {
  enabled: boolean;
  /** Check new code with the real compiler before anything is touched. */
  validateBeforeSwap: boolean;
  /** Keep the replaced version for rollback. */
  keepFallback: boolean;
  /** Attempts after the first when the device host was lost mid-reload (not for invalid code). */
  maxRetries: number;
  retryBackoffMs: number;
  /** A version that hangs or faults this soon after it started is rolled back automatically. */
  probationMs: number;
  /** More failures than this within a minute stop the kernel instead of recovering it again. */
  maxRecoveriesPerMinute: number;
}

export const DEFAULT_HOT_RELOAD_CONFIG: HotReloadConfig = {
  enabled: true,
  validateBeforeSwap: true,
  keepFallback: true,
  maxRetries: 3,
  retryBackoffMs: 500,
  probationMs: 15_000,
  maxRecoveriesPerMinute: 3,
};

/** Compiler errors as "line:col: message" lines; empty when the code is valid. */
export type Validate = (kernelId: string, source: KernelSource, path: string) => Promise<string[]>;

export interface HotReloadDependencies {
  validate: Validate;
  /** Every outcome, whoever asked for it (save, command, the manager itself). */
  notify(outcome: ReloadOutcome): void;
  log: Logger;
}

/** A compile started beside validation, on the host generation it belongs to. */
interface EarlyCompile {
  generation: number;
  result: Promise<{ ok: true; handle: CompiledKernelHandle; ms: number } | { ok: false; error: unknown }>;
}

interface Request {
  seq: number;
  source: KernelSource;
  startedAt: number;
  validateMs: number;
  early: EarlyCompile | undefined;
  resolve(outcome: ReloadOutcome): void;
}

interface KernelRequests {
  /** The newest request number handed out for this kernel. */
  lastSeq: number;
  /** The newest valid request that has been queued: older ones are superseded. */
  lastQueuedSeq: number;
  /** The valid request waiting for the one in progress; a newer one replaces it. */
  pending: Request | undefined;
  inProgress: boolean;
  recoveries: number[];
}

/** A reload phase failed in a way that leaves the kernel without its device (host lost). */
class HostLost extends Error {}

const now = (): number => performance.now();

export class HotReloadManager {
  private readonly requests = new Map<string, KernelRequests>();
  private readonly counters = {
    successfulReloads: 0, failedReloads: 0, validationFailures: 0, rollbacks: 0, automaticRollbacks: 0,
    recoveries: 0, superseded: 0, retries: 0, statePreservedCount: 0,
    drainMs: 0, compileMs: 0, swapMs: 0, totalMs: 0,
  };

  constructor(private readonly config: HotReloadConfig, private readonly deps: HotReloadDependencies) {}

  isReloadInProgress(kernelId: string): boolean {
    const entry = this.requests.get(kernelId);
    return entry !== undefined && (entry.inProgress || entry.pending !== undefined);
  }

  /**
   * Reloads `kernel` with `source`. Invalid code is rejected at once and touches nothing. A valid
   * request made while another reload of the kernel runs waits for it; of several waiting, only
   * the newest runs, the others are superseded.
   */
  async reload(kernel: ManagedKernel, source: KernelSource): Promise<ReloadOutcome> {
    const entry = this.entryFor(kernel.id);
    const seq = ++entry.lastSeq;
    const startedAt = now();
    if (!this.config.enabled) return this.finish(kernel, 'failed', { message: `${kernel.id}: hot reload is disabled; the running version was kept` });
    // Compiling on the device needs nothing from validation: run both at once, and throw the
    // compiled module away if the code turns out invalid. Only compiled, never run, before then.
    const early = this.compileEarly(kernel, source);
    const discard = (): void => discardEarly(kernel, early);
    let validateMs = 0;
    if (this.config.validateBeforeSwap) {
      const errors = await this.validate(kernel, source, early);
      validateMs = now() - startedAt;
      if (errors.length > 0) {
        discard();
        this.counters.validationFailures++;
        this.counters.failedReloads++;
        const running = kernel.state === 'running' ? `v${kernel.version.number} keeps running` : 'nothing was changed';
        return this.finish(kernel, 'rejected', {
          message: `${kernel.id}: the new code has ${errors.length} error${errors.length === 1 ? '' : 's'}; ${running}. See the Problems panel.`,
          errors,
        });
      }
    }
    if (seq < entry.lastQueuedSeq) {
      discard();
      return this.superseded(kernel);
    }
    entry.lastQueuedSeq = seq;
    const replaced = entry.pending;
    return new Promise<ReloadOutcome>((resolve) => {
      const request: Request = { seq, source, startedAt, validateMs, early, resolve };
      entry.pending = request;
      if (replaced) {
        discardEarly(kernel, replaced.early);
        replaced.resolve(this.superseded(kernel));
      }
      void kernel.exclusive(async () => {
        if (entry.pending !== request) return;
        entry.pending = undefined;
        entry.inProgress = true;
        try {
          request.resolve(await this.executeWithRetries(kernel, request));
        } catch (error) {
          request.resolve(this.finish(kernel, 'failed', { message: `${kernel.id}: the reload failed: ${errorMessage(error)}` }));
        } finally {
          entry.inProgress = false;
        }
      });
    });
  }

  /** Returns `kernel` to its previous version, keeping its state and step count. */
  rollback(kernel: ManagedKernel): Promise<ReloadOutcome> {
    return kernel.exclusive(async () => {
      const fallback = kernel.fallback;
      const from = kernel.state === 'stopped' ? undefined : kernel.version;
      if (!fallback || !from) {
        this.counters.failedReloads++;
        const why = !from ? 'it is not running' : 'it has no earlier version (it has not been reloaded since it started)';
        return this.finish(kernel, 'failed', { message: `${kernel.id}: cannot roll back: ${why}` });
      }
      const startedAt = now();
      try {
        const outcome = await this.swapTo(kernel, fallback, startedAt, 0, { keepFallback: false, rollback: true });
        this.counters.rollbacks++;
        return outcome;
      } catch (error) {
        this.counters.failedReloads++;
        return this.afterFailedSwap(kernel, error);
      }
    });
  }

  /**
   * Brings `kernel` back after its device host died or its loop failed outside any reload: a
   * version still on probation (and the culprit) is rolled back, anything else resumes its own
   * version from its last checkpoint.
   */
  recover(kernel: ManagedKernel, reason: string, culprit: boolean): Promise<ReloadOutcome | undefined> {
    return kernel.exclusive(async () => {
      if (kernel.state === 'stopped' || kernel.state === 'failed') return undefined;
      if (kernel.alive && kernel.looping) return undefined;
      return this.recoverNow(kernel, reason, culprit);
    });
  }

  stats(): HotReloadStats {
    const c = this.counters;
    const done = Math.max(1, c.successfulReloads);
    return {
      successfulReloads: c.successfulReloads,
      failedReloads: c.failedReloads,
      validationFailures: c.validationFailures,
      rollbacks: c.rollbacks,
      automaticRollbacks: c.automaticRollbacks,
      recoveries: c.recoveries,
      superseded: c.superseded,
      retries: c.retries,
      statePreservedCount: c.statePreservedCount,
      avgDrainMs: c.drainMs / done,
      avgCompileMs: c.compileMs / done,
      avgSwapMs: c.swapMs / done,
      avgTotalMs: c.totalMs / done,
    };
  }

  forget(kernelId: string): void {
    this.requests.delete(kernelId);
  }

  private entryFor(kernelId: string): KernelRequests {
    let entry = this.requests.get(kernelId);
    if (!entry) {
      entry = { lastSeq: 0, lastQueuedSeq: 0, pending: undefined, inProgress: false, recoveries: [] };
      this.requests.set(kernelId, entry);
    }
    return entry;
  }

  /**
   * The validate phase: the editor's validators (Tint for WGSL, the same compiler Dawn runs).
   * For PTX the device's own JIT, which the early compile already ran on the kernel's device, is
   * the compiler that will run the code; running ptxas too would only add its start-up (about
   * 30 ms measured on an H100 machine). The editor's diagnostics still come from ptxas.
   */
  private async validate(kernel: ManagedKernel, source: KernelSource, early: EarlyCompile | undefined): Promise<string[]> {
    if (source.language === 'ptx' && early) {
      const result = await early.result;
      if (result.ok) return [];
      if (result.error instanceof GpuError && (result.error.code === 'COMPILE_FAILED' || result.error.code === 'ENTRY_POINT_MISSING')) return compilerErrors(result.error);
      // Not the code's fault (the host was lost, ...): the reload itself will report it.
      return [];
    }
    return this.deps.validate(kernel.id, source, kernel.spec.source).catch((error: unknown) => [`the validator failed: ${errorMessage(error)}`]);
  }

  private compileEarly(kernel: ManagedKernel, source: KernelSource): EarlyCompile | undefined {
    const generation = kernel.generation;
    if (generation === undefined || kernel.state !== 'running') return undefined;
    if (kernelVersion(0, source).codeSha256 === kernel.version.codeSha256) return undefined;
    const started = now();
    return {
      generation,
      result: kernel.compile(source).then(
        (handle) => ({ ok: true as const, handle, ms: now() - started }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    };
  }

  private async executeWithRetries(kernel: ManagedKernel, request: Request): Promise<ReloadOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.execute(kernel, request);
      } catch (error) {
        if (!(error instanceof HostLost) || attempt >= this.config.maxRetries) {
          this.counters.failedReloads++;
          return this.finish(kernel, 'failed', { message: `${kernel.id}: the reload failed and v${kernel.version.number} keeps running: ${errorMessage(error)}` });
        }
        this.counters.retries++;
        this.deps.log.warn(`${kernel.id}: reload attempt ${attempt + 1} lost its device host (${errorMessage(error)}); retrying in ${this.config.retryBackoffMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, this.config.retryBackoffMs * (attempt + 1)));
        // The kernel must run again before the next attempt drains it.
        if (!kernel.alive || !kernel.looping) await this.recoverNow(kernel, errorMessage(error), false);
      }
    }
  }

  private async execute(kernel: ManagedKernel, request: Request): Promise<ReloadOutcome> {
    if (kernel.state !== 'running') {
      this.counters.failedReloads++;
      return this.finish(kernel, 'failed', { message: `${kernel.id} is ${kernel.state}, not running; start the kernels to run the saved code` });
    }
    const current = kernel.version;
    const candidate = kernelVersion(kernel.highestVersion + 1, request.source);
    if (candidate.codeSha256 === current.codeSha256) {
      discardEarly(kernel, request.early);
      return this.finish(kernel, 'unchanged', { message: `${kernel.id}: the saved code is v${current.number}, which is running; nothing to reload` });
    }
    try {
      const outcome = await this.swapTo(kernel, candidate, request.startedAt, request.validateMs, { keepFallback: this.config.keepFallback, rollback: false, early: request.early });
      return outcome;
    } catch (error) {
      if (error instanceof HostLost) throw error;
      this.counters.failedReloads++;
      return this.afterFailedSwap(kernel, error);
    }
  }

  /**
   * The phases, in order. Before the drain a failure leaves the old version running; after it,
   * the kernel goes back to the version it ran, from the checkpoint just taken.
   */
  private async swapTo(kernel: ManagedKernel, target: KernelVersion, startedAt: number, validateMs: number,
    options: { keepFallback: boolean; rollback: boolean; early?: EarlyCompile | undefined }): Promise<ReloadOutcome> {
    const from = kernel.version;
    let phase = now();
    const lap = (): number => { const t = now(); const ms = t - phase; phase = t; return ms; };
    let handle: CompiledKernelHandle | undefined;
    let compileMs: number;
    // A compile made beside validation counts if it succeeded in the host process that still runs.
    const early = options.early && options.early.generation === kernel.generation ? await options.early.result : undefined;
    if (early && !early.ok && kernel.alive) throw new CompileFailed(early.error);
    if (early?.ok) {
      handle = early.handle;
      compileMs = early.ms;
      lap();
    } else {
      try {
        handle = await kernel.compile(target.source);
      } catch (error) {
        if (!kernel.alive) throw new HostLost(errorMessage(error));
        throw new CompileFailed(error);
      }
      compileMs = lap();
    }
    kernel.setState('reloading');
    let drainMs: number;
    let pending: Promise<KernelCheckpoint>;
    const previous = kernel.lastCheckpoint;
    try {
      await kernel.drain();
      drainMs = lap();
      pending = kernel.beginCheckpoint();
    } catch (error) {
      // Nothing was swapped: the old version comes back from its last checkpoint, then we retry.
      await kernel.releaseHandle(handle).catch(() => undefined);
      if (!kernel.alive) throw new HostLost(errorMessage(error));
      await kernel.resume();
      throw error;
    }
    // The checkpoint's copy is queued on the device ahead of the new version's first step; its
    // bytes cross into this process while that version starts, so the reload does not wait for
    // them, yet they are there if that version hangs.
    const checkpointStarted = now();
    let checkpointMs = 0;
    const arrived = pending.then((checkpoint) => {
      checkpointMs = now() - checkpointStarted;
      return checkpoint;
    });
    arrived.catch(() => undefined);
    if (options.rollback) kernel.popFallback();
    const old = kernel.swap(handle, target, { keepFallback: options.keepFallback });
    const swapMs = lap();
    let restored = false;
    let restoreMs: number;
    let resumeMs: number;
    let totalMs: number;
    try {
      if (!kernel.alive) restored = await kernel.restore(await arrived, target);
      restoreMs = lap();
      await kernel.resume();
      resumeMs = lap();
      totalMs = now() - startedAt;
    } catch (error) {
      // The new version did not run: put the one before back, from the checkpoint.
      const checkpoint = await arrived.catch(() => previous);
      return this.rollBackAutomatically(kernel, from, target, checkpoint, error);
    }
    kernel.resumedAt = Date.now();
    // Freeing the old module is not on the way to the new version running.
    void kernel.releaseHandle(old).catch(() => undefined);
    const checkpoint = await arrived.catch((error: unknown) => {
      this.deps.log.warn(`${kernel.id}: the checkpoint taken at the swap did not arrive (${errorMessage(error)}); the previous one stays the recovery point`);
      return previous;
    });
    const timings: ReloadPhaseTimings = { validateMs, compileMs, drainMs, checkpointMs, swapMs, restoreMs, resumeMs, totalMs };
    if (!options.rollback) {
      this.counters.successfulReloads++;
      this.counters.drainMs += drainMs;
      this.counters.compileMs += compileMs;
      this.counters.swapMs += swapMs;
      this.counters.totalMs += timings.totalMs;
      this.counters.statePreservedCount++;
    }
    kernel.rollbackPoint = checkpoint;
    const size = formatBytes(kernel.spec.stateBytes);
    const where = kernel.location.key;
    const ms = Math.round(timings.totalMs);
    const message = options.rollback
      ? `${kernel.id} rolled back from v${from.number} to v${target.number} on ${where} in ${ms} ms (state preserved, ${size})`
      : `${kernel.id} v${target.number} reloaded on ${where} in ${ms} ms (state preserved${restored ? ' from its checkpoint' : ''}, ${size})`;
    return this.finish(kernel, options.rollback ? 'rolledBack' : 'reloaded', { message, timings, from, statePreserved: true });
  }

  private async rollBackAutomatically(kernel: ManagedKernel, good: KernelVersion, bad: KernelVersion, checkpoint: KernelCheckpoint | undefined, error: unknown): Promise<ReloadOutcome> {
    this.counters.failedReloads++;
    this.counters.automaticRollbacks++;
    if (kernel.fallback?.number === good.number) kernel.popFallback();
    const what = describeFailure(error);
    kernel.setState('recovering');
    try {
      await kernel.start(good, checkpoint);
      kernel.rollbackPoint = checkpoint;
      const from = checkpoint
        ? `from its checkpoint at step ${checkpoint.step} (state preserved, ${formatBytes(checkpoint.stateBytes)})`
        : 'from a zeroed state (no checkpoint survived its device host)';
      return this.finish(kernel, 'autoRolledBack', {
        message: `${kernel.id} v${bad.number} ${what}; rolled back to v${good.number} ${from}`,
        from: bad,
        statePreserved: checkpoint !== undefined,
      });
    } catch (recoveryError) {
      kernel.setState('failed', `v${bad.number} ${what}, and v${good.number} could not be restored: ${errorMessage(recoveryError)}`);
      return this.finish(kernel, 'failed', { message: `${kernel.id} v${bad.number} ${what}, and v${good.number} could not be restored: ${errorMessage(recoveryError)}. Fix the kernel and start it again.`, from: bad });
    }
  }

  /** A compile on the device failed (the old version still runs) or the kernel could not resume. */
  private afterFailedSwap(kernel: ManagedKernel, error: unknown): ReloadOutcome {
    if (error instanceof CompileFailed) {
      if (kernel.state === 'reloading') kernel.setState('running');
      return this.finish(kernel, 'failed', { message: `${kernel.id}: the device's compiler refused the new code; v${kernel.version.number} keeps running: ${errorMessage(error.cause)}` });
    }
    return this.finish(kernel, 'failed', { message: `${kernel.id}: ${errorMessage(error)}` });
  }

  private async recoverNow(kernel: ManagedKernel, reason: string, culprit: boolean): Promise<ReloadOutcome> {
    const entry = this.entryFor(kernel.id);
    const minuteAgo = Date.now() - 60_000;
    entry.recoveries = entry.recoveries.filter((at) => at > minuteAgo);
    if (entry.recoveries.length >= this.config.maxRecoveriesPerMinute) {
      const message = `${kernel.id} failed ${entry.recoveries.length + 1} times within a minute (last: ${reason}); it was stopped. Fix the kernel and run "RingKernel: Start Kernels".`;
      kernel.setState('failed', message);
      return this.finish(kernel, 'failed', { message });
    }
    entry.recoveries.push(Date.now());
    const current = kernel.version;
    const onProbation = culprit && kernel.fallback !== undefined && kernel.rollbackPoint !== undefined && Date.now() - kernel.resumedAt < this.config.probationMs;
    if (onProbation && kernel.rollbackPoint && kernel.fallback) {
      return this.rollBackAutomatically(kernel, kernel.fallback, current, kernel.rollbackPoint, new GpuError('WATCHDOG_TIMEOUT', reason));
    }
    const checkpoint = kernel.lastCheckpoint;
    kernel.setState('recovering');
    try {
      await kernel.start(current, checkpoint);
      this.counters.recoveries++;
      const from = checkpoint ? `its checkpoint at step ${checkpoint.step}` : 'a zeroed state (no checkpoint had been taken yet)';
      return this.finish(kernel, 'recovered', { message: `${kernel.id} v${current.number} came back from ${from} after: ${reason}`, statePreserved: checkpoint !== undefined });
    } catch (error) {
      const message = `${kernel.id} could not be recovered after "${reason}": ${errorMessage(error)}`;
      kernel.setState('failed', message);
      return this.finish(kernel, 'failed', { message });
    }
  }

  private superseded(kernel: ManagedKernel): ReloadOutcome {
    this.counters.superseded++;
    return this.finish(kernel, 'superseded', { message: `${kernel.id}: a newer save replaced this one before it was loaded` });
  }

  private finish(kernel: ManagedKernel, status: ReloadStatus, details: { message: string; timings?: ReloadPhaseTimings; errors?: string[]; from?: KernelVersion; statePreserved?: boolean }): ReloadOutcome {
    const toVersion = kernel.state === 'stopped' && kernel.step === 0 ? 0 : safeVersion(kernel);
    const outcome: ReloadOutcome = {
      kernelId: kernel.id,
      status,
      fromVersion: details.from?.number ?? toVersion,
      toVersion,
      device: kernel.location.key,
      stateBytes: kernel.spec.stateBytes,
      statePreserved: details.statePreserved ?? false,
      message: details.message,
      at: new Date().toISOString(),
    };
    if (details.timings) outcome.timings = details.timings;
    if (details.errors) outcome.errors = details.errors;
    if (status !== 'superseded') kernel.lastReload = outcome;
    kernel.setState(kernel.state);
    this.deps.notify(outcome);
    return outcome;
  }
}

/** Frees the module a compile beside validation made, once it exists, when it will not be used. */
function discardEarly(kernel: ManagedKernel, early: EarlyCompile | undefined): void {
  void early?.result.then((r) => (r.ok ? kernel.releaseHandle(r.handle) : undefined)).catch(() => undefined);
}

class CompileFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(errorMessage(cause));
  }
}

function safeVersion(kernel: ManagedKernel): number {
  try {
    return kernel.version.number;
  } catch {
    return 0;
  }
}

/** The error lines of a compiler's log, or its message when the log has none. */
function compilerErrors(error: GpuError): string[] {
  const lines = (error.log ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const errors = lines.filter((line) => /error/i.test(line));
  return errors.length > 0 ? errors : [error.message];
}

function describeFailure(error: unknown): string {
  if (error instanceof GpuError) {
    if (error.code === 'WATCHDOG_TIMEOUT') return 'hung (its step did not finish in time)';
    if (error.code === 'KERNEL_FAULT') return `faulted (${error.message})`;
    if (error.code === 'HOST_EXITED') return `lost its device host (${error.message})`;
  }
  return `failed (${errorMessage(error)})`;
}
