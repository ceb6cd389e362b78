// Hot reload, as the seed's HotReloadManager names it, with every phase real. The manager decides;
// the other runtime files do: reloadQueue.ts (which request runs, which is superseded),
// reloadPhases.ts (validate, compile, drain, checkpoint, swap, restore, resume, with timings),
// recoveryPolicy.ts (roll back, recover, or stop a failing kernel), reloadStats.ts (counters),
// reloadMessages.ts (what the user reads). What the seed got wrong is fixed: a reload asked for
// while another runs is queued, a validation failure counts as a failed reload, and a new version
// that hangs or faults is rolled back from its checkpoint instead of reported as done.
import type { KernelSource } from '../backends/backend';
import { GpuError } from '../backends/gpuError';
import { errorMessage, type Logger } from '../logger';
import type { KernelCheckpoint } from '../checkpoint/kernelCheckpoint';
import type { HotReloadStats, ReloadOutcome, ReloadPhaseTimings, ReloadStatus } from './kernelReports';
import type { KernelVersion, ManagedKernel } from './managedKernel';
import {
  autoRolledBackMessage,
  describeFailure,
  recoveredMessage,
  rejectedMessage,
  rerunText,
  swappedMessage,
  tooManyFailuresMessage,
} from './reloadMessages';
import {
  CompileFailed,
  HostLost,
  compileEarly,
  discardEarly,
  now,
  runReloadPhases,
  validatePhase,
  type ReloadPhaseListener,
} from './reloadPhases';
import { ReloadQueue, type EarlyCompile, type ReloadRequest } from './reloadQueue';
import { RecoveryPolicy } from './recoveryPolicy';
import { ReloadCounters } from './reloadStats';

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
  /** Hears each phase of every reload as it is entered (a test hook: fault injection). */
  onPhase?: ReloadPhaseListener;
}

export class HotReloadManager {
  private readonly queue = new ReloadQueue();
  private readonly recovery: RecoveryPolicy;
  private readonly counters = new ReloadCounters();

  constructor(
    private readonly config: HotReloadConfig,
    private readonly deps: HotReloadDependencies,
  ) {
    this.recovery = new RecoveryPolicy(config.maxRecoveriesPerMinute, config.probationMs);
  }

  isReloadInProgress(kernelId: string): boolean {
    return this.queue.busy(kernelId);
  }

  /**
   * Reloads `kernel` with `source`. Invalid code is rejected at once and touches nothing. A valid
   * request made while another reload of the kernel runs waits for it; of several waiting, only
   * the newest runs, the others are superseded.
   */
  async reload(kernel: ManagedKernel, source: KernelSource): Promise<ReloadOutcome> {
    const seq = this.queue.take(kernel.id);
    const startedAt = now();
    if (!this.config.enabled)
      return this.finish(kernel, 'failed', {
        message: `${kernel.id}: hot reload is disabled; the running version was kept`,
      });
    // Compiling on the device needs nothing from validation: run both at once, and throw the
    // compiled module away if the code turns out invalid. Only compiled, never run, before then.
    const early = compileEarly(kernel, source);
    const discard = (): void => discardEarly(early);
    let validateMs = 0;
    if (this.config.validateBeforeSwap) {
      this.deps.onPhase?.(kernel.id, 'validate');
      const errors = await validatePhase(kernel, source, early, this.deps.validate);
      validateMs = now() - startedAt;
      if (errors.length > 0) {
        discard();
        this.counters.validationFailures++;
        this.counters.failedReloads++;
        return this.finish(kernel, 'rejected', {
          message: rejectedMessage(
            kernel.id,
            errors,
            kernel.state === 'running' || kernel.state === 'reloading' ? kernel.version.number : undefined,
          ),
          errors,
        });
      }
    }
    if (this.queue.outdated(kernel.id, seq)) {
      discard();
      return this.superseded(kernel);
    }
    return new Promise<ReloadOutcome>((resolve) => {
      const request: ReloadRequest = { seq, source, startedAt, validateMs, early, resolve };
      const replaced = this.queue.enqueue(kernel.id, request);
      if (replaced) {
        discardEarly(replaced.early);
        replaced.resolve(this.superseded(kernel));
      }
      void kernel.exclusive(async () => {
        if (!this.queue.begin(kernel.id, request)) return;
        try {
          request.resolve(await this.executeWithRetries(kernel, request));
        } catch (error) {
          request.resolve(
            this.finish(kernel, 'failed', { message: `${kernel.id}: the reload failed: ${errorMessage(error)}` }),
          );
        } finally {
          this.queue.end(kernel.id);
        }
      });
    });
  }

  /** Returns `kernel` to its previous version, keeping its state and step count. */
  rollback(kernel: ManagedKernel): Promise<ReloadOutcome> {
    return kernel.exclusive(async () => {
      const fallback = kernel.fallback;
      const from = kernel.state === 'running' ? kernel.version : undefined;
      if (!fallback || !from) {
        this.counters.failedReloads++;
        const why = !from
          ? `it is ${kernel.state}, not running`
          : 'it has no earlier version (it has not been reloaded since it started)';
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
    return this.counters.snapshot();
  }

  forget(kernelId: string): void {
    this.queue.forget(kernelId);
    this.recovery.forget(kernelId);
  }

  /** The kernel came back on another device (its own was lost): its failures there start a fresh count. */
  deviceReplaced(kernelId: string): void {
    this.recovery.forget(kernelId);
  }

  private async executeWithRetries(kernel: ManagedKernel, request: ReloadRequest): Promise<ReloadOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.execute(kernel, request);
      } catch (error) {
        if (!(error instanceof HostLost) || attempt >= this.config.maxRetries) {
          this.counters.failedReloads++;
          return this.finish(kernel, 'failed', {
            message: `${kernel.id}: the reload failed and v${kernel.version.number} keeps running: ${errorMessage(error)}`,
          });
        }
        this.counters.retries++;
        this.deps.log.warn(
          `${kernel.id}: reload attempt ${attempt + 1} lost its device host (${errorMessage(error)}); retrying in ${this.config.retryBackoffMs} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, this.config.retryBackoffMs * (attempt + 1)));
        // The kernel must run again before the next attempt drains it.
        if (!kernel.alive || !kernel.looping) await this.recoverNow(kernel, errorMessage(error), false);
      }
    }
  }

  private async execute(kernel: ManagedKernel, request: ReloadRequest): Promise<ReloadOutcome> {
    if (kernel.state !== 'running') {
      this.counters.failedReloads++;
      return this.finish(kernel, 'failed', {
        message: `${kernel.id} is ${kernel.state}, not running; start the kernels to run the saved code`,
      });
    }
    const current = kernel.version;
    const candidate = kernel.nextVersion(request.source);
    if (candidate.codeSha256 === current.codeSha256) {
      discardEarly(request.early);
      return this.finish(kernel, 'unchanged', {
        message: `${kernel.id}: the saved code is v${current.number}, which is running; nothing to reload`,
      });
    }
    try {
      const outcome = await this.swapTo(kernel, candidate, request.startedAt, request.validateMs, {
        keepFallback: this.config.keepFallback,
        rollback: false,
        early: request.early,
      });
      return outcome;
    } catch (error) {
      if (error instanceof HostLost) throw error;
      this.counters.failedReloads++;
      return this.afterFailedSwap(kernel, error);
    }
  }

  /**
   * Runs the phases (reloadPhases.ts). Before the drain a failure leaves the old version running;
   * after it, the kernel goes back to the version it ran, from the checkpoint just taken.
   */
  private async swapTo(
    kernel: ManagedKernel,
    target: KernelVersion,
    startedAt: number,
    validateMs: number,
    options: { keepFallback: boolean; rollback: boolean; early?: EarlyCompile | undefined },
  ): Promise<ReloadOutcome> {
    const from = kernel.version;
    const result = await runReloadPhases(
      kernel,
      target,
      startedAt,
      validateMs,
      { ...options, onPhase: this.deps.onPhase },
      this.deps.log,
    );
    // The new version did not run: put the one before back, from the checkpoint.
    if (!result.ok) return this.rollBackAutomatically(kernel, from, target, result.checkpoint, result.error);
    const { timings, restored, checkpoint } = result;
    if (!options.rollback) this.counters.reloaded(timings);
    kernel.keepRollbackPoint(checkpoint);
    const message = swappedMessage(
      kernel.id,
      { from: from.number, to: target.number, rollback: options.rollback, restored },
      kernel.location.key,
      timings,
      kernel.spec.stateBytes,
    );
    return this.finish(kernel, options.rollback ? 'rolledBack' : 'reloaded', {
      message,
      timings,
      from,
      statePreserved: true,
    });
  }

  private async rollBackAutomatically(
    kernel: ManagedKernel,
    good: KernelVersion,
    bad: KernelVersion,
    checkpoint: KernelCheckpoint | undefined,
    error: unknown,
  ): Promise<ReloadOutcome> {
    this.counters.failedReloads++;
    this.counters.automaticRollbacks++;
    if (kernel.fallback?.number === good.number) kernel.popFallback();
    const what = describeFailure(error);
    const rerun = { fromStep: checkpoint?.step ?? 0, reachedStep: kernel.step };
    kernel.beginRecovery();
    try {
      await kernel.restart(good, checkpoint);
      kernel.keepRollbackPoint(checkpoint);
      return this.finish(kernel, 'autoRolledBack', {
        message: autoRolledBackMessage(kernel.id, bad.number, good.number, what, checkpoint) + rerunText(rerun),
        from: bad,
        statePreserved: checkpoint !== undefined,
        rerun,
      });
    } catch (recoveryError) {
      kernel.fail(`v${bad.number} ${what}, and v${good.number} could not be restored: ${errorMessage(recoveryError)}`);
      return this.finish(kernel, 'failed', {
        message: `${kernel.id} v${bad.number} ${what}, and v${good.number} could not be restored: ${errorMessage(recoveryError)}. Fix the kernel and start it again.`,
        from: bad,
      });
    }
  }

  /** A compile on the device failed (the old version still runs) or the kernel could not resume. */
  private afterFailedSwap(kernel: ManagedKernel, error: unknown): ReloadOutcome {
    if (error instanceof CompileFailed) {
      return this.finish(kernel, 'failed', {
        message: `${kernel.id}: the device's compiler refused the new code; v${kernel.version.number} keeps running: ${errorMessage(error.cause)}`,
      });
    }
    return this.finish(kernel, 'failed', { message: `${kernel.id}: ${errorMessage(error)}` });
  }

  private async recoverNow(kernel: ManagedKernel, reason: string, culprit: boolean): Promise<ReloadOutcome> {
    kernel.beginRecovery();
    const decision = this.recovery.admit(kernel.id);
    if (!decision.allowed) {
      const message = tooManyFailuresMessage(kernel.id, decision.failures, reason);
      kernel.fail(message);
      return this.finish(kernel, 'failed', { message });
    }
    const current = kernel.version;
    if (this.recovery.rollsBack(kernel, culprit) && kernel.rollbackPoint && kernel.fallback) {
      return this.rollBackAutomatically(
        kernel,
        kernel.fallback,
        current,
        kernel.rollbackPoint,
        new GpuError('WATCHDOG_TIMEOUT', reason),
      );
    }
    const checkpoint = kernel.lastCheckpoint;
    // Read before the restart: the lost kernel's last reported step (a lower bound of what it ran).
    const rerun = { fromStep: checkpoint?.step ?? 0, reachedStep: kernel.step };
    try {
      await kernel.restart(current, checkpoint);
      this.counters.recoveries++;
      return this.finish(kernel, 'recovered', {
        message: recoveredMessage(kernel.id, current.number, checkpoint, reason) + rerunText(rerun),
        statePreserved: checkpoint !== undefined,
        rerun,
      });
    } catch (error) {
      const message = `${kernel.id} could not be recovered after "${reason}": ${errorMessage(error)}`;
      kernel.fail(message);
      return this.finish(kernel, 'failed', { message });
    }
  }

  private superseded(kernel: ManagedKernel): ReloadOutcome {
    this.counters.superseded++;
    return this.finish(kernel, 'superseded', {
      message: `${kernel.id}: a newer save replaced this one before it was loaded`,
    });
  }

  private finish(
    kernel: ManagedKernel,
    status: ReloadStatus,
    details: {
      message: string;
      timings?: ReloadPhaseTimings;
      errors?: string[];
      from?: KernelVersion;
      statePreserved?: boolean;
      rerun?: { fromStep: number; reachedStep: number };
    },
  ): ReloadOutcome {
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
    if (details.rerun) outcome.rerun = details.rerun;
    kernel.recordOutcome(outcome);
    this.deps.notify(outcome);
    return outcome;
  }
}

function safeVersion(kernel: ManagedKernel): number {
  try {
    return kernel.version.number;
  } catch {
    return 0;
  }
}
