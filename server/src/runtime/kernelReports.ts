// What the kernel runtime tells the world about its kernels: plain data, shared by the language
// server's protocol, the command line and the tests. No behaviour here but naming a difference.
import type { BackendName } from '../backends/backendReport';

/** Where a kernel is in its life (kernelLifecycle.ts has the moves allowed between these). */
export type KernelRunState =
  /** placed, compiling and allocating its first version */
  | 'starting'
  /** its step loop runs */
  | 'running'
  /** a hot reload (or a rollback) runs, from the compile (the old version still steps) to the new version's first step */
  | 'reloading'
  /** its loop is being stopped at a step boundary, to stop the kernel */
  | 'draining'
  /** its state is being copied to host memory at a step boundary (the loop pauses) */
  | 'checkpointing'
  /** it moves to another device: drained, checkpointed, recreated there, resumed */
  | 'migrating'
  /** its device host died or hung, or its version failed; it comes back from a checkpoint */
  | 'recovering'
  /** stopped by the user (or never started) */
  | 'stopped'
  /** could not start or could not recover; `error` says why */
  | 'failed';

/** The step a reload, migration, start or recovery is at; only while the kernel is in such a state. */
export type KernelPhase =
  /** the new code compiles on the kernel's device (during a reload the old version keeps stepping) */
  | 'compiling'
  /** the loop stops at a step boundary */
  | 'draining'
  /** the state is copied to host memory */
  | 'checkpointing'
  /** the loop's code handle is replaced (same buffers) */
  | 'swapping'
  /** the kernel is created afresh in its host and its state written back from a checkpoint */
  | 'restoring'
  /** the kernel is created on the target device and its state written there */
  | 'moving'
  /** the loop starts again; the phase ends with the first step */
  | 'resuming';

/** One kernel as the status bar, the commands and `ringkernel run` see it. */
export interface KernelView {
  id: string;
  /** Absolute path of the kernel's source file. */
  source: string;
  language: 'wgsl' | 'ptx' | 'msl';
  entryPoint: string;
  state: KernelRunState;
  /** What a reloading, migrating, starting or recovering kernel is doing now ("reloading: compiling"). */
  phase?: KernelPhase;
  /** The backend and device key (e.g. "webgpu:0", "cuda:0") it runs on, once placed. */
  backend?: BackendName;
  device?: string;
  deviceName?: string;
  /** The process id of the device host it runs in (for the log, and for `kill` when all else fails). */
  hostPid?: number;
  /** The code version running now: 1 for the version it started with, +1 per successful reload. */
  version: number;
  /** The version `ringkernel/rollback` returns to, if any. */
  fallbackVersion?: number;
  /** Steps completed (the next step's number); survives reloads. */
  step: number;
  /** Measured over the last second or so. */
  stepsPerSecond: number;
  /** The manifest's rate; 0 = as fast as possible. */
  rateHz: number;
  stateBytes: number;
  /** The latest reload, rollback or recovery of this kernel, successful or not. */
  lastReload?: ReloadOutcome;
  /** Why it failed or stopped, when it did on its own. */
  error?: string;
  /** Set (shortened) when it cannot run on this machine at all, e.g. a CUDA kernel without CUDA: not alarming, said once. */
  unavailableHere?: string;
  /** Set when the code it runs is not its file's on disk, with why (the editor says so at the entry point). */
  fileDiffers?: FileDifference;
}

/** Why a kernel runs other code than its file holds. */
export type FileDifference =
  /** a rollback (by command or automatic) put an earlier version back */
  | 'rolledBack'
  /** the saved code was invalid and rejected */
  | 'rejected'
  /** the reload of the saved code failed */
  | 'failed'
  /** the save did not reload (an automatic save, ringkernel.kernels.reloadOn, or saved while stopped) */
  | 'notReloaded';

/** Why, from the kernel's latest reload outcome. */
export function fileDifference(lastReload: ReloadOutcome | undefined): FileDifference {
  switch (lastReload?.status) {
    case 'rolledBack':
    case 'autoRolledBack':
      return 'rolledBack';
    case 'rejected':
      return 'rejected';
    case 'failed':
      return 'failed';
    default:
      return 'notReloaded';
  }
}

/** Milliseconds per hot-reload phase, in the order they run. */
export interface ReloadPhaseTimings {
  /** the real compiler checks the new code (the old version keeps running) */
  validateMs: number;
  /** compile and pipeline/module creation on the kernel's device (the old version keeps running) */
  compileMs: number;
  /** stop the step loop at a step boundary */
  drainMs: number;
  /** copy the state to host memory: the rollback point */
  checkpointMs: number;
  /** point the loop at the new compiled kernel */
  swapMs: number;
  /** put the state back where the buffers were lost (a restarted host); ~0 when it stayed on the device */
  restoreMs: number;
  /** restart the loop and wait until the new version's first step has finished */
  resumeMs: number;
  /** request to first step of the new version, including any wait behind another reload */
  totalMs: number;
  /**
   * request to the rollback point (the checkpoint taken at the swap) stored in the server: the
   * checkpoint's bytes arrive while the new version runs, so this can be later than totalMs
   */
  rollbackPointMs: number;
}

export type ReloadStatus =
  /** the new version runs */
  | 'reloaded'
  /** the code is invalid: nothing was touched, the old version keeps running */
  | 'rejected'
  /** a later save replaced this request before it started */
  | 'superseded'
  /** the new code is the code already running */
  | 'unchanged'
  /** a manual rollback to the previous version */
  | 'rolledBack'
  /** the new version hung or faulted and the previous one was put back from its checkpoint */
  | 'autoRolledBack'
  /** the kernel's host died and the kernel came back from its last checkpoint on the same version */
  | 'recovered'
  /** something went wrong after validation (compile on the device, host lost, ...); see message */
  | 'failed';

export interface ReloadOutcome {
  kernelId: string;
  status: ReloadStatus;
  /** The version that ran before, and the one that runs now (equal when nothing changed). */
  fromVersion: number;
  toVersion: number;
  device?: string;
  stateBytes: number;
  statePreserved: boolean;
  /** Present when the phases ran. */
  timings?: ReloadPhaseTimings;
  /** One sentence for the user, e.g. "heat v4 reloaded on webgpu:0 in 14 ms (state preserved, 4 MiB)". */
  message: string;
  /** Compiler errors ("file:line:col: message"), for a rejected version. */
  errors?: string[];
  /**
   * A recovery or automatic rollback: it resumed at `fromStep` (its checkpoint's; 0 without one)
   * after having reached at least `reachedStep`, so steps fromStep + 1 to reachedStep run again.
   */
  rerun?: { fromStep: number; reachedStep: number };
  /** ISO time the outcome was reached. */
  at: string;
}

/** HotReloadManager's counters (the seed's HotReloadStatsSnapshot, with the failures it forgot). */
export interface HotReloadStats {
  successfulReloads: number;
  /** every reload that did not end with the new version running, validation failures included */
  failedReloads: number;
  validationFailures: number;
  rollbacks: number;
  automaticRollbacks: number;
  recoveries: number;
  superseded: number;
  retries: number;
  statePreservedCount: number;
  avgDrainMs: number;
  avgCompileMs: number;
  avgSwapMs: number;
  avgTotalMs: number;
}
