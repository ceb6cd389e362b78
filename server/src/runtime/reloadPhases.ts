// The phases of one reload, in order, on the kernel's device: validate and compile (both while
// the old version keeps stepping), drain at a step boundary, checkpoint, swap, restore, resume.
// This file does the work and measures it; HotReloadManager decides what each result means.
//
// Decision: validation and compilation run at the same time, before the drain (an invalid
// version's module is compiled, never run, and thrown away); the kernel pauses only for drain,
// checkpoint, swap and its first new step.
import type { CompiledKernelHandle, KernelSource } from '../backends/backend';
import { GpuError } from '../backends/gpuError';
import { errorMessage, type Logger } from '../logger';
import type { KernelCheckpoint } from '../checkpoint/kernelCheckpoint';
import type { ReloadPhaseTimings } from './kernelReports';
import { kernelVersion, type KernelVersion, type ManagedKernel } from './managedKernel';
import { compilerErrors } from './reloadMessages';
import type { EarlyCompile } from './reloadQueue';

/** A reload phase failed in a way that leaves the kernel without its device (host lost). */
export class HostLost extends Error {}

/** The device's compiler refused the new code; the old version still runs. */
export class CompileFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(errorMessage(cause));
  }
}

export const now = (): number => performance.now();

/** The phases of a reload in order (the names the onPhase hook hears; `restore` is entered even when the buffers survived). */
export const RELOAD_PHASES = ['validate', 'compile', 'drain', 'checkpoint', 'swap', 'restore', 'resume'] as const;
export type ReloadPhase = (typeof RELOAD_PHASES)[number];

/** Hears each phase of a reload as it is entered (fault-injection tests kill a device host there). */
export type ReloadPhaseListener = (kernelId: string, phase: ReloadPhase) => void;

/** Starts compiling `source` on the kernel's device beside validation; undefined when there is nothing to compile. */
export function compileEarly(kernel: ManagedKernel, source: KernelSource): EarlyCompile | undefined {
  const generation = kernel.generation;
  // Not while another reload is past its compile: that one may be swapping versions right now.
  if (
    generation === undefined ||
    !(kernel.state === 'running' || (kernel.state === 'reloading' && kernel.phase === 'compiling'))
  )
    return undefined;
  if (kernelVersion(0, source).codeSha256 === kernel.version.codeSha256) return undefined;
  const started = now();
  return {
    host: kernel.host,
    generation,
    result: kernel.compile(source).then(
      (handle) => ({ ok: true as const, handle, ms: now() - started }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  };
}

/**
 * Frees the module a compile beside validation made, once it exists, when it will not be used: in
 * the host process that made it (the kernel may have moved since; a handle id means nothing in
 * another host), and not at all once that process is gone, the module with it.
 */
export function discardEarly(early: EarlyCompile | undefined): void {
  void early?.result
    .then((r) => (r.ok && early.host.generation === early.generation ? early.host.releaseKernel(r.handle) : undefined))
    .catch(() => undefined);
}

/** Whether a compile beside validation was made where the kernel lives now (same host process). */
export function earlyFits(
  kernel: Pick<ManagedKernel, 'host' | 'generation'>,
  early: EarlyCompile | undefined,
): early is EarlyCompile {
  return early !== undefined && early.host === kernel.host && early.generation === kernel.generation;
}

/**
 * The validate phase: the editor's validators (Tint for WGSL, the same compiler Dawn runs).
 * For PTX the device's own JIT, which the early compile already ran on the kernel's device, is
 * the compiler that will run the code; running ptxas too would only add its start-up (about
 * 30 ms measured on an H100 machine). The editor's diagnostics still come from ptxas.
 */
export async function validatePhase(
  kernel: ManagedKernel,
  source: KernelSource,
  early: EarlyCompile | undefined,
  validate: (kernelId: string, source: KernelSource, path: string) => Promise<string[]>,
): Promise<string[]> {
  if (source.language === 'ptx' && early) {
    const result = await early.result;
    if (result.ok) return [];
    if (
      result.error instanceof GpuError &&
      (result.error.code === 'COMPILE_FAILED' || result.error.code === 'ENTRY_POINT_MISSING')
    )
      return compilerErrors(result.error);
    // Not the code's fault (the host was lost, ...): the reload itself will report it.
    return [];
  }
  return validate(kernel.id, source, kernel.spec.source).catch((error: unknown) => [
    `the validator failed: ${errorMessage(error)}`,
  ]);
}

export type PhasesResult =
  /** The new version runs; `checkpoint` is the state at the swap (the previous one if its copy was lost). */
  | { ok: true; timings: ReloadPhaseTimings; restored: boolean; checkpoint: KernelCheckpoint | undefined }
  /** The new version did not run after the swap: the caller puts the one before back from `checkpoint`. */
  | { ok: false; error: unknown; checkpoint: KernelCheckpoint | undefined };

/**
 * Compile (or take the early compile), drain, checkpoint, swap, restore, resume, each a phase of
 * the kernel's `reloading` state. Before the swap a failure throws (HostLost, CompileFailed, or
 * what the device said) and leaves the old version running (or recovering, when its host was
 * lost); after the swap a failure is returned with the checkpoint to roll back from.
 */
export async function runReloadPhases(
  kernel: ManagedKernel,
  target: KernelVersion,
  startedAt: number,
  validateMs: number,
  options: {
    keepFallback: boolean;
    rollback: boolean;
    early?: EarlyCompile | undefined;
    onPhase?: ReloadPhaseListener | undefined;
  },
  log: Logger,
): Promise<PhasesResult> {
  const enter = (name: ReloadPhase): void => options.onPhase?.(kernel.id, name);
  let phase = now();
  const lap = (): number => {
    const t = now();
    const ms = t - phase;
    phase = t;
    return ms;
  };
  kernel.beginReload();
  enter('compile');
  let handle: CompiledKernelHandle | undefined;
  let compileMs: number;
  let drainMs: number;
  let pending: Promise<KernelCheckpoint>;
  let old: CompiledKernelHandle;
  let swapMs: number;
  const previous = kernel.lastCheckpoint;
  try {
    // A compile made beside validation counts if it succeeded in the host process the kernel still
    // lives in: not after a migration moved it (found by the soak: the module was swapped in on
    // the wrong device), nor after its host restarted.
    const early = earlyFits(kernel, options.early) ? await options.early.result : undefined;
    if (options.early && !earlyFits(kernel, options.early)) discardEarly(options.early);
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
    enter('drain');
    await kernel.drain();
    drainMs = lap();
    enter('checkpoint');
    pending = kernel.beginCheckpoint();
    // The checkpoint's copy is queued on the device ahead of the new version's first step; its
    // bytes cross into this process while that version starts, so the reload does not wait for
    // them, yet they are there if that version hangs.
    pending.catch(() => undefined);
    if (options.rollback) kernel.popFallback();
    enter('swap');
    old = kernel.swap(handle, target, { keepFallback: options.keepFallback });
    swapMs = lap();
  } catch (error) {
    // Nothing was swapped: the old version runs on (resumed if it was drained), or comes back
    // from its last checkpoint when the host was lost, then the reload is retried.
    if (handle) await kernel.releaseHandle(handle).catch(() => undefined);
    await kernel.abandonReload();
    if (!(error instanceof CompileFailed) && !kernel.alive) throw new HostLost(errorMessage(error));
    throw error;
  }
  const checkpointStarted = now();
  let checkpointMs = 0;
  const arrived = pending.then((checkpoint) => {
    checkpointMs = now() - checkpointStarted;
    return checkpoint;
  });
  arrived.catch(() => undefined);
  let restored = false;
  let restoreMs: number;
  let resumeMs: number;
  let totalMs: number;
  try {
    enter('restore');
    if (!kernel.alive) restored = await kernel.restore(await arrived, target);
    restoreMs = lap();
    enter('resume');
    await kernel.resume();
    resumeMs = lap();
    totalMs = now() - startedAt;
  } catch (error) {
    return { ok: false, error, checkpoint: await arrived.catch(() => previous) };
  }
  // Freeing the old module is not on the way to the new version running.
  void kernel.releaseHandle(old).catch(() => undefined);
  const checkpoint = await arrived.catch((error: unknown) => {
    log.warn(
      `${kernel.id}: the checkpoint taken at the swap did not arrive (${errorMessage(error)}); the previous one stays the recovery point`,
    );
    return previous;
  });
  const rollbackPointMs = now() - startedAt;
  const timings: ReloadPhaseTimings = {
    validateMs,
    compileMs,
    drainMs,
    checkpointMs,
    swapMs,
    restoreMs,
    resumeMs,
    totalMs,
    rollbackPointMs,
  };
  return { ok: true, timings, restored, checkpoint };
}
