// One factory per command. Each command reports its own failure to the user.
import * as vscode from 'vscode';
import type { KernelView } from '../../server/src/lsp/protocol';
import type { CommandRegistry } from './commandIds';
import { errorMessage } from './errorMessage';
import { restartWarning } from './kernelStatus';
import type { ServerConnection } from './serverConnection';
import type { TopologyClient } from './topologyClient';
import type { TopologyView } from './topologyView';

export function registerCommands(
  context: vscode.ExtensionContext,
  commands: CommandRegistry,
  server: ServerConnection,
  log: vscode.LogOutputChannel,
  kernels: () => readonly KernelView[],
): void {
  context.subscriptions.push(
    // `{ confirmed: true }` (scripts and tests) skips the question.
    commands.register('restartServer', async (options?: unknown) => {
      // Running kernels live in the server's device hosts. With workspace storage their checkpoints
      // are written as the server stops and the next one resumes them; without, they start at step 0.
      const warning = restartWarning(kernels(), context.storageUri?.scheme === 'file');
      const confirmed =
        typeof options === 'object' && options !== null && (options as { confirmed?: unknown }).confirmed === true;
      if (warning && !confirmed) {
        const choice = await vscode.window.showWarningMessage(warning, { modal: true }, 'Restart');
        if (choice !== 'Restart') return;
      }
      try {
        await server.restart();
      } catch (error) {
        reportFailure(log, 'the language server did not restart', error);
      }
    }),
    commands.register('showLog', () => log.show()),
    commands.register('showServerInfo', async () => {
      try {
        const info = await server.serverInfo();
        const backends = info.probing
          ? 'still probing GPU backends'
          : info.backends
              .map((b) =>
                b.available
                  ? `${b.backend}: ${b.devices.map((d) => d.name).join(', ')}`
                  : `${b.backend}: unavailable (${b.reason ?? 'no reason given'})`,
              )
              .join('; ');
        void vscode.window.showInformationMessage(`RingKernel ${info.version} (server pid ${info.pid}): ${backends}`);
        return info;
      } catch (error) {
        void vscode.window.showErrorMessage(`RingKernel: ${errorMessage(error)}`);
        return undefined;
      }
    }),
  );
}

/** Logs a failure and shows it, with a button to the log. */
export function reportFailure(log: vscode.LogOutputChannel, what: string, error: unknown): void {
  const message = `RingKernel: ${what}: ${errorMessage(error)}`;
  log.error(message);
  void vscode.window.showErrorMessage(message, 'Show Log').then((choice) => {
    if (choice) log.show();
  });
}

export function registerTopologyCommands(
  context: vscode.ExtensionContext,
  commands: CommandRegistry,
  topology: TopologyClient,
  view: TopologyView,
  log: vscode.LogOutputChannel,
): void {
  context.subscriptions.push(
    commands.register('refreshTopology', () => view.refresh()),
    commands.register('measureTopology', async () => {
      try {
        const result = await vscode.window.withProgress(
          {
            location: vscode.ProgressLocation.Notification,
            title: 'RingKernel: measuring the GPU topology',
            cancellable: true,
          },
          async (progress, token) => {
            let last = 0;
            return topology.measure(({ percentage, message }) => {
              const increment = percentage !== undefined ? Math.max(0, percentage - last) : undefined;
              if (percentage !== undefined) last = Math.max(last, percentage);
              progress.report({
                ...(message !== undefined ? { message } : {}),
                ...(increment !== undefined ? { increment } : {}),
              });
            }, token);
          },
        );
        const summary = `${result.hostLinks / 2} host link(s) and ${result.links} device pair(s) measured`;
        if (result.cancelled)
          void vscode.window.showWarningMessage(`RingKernel: measurement cancelled; ${summary} so far.`);
        else if (result.failures.length > 0) {
          for (const failure of result.failures) log.warn(`measure topology: ${failure}`);
          void vscode.window
            .showWarningMessage(
              `RingKernel: ${summary}; ${result.failures.length} could not be measured: ${result.failures[0] ?? ''}`,
              'Show Log',
            )
            .then((choice) => {
              if (choice) log.show();
            });
        } else if (result.saveError !== undefined)
          void vscode.window.showWarningMessage(`RingKernel: ${summary}, but ${result.saveError}`);
        else void vscode.window.showInformationMessage(`RingKernel: ${summary}; cached in ${result.cachePath}.`);
        await view.refresh();
        return result;
      } catch (error) {
        reportFailure(log, 'measuring the topology failed', error);
        return undefined;
      }
    }),
  );
}
