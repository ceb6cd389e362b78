// The kernel runtime's reports as they travel to the client (ringkernel/kernels, kernelsChanged,
// reload, rollback, reloadOutcome). Wire types: nothing of the engine is imported.
import type { BackendName } from './backendsWire';

export type KernelRunState =
  | 'starting'
  | 'running'
  | 'reloading'
  | 'draining'
  | 'checkpointing'
  | 'migrating'
  | 'recovering'
  | 'stopped'
  | 'failed';

/** The step a reload, migration, start or recovery is at; only while the kernel is in such a state. */
export type KernelPhase = 'compiling' | 'draining' | 'checkpointing' | 'swapping' | 'restoring' | 'moving' | 'resuming';

export interface KernelView {
  id: string;
  source: string;
  language: 'wgsl' | 'ptx' | 'msl';
  entryPoint: string;
  state: KernelRunState;
  /** What a reloading, migrating, starting or recovering kernel is doing now ("reloading: compiling"). */
  phase?: KernelPhase;
  backend?: BackendName;
  device?: string;
  deviceName?: string;
  hostPid?: number;
  version: number;
  fallbackVersion?: number;
  step: number;
  stepsPerSecond: number;
  rateHz: number;
  stateBytes: number;
  lastReload?: ReloadOutcome;
  error?: string;
  /** Set (shortened) when it cannot run on this machine at all, e.g. a CUDA kernel without CUDA. */
  unavailableHere?: string;
  /** Set when the code it runs is not its file's on disk, with why. */
  fileDiffers?: FileDifference;
}

/** Why a kernel runs other code than its file holds. */
export type FileDifference = 'rolledBack' | 'rejected' | 'failed' | 'notReloaded';

const WHY: Record<FileDifference, string> = {
  rolledBack: 'rolled back',
  rejected: 'the saved code was rejected',
  failed: 'the reload failed',
  notReloaded: 'not reloaded',
};

/** "running v2 (rolled back); the file is newer": what the lens and the status item's tooltip say (both sides use it). */
export function runningVersionText(view: Pick<KernelView, 'version' | 'fileDiffers' | 'state'>): string | undefined {
  if (view.fileDiffers === undefined) return undefined;
  const verb =
    view.state === 'running' || view.state === 'reloading' || view.state === 'starting'
      ? 'running'
      : `${view.state}, resumes`;
  return `${verb} v${view.version} (${WHY[view.fileDiffers]}); the file is newer`;
}

export interface ReloadPhaseTimings {
  validateMs: number;
  compileMs: number;
  drainMs: number;
  checkpointMs: number;
  swapMs: number;
  restoreMs: number;
  resumeMs: number;
  totalMs: number;
  rollbackPointMs: number;
}

export type ReloadStatus =
  'reloaded' | 'rejected' | 'superseded' | 'unchanged' | 'rolledBack' | 'autoRolledBack' | 'recovered' | 'failed';

export interface ReloadOutcome {
  kernelId: string;
  status: ReloadStatus;
  fromVersion: number;
  toVersion: number;
  device?: string;
  stateBytes: number;
  statePreserved: boolean;
  timings?: ReloadPhaseTimings;
  /** One sentence for the user, e.g. "heat v4 reloaded on webgpu:0 in 14 ms (state preserved, 4 MiB)". */
  message: string;
  /** Compiler errors ("file:line:col: message"), for a rejected version. */
  errors?: string[];
  /** A recovery or automatic rollback: the checkpoint's step it resumed from, and the step the kernel had reached. */
  rerun?: { fromStep: number; reachedStep: number };
  /** ISO time the outcome was reached. */
  at: string;
}

export interface HotReloadStats {
  successfulReloads: number;
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
