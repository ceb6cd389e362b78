// The migration commands: Migrate Kernel… (palette, a kernel's context menu, a drop in the GPU
// Topology view), Drain Device… and Undrain Device. Each shows the server's progress, returns its
// outcome so tests can await it, and reports its own failure. The view and the kernel status bar
// item follow the server's kernelsChanged/topologyChanged; the view is also refreshed here once
// the answer arrives, so the command's caller sees the new placement at once.
import * as vscode from 'vscode';
import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageclient/node';
import type { DrainOutcome, MigrationOutcome } from '../../server/src/lsp/protocol';
import type { CommandRegistry } from './commandIds';
import { reportFailure } from './commands';
import { errorMessage } from './errorMessage';
import type { KernelsClient } from './kernelsClient';
import type { MigrationClient, PhaseProgress } from './migrationClient';
import {
  drainNotice,
  impossibleTargetText,
  migrationErrorText,
  migrationKernelItems,
  migrationLogEntry,
  migrationNotice,
  migrationTargetItems,
  noKernelToMigrate,
  noTargetText,
  progressLine,
  type MigrationNotice,
} from './migrationText';
import type { TopologyClient } from './topologyClient';
import type { TopologyNode } from './topologyTree';
import type { TopologyView } from './topologyView';

function show(notice: MigrationNotice, log: vscode.LogOutputChannel): void {
  const shown =
    notice.level === 'info'
      ? vscode.window.showInformationMessage(notice.text)
      : notice.level === 'warning'
        ? vscode.window.showWarningMessage(notice.text, 'Show Log')
        : vscode.window.showErrorMessage(notice.text, 'Show Log');
  void shown.then((choice) => {
    if (choice === 'Show Log') log.show();
  });
}

/** Turns the server's totals into withProgress's increments. */
function progressReporter(
  progress: vscode.Progress<{ message?: string; increment?: number }>,
): (update: PhaseProgress) => void {
  let last = 0;
  return ({ message, percentage, cancellable }) => {
    const line = progressLine(message, cancellable);
    const increment = percentage !== undefined ? Math.max(0, percentage - last) : undefined;
    if (percentage !== undefined) last = Math.max(last, percentage);
    progress.report({
      ...(line !== undefined ? { message: line } : {}),
      ...(increment !== undefined ? { increment } : {}),
    });
  };
}

export class MigrationCommands {
  constructor(
    private readonly migration: MigrationClient,
    private readonly kernels: KernelsClient,
    private readonly topology: TopologyClient,
    private readonly view: TopologyView,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(context: vscode.ExtensionContext, commands: CommandRegistry): void {
    context.subscriptions.push(
      commands.register('migrateKernel', (target?: unknown, device?: unknown) => this.migrateCommand(target, device)),
      commands.register('migrateKernelFromView', (target?: unknown) => this.migrateCommand(target, undefined)),
      commands.register('drainDevice', (target?: unknown) => this.drain(target)),
      commands.register('undrainDevice', (target?: unknown) => this.undrain(target)),
    );
  }

  /**
   * Arguments: none (pick the kernel, then the device); a kernel row of the view or a kernel id
   * (pick the device); a kernel id and a device key (no pickers, for tests and keybindings).
   */
  private async migrateCommand(target: unknown, device: unknown): Promise<MigrationOutcome | undefined> {
    try {
      const node = target as Partial<TopologyNode> | undefined;
      let kernelId = typeof target === 'string' ? target : node?.kind === 'kernel' ? node.kernel : undefined;
      // Where it runs, for the messages: the row says it, else the latest kernels' info.
      let from =
        node?.kind === 'kernel' ? node.device : this.kernels.current?.kernels.find((k) => k.id === kernelId)?.device;
      if (kernelId === undefined) {
        const picked = await this.pickKernel();
        if (picked === undefined) return undefined;
        ({ kernelId, from } = picked);
      }
      const to = typeof device === 'string' ? device : await this.pickTarget(kernelId);
      if (to === undefined) return undefined;
      return await this.migrate(kernelId, to, from);
    } catch (error) {
      reportFailure(this.log, 'migrating the kernel failed', error);
      return undefined;
    }
  }

  private async pickKernel(): Promise<{ kernelId: string; from: string } | undefined> {
    const info = await this.kernels.info();
    const none = noKernelToMigrate(info);
    if (none !== undefined) {
      void vscode.window.showInformationMessage(`RingKernel: ${none}`);
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(migrationKernelItems(info), {
      placeHolder: 'Move which running kernel to another device?',
      matchOnDescription: true,
    });
    return picked === undefined ? undefined : { kernelId: picked.kernelId, from: picked.from };
  }

  private async pickTarget(kernelId: string): Promise<string | undefined> {
    const targets = await this.migration.targets(kernelId);
    const nowhere = noTargetText(targets);
    if (nowhere !== undefined) {
      void vscode.window.showInformationMessage(`RingKernel: ${nowhere}`);
      return undefined;
    }
    const items = migrationTargetItems(targets).map((item) =>
      item.separator
        ? { label: item.label, kind: vscode.QuickPickItemKind.Separator, target: undefined }
        : { label: item.label, description: item.description, detail: item.detail, target: item },
    );
    const picked = await vscode.window.showQuickPick(items, {
      placeHolder: `Move ${kernelId} (${targets.from}) to which device?`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    const target = picked?.target;
    if (target === undefined) return undefined;
    if (!target.possible) {
      void vscode.window.showWarningMessage(
        `RingKernel: ${impossibleTargetText(kernelId, target.device, target.reason)}`,
      );
      return undefined;
    }
    return target.device;
  }

  /** Moves a kernel with a cancellable progress notification; the drop in the view comes here too. */
  async migrate(kernelId: string, to: string, from?: string): Promise<MigrationOutcome | undefined> {
    const title = `RingKernel: moving ${kernelId}${from !== undefined ? ` from ${from}` : ''} to ${to}`;
    let outcome: MigrationOutcome;
    try {
      outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        (progress, token) => this.migration.migrate(kernelId, to, progressReporter(progress), token),
      );
    } catch (error) {
      const cancelled =
        error instanceof ResponseError &&
        (error.code === LSPErrorCodes.RequestCancelled || error.code === LSPErrorCodes.ServerCancelled);
      const methodNotFound = error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound;
      const notice = migrationErrorText(kernelId, from, to, {
        cancelled,
        methodNotFound,
        message: errorMessage(error),
      });
      this.log[notice.level === 'warning' ? 'warn' : 'error'](notice.text);
      show(notice, this.log);
      return undefined;
    }
    const entry = migrationLogEntry(outcome);
    this.log[entry.level](entry.text);
    show(migrationNotice(outcome), this.log);
    await this.view.refresh();
    return outcome;
  }

  private async drain(target: unknown): Promise<DrainOutcome | undefined> {
    try {
      const device = await this.deviceArgument(target, 'Drain which device? Its kernels move to the others.', false);
      if (device === undefined) return undefined;
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `RingKernel: draining ${device}`, cancellable: false },
        (progress) => this.migration.drain(device, progressReporter(progress)),
      );
      this.log.info(`drain ${device}: ${outcome.message}`);
      for (const migration of outcome.migrations) {
        const entry = migrationLogEntry(migration);
        this.log[entry.level](entry.text);
      }
      for (const stayed of outcome.stayed)
        this.log.warn(`drain ${device}: ${stayed.kernelId} keeps running on it: ${stayed.reason}`);
      show(drainNotice(outcome), this.log);
      await this.view.refresh();
      return outcome;
    } catch (error) {
      reportFailure(this.log, 'draining the device failed', error);
      return undefined;
    }
  }

  private async undrain(target: unknown): Promise<{ device: string; message: string } | undefined> {
    try {
      const device = await this.deviceArgument(target, 'Take which drained device back into service?', true);
      if (device === undefined) return undefined;
      const result = await this.migration.undrain(device);
      void vscode.window.showInformationMessage(`RingKernel: ${result.message}`);
      await this.view.refresh();
      return result;
    } catch (error) {
      reportFailure(this.log, 'taking the device back into service failed', error);
      return undefined;
    }
  }

  /** A device key from a view row or a string, else from a pick of the devices (drained ones, or the others). */
  private async deviceArgument(target: unknown, placeHolder: string, drained: boolean): Promise<string | undefined> {
    if (typeof target === 'string') return target;
    const fromNode = (target as Partial<TopologyNode> | undefined)?.device;
    if (typeof fromNode === 'string') return fromNode;
    const info = await this.topology.topology();
    const candidates = info.devices.filter((d) => info.drained.includes(d.key) === drained);
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage(
        drained ? 'RingKernel: no device is drained.' : 'RingKernel: every device is drained already.',
      );
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      candidates.map((d) => ({ label: d.name, description: d.key, detail: `${d.kernelCount} kernel(s)`, key: d.key })),
      { placeHolder },
    );
    return picked?.key;
  }
}
