// How the running kernels and their reload outcomes read to the user: the kernel status bar item's
// text and tooltip, the QuickPick lines, and the message and log entry for each outcome. Pure (no
// VS Code API), so it is unit-tested with plain Node; relative times take `now` from the caller.
import {
  runningVersionText,
  type KernelView,
  type KernelsInfo,
  type ReloadOutcome,
  type ReloadPhaseTimings,
  type ReloadStatus,
} from '../../server/src/lsp/protocol';

export type KernelSeverity = 'normal' | 'warning' | 'error';

export interface KernelStatusView {
  /** False when there is nothing to show: no manifest, or no server that runs kernels. */
  visible: boolean;
  text: string;
  /** Markdown source, one line per kernel. */
  tooltip: string;
  severity: KernelSeverity;
}

const HIDDEN: KernelStatusView = { visible: false, text: '', tooltip: '', severity: 'normal' };

/** States in which a kernel is between two versions, moving, pausing or coming back; the icon spins. */
const TRANSITIONAL: ReadonlySet<KernelView['state']> = new Set([
  'starting',
  'reloading',
  'draining',
  'checkpointing',
  'migrating',
  'recovering',
]);

/** "reloading: compiling" while a phase is known, else the state alone. */
export function stateText(kernel: Pick<KernelView, 'state' | 'phase'>): string {
  return kernel.phase !== undefined ? `${kernel.state}: ${kernel.phase}` : kernel.state;
}

/** Pure: what the kernel status bar item shows for the server's kernels at time `now` (ms since the epoch). */
export function kernelStatusView(info: KernelsInfo | undefined, now: number): KernelStatusView {
  if (info === undefined || info.manifest === null) return HIDDEN;
  const tooltip = tooltipOf(info, now);
  if (!info.trusted) return { visible: true, text: '$(shield) kernels off (untrusted)', tooltip, severity: 'normal' };
  // A kernel that cannot run on this machine (CUDA without CUDA) is said in its tooltip line and on the manifest, not as an alarm.
  const failed = info.kernels.filter((k) => k.state === 'failed' && k.unavailableHere === undefined);
  const failedText =
    failed.length === 0
      ? ''
      : `$(warning) ${failed.length === 1 ? (failed[0]?.id ?? '') : `${failed.length} kernels`} failed`;
  // A failed kernel (say a CUDA kernel on a machine without CUDA) must not hide the ones that run.
  const running = runningView(info, tooltip);
  if (failed.length > 0) {
    if (running === undefined) return { visible: true, text: failedText, tooltip, severity: 'error' };
    return { ...running, text: `${running.text} · ${failedText}`, severity: 'warning' };
  }
  if (info.kernels.length === 0) {
    // Without kernels the only thing worth saying is why: usually the manifest does not parse.
    const text =
      info.manifestErrors > 0
        ? `$(warning) manifest: ${plural(info.manifestErrors, 'error')}`
        : '$(circle-slash) no kernels';
    return { visible: true, text, tooltip, severity: info.manifestErrors > 0 ? 'warning' : 'normal' };
  }
  if (running === undefined && info.kernels.every((k) => k.unavailableHere !== undefined)) {
    return {
      visible: true,
      text: `$(circle-slash) ${info.kernels.length === 1 ? 'kernel' : 'kernels'} cannot run here`,
      tooltip,
      severity: 'normal',
    };
  }
  if (running === undefined && info.starting === true)
    return { visible: true, text: '$(sync~spin) kernels starting', tooltip, severity: 'normal' };
  const shown = running ?? { visible: true, text: '$(debug-pause) kernels stopped', tooltip, severity: 'normal' };
  // The manifest's errors are in the Problems view; the icon says there is something to look at.
  return info.manifestErrors > 0 ? { ...shown, text: `$(warning) ${shown.text}` } : shown;
}

/** The kernels that are not stopped or failed, as the item's text; undefined when there are none. */
function runningView(info: KernelsInfo, tooltip: string): KernelStatusView | undefined {
  const active = info.kernels.filter((k) => k.state !== 'stopped' && k.state !== 'failed');
  if (active.length === 0) return undefined;
  const icon = active.some((k) => TRANSITIONAL.has(k.state)) ? '$(sync~spin)' : '$(pulse)';
  const only = active.length === 1 ? active[0] : undefined;
  if (only !== undefined) {
    const what = only.state === 'running' ? `${formatRate(only.stepsPerSecond)}/s` : stateText(only);
    return { visible: true, text: `${icon} ${only.id} v${only.version} · ${what}`, tooltip, severity: 'normal' };
  }
  const total = active.reduce((sum, k) => sum + k.stepsPerSecond, 0);
  return {
    visible: true,
    text: `${icon} ${active.length} kernels · ${formatRate(total)} steps/s`,
    tooltip,
    severity: 'normal',
  };
}

function tooltipOf(info: KernelsInfo, now: number): string {
  const lines = [`**RingKernel kernels** from \`${info.manifest ?? ''}\``];
  if (!info.trusted) {
    lines.push(
      'Kernels do not run in an untrusted workspace (validation still works). Trust the workspace to run them.',
    );
  }
  if (info.manifestErrors > 0)
    lines.push(`The manifest has ${plural(info.manifestErrors, 'error')}; see the Problems view.`);
  if (info.kernels.length === 0) lines.push('The manifest declares no kernels.');
  else lines.push(info.kernels.map((k) => `- ${kernelLine(k, now)}`).join('\n'));
  const stats = statsLine(info);
  if (stats !== undefined) lines.push(stats);
  lines.push('Click for kernel actions.');
  // Paragraphs: a single newline does not break a line in Markdown.
  return lines.join('\n\n');
}

function kernelLine(kernel: KernelView, now: number): string {
  const parts = [`**${escapeMarkdown(kernel.id)}** ${stateText(kernel)}`, `v${kernel.version}`];
  if (kernel.device !== undefined)
    parts.push(
      kernel.deviceName !== undefined ? `${kernel.device} (${escapeMarkdown(kernel.deviceName)})` : kernel.device,
    );
  parts.push(`step ${kernel.step.toLocaleString('en-US')}`);
  if (kernel.state === 'running') parts.push(`${formatRate(kernel.stepsPerSecond)} steps/s`);
  if (kernel.lastReload !== undefined) parts.push(lastReloadText(kernel.lastReload, now));
  const differs = runningVersionText(kernel);
  if (differs !== undefined) parts.push(`**${differs}**`);
  const line = parts.join(' · ');
  return kernel.error !== undefined ? `${line}: ${escapeMarkdown(kernel.error)}` : line;
}

function statsLine(info: KernelsInfo): string | undefined {
  const s = info.stats;
  const parts: string[] = [];
  if (s.successfulReloads > 0)
    parts.push(`${plural(s.successfulReloads, 'reload')} (average ${formatMs(s.avgTotalMs)})`);
  if (s.failedReloads > 0) parts.push(`${s.failedReloads} failed (${s.validationFailures} rejected as invalid)`);
  if (s.rollbacks > 0) parts.push(`${plural(s.rollbacks, 'rollback')} (${s.automaticRollbacks} automatic)`);
  if (s.recoveries > 0) parts.push(plural(s.recoveries, 'recovery', 'recoveries'));
  return parts.length > 0 ? `This session: ${parts.join(', ')}.` : undefined;
}

const VERBS: Record<ReloadStatus, string> = {
  reloaded: 'reloaded',
  rejected: 'rejected',
  superseded: 'superseded',
  unchanged: 'unchanged',
  rolledBack: 'rolled back',
  autoRolledBack: 'rolled back automatically',
  recovered: 'recovered',
  failed: 'reload failed',
};

/** "reloaded 3 s ago in 14 ms", "rejected 5 s ago": the latest reload of a kernel, relative to `now`. */
export function lastReloadText(outcome: ReloadOutcome, now: number): string {
  const when = relativeTime(outcome.at, now);
  const took =
    outcome.timings !== undefined &&
    (outcome.status === 'reloaded' || outcome.status === 'rolledBack' || outcome.status === 'recovered')
      ? ` in ${formatMs(outcome.timings.totalMs)}`
      : '';
  return `${VERBS[outcome.status]}${when !== undefined ? ` ${when}` : ''}${took}`;
}

/** "just now", "3 s ago", "2 min ago", ...; undefined for a time that does not parse. */
export function relativeTime(iso: string, now: number): string | undefined {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return undefined;
  // A little clock skew between the processes must not read as "in the future".
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Steps per second, short: "0.5", "60", "1.2k", "45k", "3.1M". */
export function formatRate(perSecond: number): string {
  if (perSecond < 10) return trimZero(perSecond.toFixed(1));
  if (perSecond < 1000) return String(Math.round(perSecond));
  if (perSecond < 10_000) return `${trimZero((perSecond / 1000).toFixed(1))}k`;
  if (perSecond < 1_000_000) return `${Math.round(perSecond / 1000)}k`;
  return `${trimZero((perSecond / 1_000_000).toFixed(1))}M`;
}

/** Milliseconds: one decimal below 10 ("0.3 ms"), whole above ("14 ms"). */
export function formatMs(ms: number): string {
  return `${ms < 10 ? trimZero(ms.toFixed(1)) : String(Math.round(ms))} ms`;
}

/** A QuickPick line for a kernel: label id, description "v3 on webgpu:0", detail state and rate. */
export interface KernelPickLine {
  label: string;
  description: string;
  detail: string;
}

export function kernelPickLine(kernel: KernelView, purpose: 'reload' | 'rollback'): KernelPickLine {
  const description = kernel.device !== undefined ? `v${kernel.version} on ${kernel.device}` : `v${kernel.version}`;
  const detail = [
    kernel.state === 'running' ? `running · ${formatRate(kernel.stepsPerSecond)} steps/s` : stateText(kernel),
  ];
  if (purpose === 'rollback' && kernel.fallbackVersion !== undefined)
    detail.push(`rolls back to v${kernel.fallbackVersion}`);
  if (kernel.error !== undefined) detail.push(kernel.error);
  return { label: kernel.id, description, detail: detail.join(' · ') };
}

/** How an outcome is announced: the popup's level (none for superseded and unchanged) and its one button. */
export interface OutcomeNotice {
  level: 'info' | 'warning' | 'error' | 'none';
  text: string;
  button: 'Show Problems' | 'Show Log' | undefined;
}

export function outcomeNotice(outcome: ReloadOutcome): OutcomeNotice {
  const text = `RingKernel: ${outcome.message}`;
  switch (outcome.status) {
    case 'reloaded':
    case 'rolledBack':
    case 'recovered':
      return { level: 'info', text, button: undefined };
    case 'unchanged':
      // Saving a file without changing it is common; the Reload command says so itself.
      return { level: 'none', text, button: undefined };
    case 'rejected':
      // The compiler's errors are diagnostics on the file already; the button leads there.
      return { level: 'warning', text, button: 'Show Problems' };
    case 'autoRolledBack':
    case 'failed':
      return { level: 'error', text, button: 'Show Log' };
    case 'superseded':
      // A later save replaced it; a popup per keystroke-save would be noise.
      return { level: 'none', text, button: undefined };
  }
}

/** The log entry for an outcome: its level and text, with the phase timings and compiler errors. */
export function outcomeLogEntry(outcome: ReloadOutcome): { level: 'info' | 'warn' | 'error'; text: string } {
  const lines = [
    `kernel ${outcome.kernelId}: ${outcome.status} (v${outcome.fromVersion} → v${outcome.toVersion}): ${outcome.message}`,
  ];
  if (outcome.timings !== undefined) lines.push(`  phases: ${timingsText(outcome.timings)}`);
  for (const error of outcome.errors ?? []) lines.push(`  ${error}`);
  const level =
    outcome.status === 'rejected'
      ? 'warn'
      : outcome.status === 'autoRolledBack' || outcome.status === 'failed'
        ? 'error'
        : 'info';
  return { level, text: lines.join('\n') };
}

/**
 * "validate 2 ms ∥ compile 5 ms (in parallel) · drain … · total 14 ms · rollback point stored 15 ms", in the order the phases
 * run. Validation and the device compile run at the same time, and the checkpoint's copy completes
 * while the new version is swapped in and resumes, so the phases add up to more than the total; the line says which.
 */
export function timingsText(t: ReloadPhaseTimings): string {
  return [
    `validate ${formatMs(t.validateMs)} ∥ compile ${formatMs(t.compileMs)} (in parallel)`,
    `drain ${formatMs(t.drainMs)}`,
    `checkpoint ${formatMs(t.checkpointMs)} (overlaps swap and resume)`,
    `swap ${formatMs(t.swapMs)}`,
    `restore ${formatMs(t.restoreMs)}`,
    `resume ${formatMs(t.resumeMs)}`,
    `total ${formatMs(t.totalMs)}`,
    `rollback point stored ${formatMs(t.rollbackPointMs)}`,
  ].join(' · ');
}

function trimZero(fixed: string): string {
  return fixed.endsWith('.0') ? fixed.slice(0, -2) : fixed;
}

function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/** Ids, device names and messages come from files and drivers; keep them from turning into Markdown. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}

/**
 * What Restart Server asks first when kernels run and would lose their state: the server holds
 * them, and without a checkpoint folder (no workspace storage, e.g. a single file opened without a
 * folder) they start again from step 0. With one, the server writes each kernel's state as it
 * stops and the next server resumes it, so there is nothing to ask.
 */
export function restartWarning(
  kernels: readonly Pick<KernelView, 'id' | 'state'>[],
  resumesFromCheckpoints = false,
): string | undefined {
  if (resumesFromCheckpoints) return undefined;
  const live = kernels.filter((k) => k.state !== 'stopped' && k.state !== 'failed').map((k) => k.id);
  if (live.length === 0) return undefined;
  const names = live.length <= 4 ? live.join(', ') : `${live.slice(0, 4).join(', ')} and ${live.length - 4} more`;
  return `Restarting the RingKernel server stops ${plural(live.length, 'running kernel')} (${names}). They start again from step 0: their state is lost. Restart anyway?`;
}
