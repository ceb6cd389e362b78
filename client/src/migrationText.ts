// How migration reads to the user: the QuickPick lines of the Migrate Kernel command (kernels, then
// target devices), the progress line for each phase, and the message and log entry for a
// migration's or a drain's outcome. Pure (no VS Code API), so it is unit-tested with plain Node.
import type {
  DrainOutcome,
  KernelView,
  KernelsInfo,
  MigrationOutcome,
  MigrationPhase,
  MigrationTarget,
  MigrationTargets,
} from '../../server/src/lsp/protocol';
import { formatMs, formatRate } from './kernelStatus';
import { formatBytes, formatGBps } from './topologyTree';

/** A kernel the user may move: one QuickPick line. */
export interface MigrationKernelItem {
  label: string;
  description: string;
  detail: string;
  kernelId: string;
  from: string;
}

/** The kernels that can move: those running on a device. Stopped, failed and reloading ones cannot. */
export function migrationKernelItems(info: KernelsInfo): MigrationKernelItem[] {
  return info.kernels
    .filter((k): k is KernelView & { device: string } => k.state === 'running' && k.device !== undefined)
    .map((k) => ({
      label: k.id,
      description: `on ${k.device}${k.deviceName !== undefined ? ` (${k.deviceName})` : ''} · v${k.version}`,
      detail: `${formatBytes(k.stateBytes)} of state · ${formatRate(k.stepsPerSecond)} steps/s · step ${k.step.toLocaleString('en-US')}`,
      kernelId: k.id,
      from: k.device,
    }));
}

/** Why no kernel can be picked, or undefined when some can. */
export function noKernelToMigrate(info: KernelsInfo): string | undefined {
  if (info.manifest === null) return 'this workspace has no ringkernel.json, so it has no kernels to move.';
  if (!info.trusted)
    return 'kernels do not run in an untrusted workspace, so none can move. Trust the workspace to run them.';
  if (info.kernels.length === 0) return 'ringkernel.json declares no kernels.';
  if (migrationKernelItems(info).length === 0) {
    const states = info.kernels.map((k) => `${k.id} is ${k.state}`).join(', ');
    return `only a running kernel can move, and none is running (${states}). Start the kernels first.`;
  }
  return undefined;
}

/** A target device: one QuickPick line, or the separator before the devices that cannot take the kernel. */
export type MigrationTargetItem =
  | {
      separator: false;
      label: string;
      description: string;
      detail: string;
      device: string;
      possible: boolean;
      reason?: string;
    }
  | { separator: true; label: string };

/**
 * The target list: the devices that can take the kernel first (fastest estimate first), then,
 * after a separator, those that cannot, each with why. The device it runs on is not listed.
 */
export function migrationTargetItems(targets: MigrationTargets): MigrationTargetItem[] {
  const others = targets.targets.filter((t) => t.device !== targets.from);
  const possible = others
    .filter((t) => t.possible)
    .sort((a, b) => (a.estimatedMs ?? Infinity) - (b.estimatedMs ?? Infinity));
  const impossible = others.filter((t) => !t.possible);
  const items: MigrationTargetItem[] = possible.map((t) => possibleItem(t, targets.stateBytes));
  if (impossible.length > 0) {
    items.push({ separator: true, label: `cannot take ${targets.kernelId}` });
    for (const t of impossible) {
      const reason = t.reason ?? 'the server gave no reason';
      items.push({
        separator: false,
        label: `$(circle-slash) ${t.device}`,
        description: t.deviceName,
        detail: `Cannot take it: ${reason}`,
        device: t.device,
        possible: false,
        reason,
      });
    }
  }
  return items;
}

function possibleItem(t: MigrationTarget, stateBytes: number): MigrationTargetItem {
  const basis = t.estimateMeasured === true ? 'measured' : 'estimated';
  const estimate = [
    t.estimatedGBps !== undefined ? formatGBps(t.estimatedGBps) : undefined,
    t.estimatedMs !== undefined ? `~${formatMs(t.estimatedMs)} for ${formatBytes(stateBytes)}` : undefined,
  ].filter((p): p is string => p !== undefined);
  const last = t.lastMove;
  const detail = [
    estimate.length > 0 ? `${basis} ${estimate.join(', ')}` : undefined,
    last
      ? `last move here: ${formatBytes(last.bytes)} in ${formatMs(last.totalMs)} (${formatGBps(last.gbPerSecond)}, paused ${formatMs(last.pausedMs)})`
      : undefined,
    t.freeMemoryBytes !== undefined ? `${formatBytes(t.freeMemoryBytes)} free` : undefined,
    t.kernelCount !== undefined ? `${t.kernelCount} kernel${t.kernelCount === 1 ? '' : 's'}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return {
    separator: false,
    label: `$(arrow-right) ${t.device}`,
    description: [t.deviceName, t.routeLabel].filter((p): p is string => p !== undefined).join(' · '),
    detail: detail.join(' · '),
    device: t.device,
    possible: true,
  };
}

/** Why the user cannot pick any target at all, or undefined when some device can take the kernel. */
export function noTargetText(targets: MigrationTargets): string | undefined {
  const others = targets.targets.filter((t) => t.device !== targets.from);
  if (others.length === 0) {
    return `${targets.kernelId} runs on ${targets.from}, the only device; there is nowhere to move it. With one GPU, setting ringkernel.webgpu.instancesPerAdapter to 2 opens a second device on it.`;
  }
  return undefined;
}

/** What choosing a device that cannot take the kernel says. */
export function impossibleTargetText(kernelId: string, device: string, reason: string | undefined): string {
  return `${kernelId} cannot move to ${device}: ${reason ?? 'the server gave no reason'}. It keeps running where it is.`;
}

const PHASE_WORDS: Record<MigrationPhase, string> = {
  preparing: 'preparing',
  quiescing: 'pausing at a step boundary',
  checkpointing: 'checkpointing the state',
  transferring: 'transferring the state',
  restoring: 'restoring on the target',
  verifying: 'verifying the state',
  switching: 'switching over',
  resuming: 'resuming on the target',
};

const PHASES = new Set<string>(Object.keys(PHASE_WORDS));

/**
 * The progress line for a work-done report: the server's message, with a phase name at its start
 * ("transferring: 2/4 MiB") put in words. A report the server marks not cancellable (from the
 * switch on) says that the cancel button no longer stops it.
 */
export function progressLine(message: string | undefined, cancellable: boolean | undefined): string | undefined {
  if (message === undefined) return cancellable === false ? 'can no longer be cancelled' : undefined;
  const match = /^([a-z]+)\b(.*)$/s.exec(message);
  const phase = match?.[1];
  const text =
    phase !== undefined && PHASES.has(phase) ? `${PHASE_WORDS[phase as MigrationPhase]}${match?.[2] ?? ''}` : message;
  return cancellable === false ? `${text} (can no longer be cancelled)` : text;
}

export interface MigrationNotice {
  level: 'info' | 'warning' | 'error';
  text: string;
}

/** The sentence that says where a kernel that did not move runs now, unless the server's message says it. */
function stillRuns(kernelId: string, from: string, message: string): string {
  return message.includes(`still runs on ${from}`) ? '' : ` ${kernelId} still runs on ${from}, from where it paused.`;
}

function withStop(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * How an outcome is announced: the server's message; for a failure or a cancel, also where the
 * kernel runs now (its source) and the phase that failed, when the message does not say them.
 */
export function migrationNotice(outcome: MigrationOutcome): MigrationNotice {
  if (outcome.status === 'migrated') return { level: 'info', text: `RingKernel: ${outcome.message}` };
  const phase =
    outcome.failedPhase !== undefined && !outcome.message.includes(outcome.failedPhase)
      ? ` (while ${outcome.failedPhase})`
      : '';
  const text = `RingKernel: ${withStop(`${outcome.message}${phase}`)}${stillRuns(outcome.kernelId, outcome.from, outcome.message)}`;
  return { level: outcome.status === 'cancelled' ? 'warning' : 'error', text };
}

/** The log entry: the message and every figure of the outcome. */
export function migrationLogEntry(outcome: MigrationOutcome): { level: 'info' | 'warn' | 'error'; text: string } {
  const figures = [
    `route ${outcome.route}`,
    formatBytes(outcome.bytes),
    `transfer ${formatMs(outcome.transferMs)}`,
    formatGBps(outcome.gbPerSecond),
    `paused ${formatMs(outcome.pausedMs)}`,
    `total ${formatMs(outcome.totalMs)}`,
    outcome.verified ? 'state verified' : 'state not verified',
  ];
  if (outcome.failedPhase !== undefined) figures.push(`failed while ${outcome.failedPhase}`);
  const text = `kernel ${outcome.kernelId}: ${outcome.status} ${outcome.from} -> ${outcome.to}: ${outcome.message}\n  ${figures.join(' · ')}`;
  return { level: outcome.status === 'migrated' ? 'info' : outcome.status === 'cancelled' ? 'warn' : 'error', text };
}

/**
 * What a migrate request that ended without an outcome says: a cancel answered with an error
 * (the kernel stayed), or any other error (the request may not have reached the kernel at all).
 */
export function migrationErrorText(
  kernelId: string,
  from: string | undefined,
  to: string,
  error: { cancelled: boolean; methodNotFound: boolean; message: string },
): MigrationNotice {
  const where = from !== undefined ? ` ${kernelId} still runs on ${from}.` : '';
  if (error.cancelled)
    return { level: 'warning', text: `RingKernel: moving ${kernelId} to ${to} was cancelled.${where}` };
  if (error.methodNotFound) {
    return {
      level: 'error',
      text: `RingKernel: this language server cannot move kernels (it does not know ringkernel/migrate); update RingKernel.${where}`,
    };
  }
  return { level: 'error', text: `RingKernel: moving ${kernelId} to ${to} failed: ${withStop(error.message)}${where}` };
}

/** How a drain's outcome is announced: who moved where, who stayed and why. */
export function drainNotice(outcome: DrainOutcome): MigrationNotice {
  const moved = outcome.migrations.filter((m) => m.status === 'migrated');
  const notMoved = outcome.migrations.filter((m) => m.status !== 'migrated');
  const parts: string[] = [];
  if (moved.length > 0)
    parts.push(`moved ${moved.map((m) => `${m.kernelId} → ${m.to} (${formatMs(m.totalMs)})`).join(', ')}`);
  const stayed = [
    ...notMoved.map(
      (m) => `${m.kernelId} (moving to ${m.to} ${m.status === 'cancelled' ? 'was cancelled' : `failed: ${m.message}`})`,
    ),
    ...outcome.stayed.map((s) => `${s.kernelId} (${s.reason})`),
  ];
  if (stayed.length > 0) parts.push(`still running on ${outcome.device}: ${stayed.join('; ')}`);
  const what = parts.length > 0 ? parts.join('; ') : 'no kernel ran on it';
  const text = `RingKernel: drained ${outcome.device}: ${what}. It takes no new kernels until it is taken back into service (Undrain Device).`;
  return { level: stayed.length > 0 ? 'warning' : 'info', text };
}
