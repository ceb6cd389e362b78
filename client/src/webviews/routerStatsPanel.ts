// The "Router Stats" panel: asks for the router's statistics when its script is ready, forwards
// every change the server pushes while it is visible, and stops the pushes while hidden. The
// webview script (client/webview-ui/routerStats/) keeps the time series and draws them.
import * as vscode from 'vscode';
import { errorMessage } from '../errorMessage';
import type { RouterStatsClient } from './routerStatsClient';
import { WebviewHost } from './webviewHost';
import {
  ROUTER_STATS_VIEW_TYPE,
  routerFromWebview,
  type RouterFromWebview,
  type RouterRendered,
  type RouterToWebview,
} from './webviewMessages';

export const ROUTER_STATS_KIND = {
  viewType: ROUTER_STATS_VIEW_TYPE,
  script: 'routerStats.js',
  messages: routerFromWebview,
};
export const ROUTER_STATS_TITLE = 'Router Stats';

export class RouterStatsPanel implements vscode.Disposable {
  readonly host: WebviewHost<RouterFromWebview, RouterToWebview>;
  /** What the webview said it drew last (the integration tests' hook). */
  lastRendered: RouterRendered | undefined;
  readies = 0;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly client: RouterStatsClient,
    private readonly log: vscode.LogOutputChannel,
    onDispose: () => void,
  ) {
    this.host = new WebviewHost(panel, ROUTER_STATS_KIND, extensionUri, log, {
      onMessage: (message) => this.receive(message),
      onDidChangeVisibility: (visible) => client.setListening(visible),
      onDidDispose: () => {
        for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
        client.setListening(false);
        onDispose();
      },
    });
    this.subscriptions.push(
      client.onDidChangeStats((stats) => this.host.post({ type: 'stats', stats })),
      client.onDidStartServer(() => {
        if (this.host.visible) void this.refresh();
      }),
    );
    client.setListening(this.host.visible);
  }

  reveal(): void {
    this.host.panel.reveal(undefined, true);
  }

  dispose(): void {
    this.host.dispose();
  }

  private receive(message: RouterFromWebview): void {
    switch (message.type) {
      case 'ready':
        this.readies++;
        void this.refresh();
        break;
      case 'rendered':
        this.lastRendered = message.summary;
        break;
      case 'problem':
        this.log.warn(`Router Stats webview: ${message.message}`);
        break;
    }
  }

  private async refresh(): Promise<void> {
    try {
      const stats = await this.client.stats();
      this.host.post({ type: 'status', text: '', severity: 'info' });
      this.host.post({ type: 'stats', stats });
    } catch (error) {
      this.host.post({
        type: 'status',
        text: `The router's statistics could not be read: ${errorMessage(error)}`,
        severity: 'error',
      });
    }
  }
}
