// The kernel commands (start, stop, reload, roll back, the status item's action list) and the one
// place that announces reload outcomes. Each command returns its result so tests can await it, and
// reports its own failure.
import * as vscode from 'vscode';
import { COMMANDS, type CommandRegistry } from './commandIds';
import type { KernelView, ReloadOutcome, StartKernelsResult } from '../../server/src/lsp/protocol';
import { reportFailure } from './commands';
import { kernelPickLine, outcomeLogEntry, outcomeNotice } from './kernelStatus';
import type { KernelsClient } from './kernelsClient';

/** How many announced outcomes are remembered to skip a second announcement of the same one. */
const REMEMBERED_OUTCOMES = 64;

/**
 * Logs every reload outcome with its phase timings and shows it once. An outcome of a reload or
 * rollback command reaches the client twice (the request's answer and the server's
 * ringkernel/reloadOutcome notification, in either order); both paths come here and the second
 * is skipped. An outcome has no id, so it is recognised by what it says and when.
 */
export class ReloadOutcomeReporter {
  private readonly seen: string[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {}

  report(outcome: ReloadOutcome): void {
    const key = [
      outcome.kernelId,
      outcome.status,
      outcome.fromVersion,
      outcome.toVersion,
      outcome.at,
      outcome.message,
    ].join('\u0000');
    if (this.seen.includes(key)) return;
    this.seen.push(key);
    if (this.seen.length > REMEMBERED_OUTCOMES) this.seen.shift();

    const entry = outcomeLogEntry(outcome);
    this.log[entry.level](entry.text);
    const notice = outcomeNotice(outcome);
    const buttons = notice.button !== undefined ? [notice.button] : [];
    let shown: Thenable<string | undefined> | undefined;
    if (notice.level === 'info') shown = vscode.window.showInformationMessage(notice.text, ...buttons);
    else if (notice.level === 'warning') shown = vscode.window.showWarningMessage(notice.text, ...buttons);
    else if (notice.level === 'error') shown = vscode.window.showErrorMessage(notice.text, ...buttons);
    void shown?.then((choice) => {
      if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
      else if (choice === 'Show Log') this.log.show();
    });
  }
}

const UNTRUSTED_MESSAGE =
  'RingKernel: kernels do not run in an untrusted workspace (validation still works). Trust the workspace to run them.';

export function registerKernelCommands(
  context: vscode.ExtensionContext,
  commands: CommandRegistry,
  kernels: KernelsClient,
  outcomes: ReloadOutcomeReporter,
  log: vscode.LogOutputChannel,
): void {
  context.subscriptions.push(
    commands.register('startKernels', () => startKernels(kernels, log)),
    commands.register('stopKernels', async () => {
      try {
        const { stopped } = await kernels.stop();
        void vscode.window.showInformationMessage(
          stopped.length === 0
            ? 'RingKernel: no kernel was running.'
            : `RingKernel: stopped ${stopped.join(', ')} (a checkpoint of each is kept in memory).`,
        );
        return { stopped };
      } catch (error) {
        reportFailure(log, 'stopping the kernels failed', error);
        return undefined;
      }
    }),
    commands.register('reloadKernel', (target?: unknown) => changeVersion(kernels, outcomes, log, target, 'reload')),
    commands.register('rollbackKernel', (target?: unknown) =>
      changeVersion(kernels, outcomes, log, target, 'rollback'),
    ),
    commands.register('showKernelActions', showKernelActions),
  );
}

async function startKernels(
  kernels: KernelsClient,
  log: vscode.LogOutputChannel,
): Promise<StartKernelsResult | undefined> {
  // The server refuses too, but only the client can offer the button that grants trust.
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(UNTRUSTED_MESSAGE, 'Manage Workspace Trust').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return undefined;
  }
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'RingKernel: starting kernels', cancellable: false },
      (progress) => {
        let last = 0;
        return kernels.start(({ percentage, message }) => {
          // withProgress wants increments; the server reports totals.
          const increment = percentage !== undefined ? Math.max(0, percentage - last) : undefined;
          if (percentage !== undefined) last = Math.max(last, percentage);
          progress.report({
            ...(message !== undefined ? { message } : {}),
            ...(increment !== undefined ? { increment } : {}),
          });
        });
      },
    );
    for (const { id, message } of result.notes ?? []) log.info(`kernel ${id}: ${message}`);
    const resumed = (result.notes ?? []).map(({ id, message }) => ` ${id}: ${message}.`).join('');
    if (result.error !== undefined) {
      reportFailure(log, 'the kernels did not start', result.error);
    } else if (result.failed.length > 0) {
      for (const { id, message } of result.failed) log.warn(`kernel ${id} did not start: ${message}`);
      const started = result.started.length > 0 ? `started ${result.started.join(', ')}; ` : '';
      const failed = result.failed.map(({ id, message }) => `${id} (${message})`).join('; ');
      void vscode.window
        .showWarningMessage(`RingKernel: ${started}could not start ${failed}`, 'Show Log')
        .then((choice) => {
          if (choice) log.show();
        });
    } else if (result.started.length === 0) {
      void vscode.window.showInformationMessage('RingKernel: every kernel is already running.');
    } else {
      void vscode.window.showInformationMessage(`RingKernel: started ${result.started.join(', ')}.${resumed}`);
    }
    return result;
  } catch (error) {
    reportFailure(log, 'starting the kernels failed', error);
    return undefined;
  }
}

/** Reload or roll back the kernel named by `target` (an id), or one the user picks. */
async function changeVersion(
  kernels: KernelsClient,
  outcomes: ReloadOutcomeReporter,
  log: vscode.LogOutputChannel,
  target: unknown,
  purpose: 'reload' | 'rollback',
): Promise<ReloadOutcome | undefined> {
  const verb = purpose === 'reload' ? 'reloading' : 'rolling back';
  try {
    // Menus pass their own arguments (a Uri, a tree node); only a string names a kernel.
    const id = typeof target === 'string' ? target : await pickKernel(kernels, purpose);
    if (id === undefined) return undefined;
    const outcome = purpose === 'reload' ? await kernels.reload(id) : await kernels.rollback(id);
    outcomes.report(outcome);
    // Asked for explicitly, "nothing to reload" is an answer worth showing.
    if (outcome.status === 'unchanged') void vscode.window.showInformationMessage(`RingKernel: ${outcome.message}`);
    return outcome;
  } catch (error) {
    reportFailure(log, `${verb} the kernel failed`, error);
    return undefined;
  }
}

async function pickKernel(kernels: KernelsClient, purpose: 'reload' | 'rollback'): Promise<string | undefined> {
  const info = await kernels.info();
  if (info.manifest === null) {
    void vscode.window.showInformationMessage(
      'RingKernel: this workspace has no ringkernel.json, so it has no kernels.',
    );
    return undefined;
  }
  let candidates: KernelView[] = info.kernels;
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage('RingKernel: ringkernel.json declares no kernels.');
    return undefined;
  }
  if (purpose === 'rollback') {
    candidates = candidates.filter((k) => k.fallbackVersion !== undefined);
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage(
        'RingKernel: no kernel has a previous version to roll back to; a kernel gets one when a reload succeeds.',
      );
      return undefined;
    }
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((kernel) => kernelPickLine(kernel, purpose)),
    {
      placeHolder:
        purpose === 'reload'
          ? 'Reload which kernel from its saved source?'
          : 'Roll back which kernel to its previous version (its state is kept)?',
    },
  );
  return picked?.label;
}

interface ActionItem extends vscode.QuickPickItem {
  command: string;
}

/** The status item's click: the kernel actions in one list. Returns what the chosen command returns. */
async function showKernelActions(): Promise<unknown> {
  const actions: ActionItem[] = [
    { label: '$(play) Start Kernels', command: COMMANDS.startKernels },
    { label: '$(debug-stop) Stop Kernels', command: COMMANDS.stopKernels },
    { label: '$(refresh) Reload Kernel…', command: COMMANDS.reloadKernel },
    { label: '$(history) Roll Back Kernel…', command: COMMANDS.rollbackKernel },
    { label: '$(arrow-swap) Migrate Kernel…', command: COMMANDS.migrateKernel },
    { label: '$(output) Show Log', command: COMMANDS.showLog },
  ];
  const picked = await vscode.window.showQuickPick(actions, { placeHolder: 'RingKernel kernels' });
  return picked === undefined ? undefined : vscode.commands.executeCommand(picked.command);
}
