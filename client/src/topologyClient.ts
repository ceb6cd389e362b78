// The topology messages on the client side: asks the server for the topology and measurements
// (drains move kernels: migrationClient.ts), forwards ringkernel/topologyChanged, and answers the
// server's ringkernel/selectDevice with the selector another extension set through the API
// (re-announced to every new server).
import * as vscode from 'vscode';
import { State, WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import {
  customSelectorChangedNotification,
  measureTopologyRequest,
  previewPlacementRequest,
  selectDeviceRequest,
  topologyChangedNotification,
  topologyRequest,
  type MeasureTopologyResult,
  type Placement,
  type PlacementRequest,
  type TopologyInfo,
} from '../../server/src/lsp/protocol';
import type { DeviceSelector } from './api';
import type { ServerConnection } from './serverConnection';

export interface MeasureProgress {
  /** 0-100. */
  percentage?: number;
  message?: string;
}

export class TopologyClient implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<string>();
  /** Fires with the reason whenever the server says the topology or the coordinator changed, and when a server starts. */
  readonly onDidChange = this.changeEmitter.event;
  private selector: DeviceSelector | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(server.onDidCreateClient((client) => this.attach(client)));
  }

  topology(): Promise<TopologyInfo> {
    return this.server.runningClient().sendRequest(topologyRequest);
  }

  /** Measures every device and pair; `report` receives the server's work-done progress. */
  async measure(
    report: (progress: MeasureProgress) => void,
    token?: vscode.CancellationToken,
  ): Promise<MeasureTopologyResult> {
    const client = this.server.runningClient();
    const workDoneToken = `ringkernel-measure-${Date.now()}-${Math.floor(performance.now())}`;
    const progress = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'end') return;
      const update: MeasureProgress = {};
      if (value.percentage !== undefined) update.percentage = value.percentage;
      if (value.message !== undefined) update.message = value.message;
      report(update);
    });
    try {
      return await client.sendRequest(measureTopologyRequest, { workDoneToken }, token);
    } finally {
      progress.dispose();
    }
  }

  previewPlacement(request: PlacementRequest = {}): Promise<Placement> {
    return this.server.runningClient().sendRequest(previewPlacementRequest, request);
  }

  /** Installs the custom strategy's selector (one at a time; the latest wins). */
  setDeviceSelector(selector: DeviceSelector): vscode.Disposable {
    this.selector = selector;
    this.announce(true);
    return new vscode.Disposable(() => {
      if (this.selector !== selector) return;
      this.selector = undefined;
      this.announce(false);
    });
  }

  private announce(registered: boolean): void {
    let client: LanguageClient;
    try {
      client = this.server.runningClient();
    } catch {
      return; // a server that starts later hears of it in attach()
    }
    client.sendNotification(customSelectorChangedNotification, { registered }).catch((error: unknown) => {
      this.log.warn(`could not tell the server about the device selector: ${String(error)}`);
    });
  }

  private attach(client: LanguageClient): void {
    client.onNotification(topologyChangedNotification, ({ reason }) => this.changeEmitter.fire(reason));
    client.onRequest(selectDeviceRequest, async ({ candidates, request }) => {
      const selector = this.selector;
      if (!selector) return { device: null };
      // A throw becomes an error response: the server logs it and LeastLoaded places the kernel.
      const device = await selector(candidates, request);
      return { device: device ?? null };
    });
    client.onDidChangeState((event) => {
      if (event.newState !== State.Running) return;
      if (this.selector) this.announce(true);
      this.changeEmitter.fire('server started');
    });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changeEmitter.dispose();
  }
}
