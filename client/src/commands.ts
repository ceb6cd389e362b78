// One factory per command. Each command reports its own failure to the user.
import * as vscode from 'vscode';
import type { CommandRegistry } from './commandIds';
import { errorMessage } from './errorMessage';
import type { ServerConnection } from './serverConnection';
import type { TopologyClient } from './topologyClient';
import type { TopologyNode } from './topologyTree';
import type { TopologyView } from './topologyView';

export function registerCommands(context: vscode.ExtensionContext, commands: CommandRegistry, server: ServerConnection, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    commands.register('restartServer', async () => {
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
        const backends = info.probing ? 'still probing GPU backends' : info.backends
          .map((b) => (b.available ? `${b.backend}: ${b.devices.map((d) => d.name).join(', ')}` : `${b.backend}: unavailable (${b.reason ?? 'no reason given'})`))
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
  void vscode.window.showErrorMessage(message, 'Show Log').then((choice) => { if (choice) log.show(); });
}

export function registerTopologyCommands(
  context: vscode.ExtensionContext, commands: CommandRegistry, topology: TopologyClient, view: TopologyView, log: vscode.LogOutputChannel,
): void {
  context.subscriptions.push(
    commands.register('refreshTopology', () => view.refresh()),
    commands.register('measureTopology', async () => {
      try {
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'RingKernel: measuring the GPU topology', cancellable: true },
          async (progress, token) => {
            let last = 0;
            return topology.measure(({ percentage, message }) => {
              const increment = percentage !== undefined ? Math.max(0, percentage - last) : undefined;
              if (percentage !== undefined) last = Math.max(last, percentage);
              progress.report({ ...(message !== undefined ? { message } : {}), ...(increment !== undefined ? { increment } : {}) });
            }, token);
          },
        );
        const summary = `${result.hostLinks / 2} host link(s) and ${result.links} device pair(s) measured`;
        if (result.cancelled) void vscode.window.showWarningMessage(`RingKernel: measurement cancelled; ${summary} so far.`);
        else if (result.failures.length > 0) {
          for (const failure of result.failures) log.warn(`measure topology: ${failure}`);
          void vscode.window.showWarningMessage(`RingKernel: ${summary}; ${result.failures.length} could not be measured: ${result.failures[0] ?? ''}`, 'Show Log')
            .then((choice) => { if (choice) log.show(); });
        } else if (result.saveError !== undefined) void vscode.window.showWarningMessage(`RingKernel: ${summary}, but ${result.saveError}`);
        else void vscode.window.showInformationMessage(`RingKernel: ${summary}; cached in ${result.cachePath}.`);
        await view.refresh();
        return result;
      } catch (error) {
        reportFailure(log, 'measuring the topology failed', error);
        return undefined;
      }
    }),
    commands.register('drainDevice', async (target?: TopologyNode | string) => {
      try {
        let device = typeof target === 'string' ? target : target?.device;
        if (device === undefined) {
          const info = await topology.topology();
          const picked = await vscode.window.showQuickPick(
            info.devices.map((d) => ({ label: d.name, description: d.key, detail: `${d.kernelCount} kernel(s)`, key: d.key })),
            { placeHolder: 'Drain which device? Its kernels are planned onto the others.' },
          );
          if (!picked) return undefined;
          device = picked.key;
        }
        const result = await topology.drain(device);
        const moves = result.migrations.map((m) => `${m.kernelId} → ${m.to}${m.transfer ? ` (${m.transfer.interconnects.join(' + ') || 'same device'}, ~${(m.transfer.seconds * 1000).toFixed(2)} ms)` : ''}`);
        const orphans = result.orphans.map((o) => `${o.kernelId} (${o.reason})`);
        if (moves.length === 0 && orphans.length === 0) {
          void vscode.window.showInformationMessage(`RingKernel: drained ${device}. No kernels were placed on it, so none move. It takes no new kernels until the language server restarts.`);
        } else {
          const parts = [moves.length > 0 ? `kernels would move: ${moves.join(', ')}` : undefined, orphans.length > 0 ? `no device can take: ${orphans.join(', ')}` : undefined].filter(Boolean);
          const message = `RingKernel: drained ${device}; ${parts.join('; ')}.`;
          if (orphans.length > 0) void vscode.window.showWarningMessage(message);
          else void vscode.window.showInformationMessage(message);
        }
        await view.refresh();
        return result;
      } catch (error) {
        reportFailure(log, 'draining the device failed', error);
        return undefined;
      }
    }),
  );
}
