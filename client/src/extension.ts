// Activation: owns every disposable, starts the language server, wires status bar and commands.
import * as vscode from 'vscode';
import type { RingKernelApi } from './api';
import { CommandRegistry } from './commandIds';
import { registerCommands, reportFailure, registerTopologyCommands } from './commands';
import { registerKernelCommands, ReloadOutcomeReporter } from './kernelCommands';
import { KernelsClient } from './kernelsClient';
import { KernelStatusBar } from './kernelStatusBar';
import { MigrationClient } from './migrationClient';
import { MigrationCommands } from './migrationCommands';
import { registerRunningVersionDiff } from './runningVersionDiff';
import { ServerConnection } from './serverConnection';
import { StatusBar } from './statusBar';
import { TopologyClient } from './topologyClient';
import { TopologyDragAndDrop } from './topologyDragAndDrop';
import { TopologyView } from './topologyView';
import { WebviewPanels } from './webviews/webviewPanels';

export async function activate(context: vscode.ExtensionContext): Promise<RingKernelApi> {
  const log = vscode.window.createOutputChannel('RingKernel', { log: true });
  const trace = vscode.window.createOutputChannel('RingKernel LSP Trace');
  const statusBar = new StatusBar();
  const server = new ServerConnection(context, log, trace);
  context.subscriptions.push(
    log,
    trace,
    statusBar,
    server,
    server.onDidChangeStatus((status) => statusBar.update(status)),
  );
  // Every command goes through the table (commandIds.ts); one left without a handler is a bug, said in the log.
  const commands = new CommandRegistry((id, handler) => vscode.commands.registerCommand(id, handler));
  const kernels = new KernelsClient(server, log);
  registerCommands(context, commands, server, log, () => kernels.current?.kernels ?? []);
  const topology = new TopologyClient(server, log);
  const topologyView = new TopologyView(topology, kernels, log);
  context.subscriptions.push(topology, topologyView);
  registerTopologyCommands(context, commands, topology, topologyView, log);
  const migrations = new MigrationCommands(new MigrationClient(server), kernels, topology, topologyView, log);
  migrations.register(context, commands);
  topologyView.show(new TopologyDragAndDrop((kernelId, to, from) => migrations.migrate(kernelId, to, from), log));
  const kernelStatusBar = new KernelStatusBar(kernels);
  const outcomes = new ReloadOutcomeReporter(log);
  context.subscriptions.push(
    kernels,
    kernelStatusBar,
    kernels.onDidReloadKernel((outcome) => outcomes.report(outcome)),
  );
  registerKernelCommands(context, commands, kernels, outcomes, log);
  registerRunningVersionDiff(context, commands, kernels, log);
  const webviews = new WebviewPanels(context, commands, server, kernels, log);
  context.subscriptions.push(webviews);
  for (const id of commands.missing())
    log.error(`the command ${id} has no handler: it is contributed but does nothing`);

  try {
    await server.start();
  } catch (error) {
    // Activation failures are shown, never swallowed; the commands stay registered so the user
    // can restart once the cause is fixed.
    reportFailure(log, 'the language server did not start', error);
  }

  return {
    serverInfo: () => server.serverInfo(),
    get status() {
      return server.status;
    },
    get statusBar() {
      return statusBar.view;
    },
    onDidChangeStatus: server.onDidChangeStatus,
    setDeviceSelector: (selector) => topology.setDeviceSelector(selector),
    previewPlacement: (request) => topology.previewPlacement(request),
    topologyItems: () => topologyView.refresh(),
    kernels: () => kernels.info(),
    onDidChangeKernels: kernels.onDidChangeKernels,
    onDidReloadKernel: kernels.onDidReloadKernel,
    readKernelState: (id, words) => kernels.readState(id, words),
    get kernelStatusBar() {
      return kernelStatusBar.view;
    },
    routerStats: () => webviews.routerStats(),
  };
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the language client.
}
