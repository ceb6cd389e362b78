// Activation: owns every disposable, starts the language server, wires status bar and commands.
import * as vscode from 'vscode';
import type { RingKernelApi } from './api';
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
  context.subscriptions.push(log, trace, statusBar, server, server.onDidChangeStatus((status) => statusBar.update(status)));
  const kernels = new KernelsClient(server, log);
  registerCommands(context, server, log, () => kernels.current?.kernels ?? []);
  const topology = new TopologyClient(server, log);
  const topologyView = new TopologyView(topology, kernels, log);
  context.subscriptions.push(topology, topologyView);
  registerTopologyCommands(context, topology, topologyView, log);
  const migrations = new MigrationCommands(new MigrationClient(server), kernels, topology, topologyView, log);
  migrations.register(context);
  topologyView.show(new TopologyDragAndDrop((kernelId, to, from) => migrations.migrate(kernelId, to, from), log));
  const kernelStatusBar = new KernelStatusBar(kernels);
  const outcomes = new ReloadOutcomeReporter(log);
  context.subscriptions.push(kernels, kernelStatusBar, kernels.onDidReloadKernel((outcome) => outcomes.report(outcome)));
  registerKernelCommands(context, kernels, outcomes, log);
  registerRunningVersionDiff(context, kernels, log);
  const webviews = new WebviewPanels(context, server, kernels, log);
  context.subscriptions.push(webviews);

  try {
    await server.start();
  } catch (error) {
    // Activation failures are shown, never swallowed; the commands stay registered so the user
    // can restart once the cause is fixed.
    reportFailure(log, 'the language server did not start', error);
  }

  return {
    serverInfo: () => server.serverInfo(),
    get status() { return server.status; },
    get statusBar() { return statusBar.view; },
    onDidChangeStatus: server.onDidChangeStatus,
    setDeviceSelector: (selector) => topology.setDeviceSelector(selector),
    previewPlacement: (request) => topology.previewPlacement(request),
    topologyItems: () => topologyView.refresh(),
    kernels: () => kernels.info(),
    onDidChangeKernels: kernels.onDidChangeKernels,
    onDidReloadKernel: kernels.onDidReloadKernel,
    readKernelState: (id, words) => kernels.readState(id, words),
    get kernelStatusBar() { return kernelStatusBar.view; },
    routerStats: () => webviews.routerStats(),
  };
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the language client.
}
