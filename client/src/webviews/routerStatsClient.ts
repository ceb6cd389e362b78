// The router-stats messages on the client side: asks for the stats, forwards
// ringkernel/routerStatsChanged, and tells each server whether anyone listens (a visible panel), so
// nothing is sent while nobody looks. A server without the messages answers MethodNotFound.
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import {
  routerStatsChangedNotification,
  routerStatsRequest,
  routerStatsSubscribeNotification,
  type RouterStats,
} from '../../../server/src/lsp/protocol';
import type { ServerConnection } from '../serverConnection';

export class RouterStatsClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private listening = false;
  private readonly statsEmitter = new vscode.EventEmitter<RouterStats>();
  readonly onDidChangeStats = this.statsEmitter.event;
  private readonly serverEmitter = new vscode.EventEmitter<void>();
  /** Fires when a server reaches Running (restarts included): a panel asks again. */
  readonly onDidStartServer = this.serverEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(server.onDidCreateClient((client) => this.attach(client)));
  }

  /** Whether the client tells servers that someone listens. */
  get isListening(): boolean {
    return this.listening;
  }

  stats(): Promise<RouterStats> {
    return this.server.runningClient().sendRequest(routerStatsRequest);
  }

  /** Whether a visible panel shows the stats; the server pushes changes only while true. */
  setListening(listening: boolean): void {
    if (listening === this.listening) return;
    this.listening = listening;
    this.announce();
  }

  private announce(): void {
    const client = this.client;
    if (!client || client.state !== State.Running) return; // a server that starts later hears of it in attach()
    client.sendNotification(routerStatsSubscribeNotification, { listening: this.listening }).catch((error: unknown) => {
      this.log.warn(`could not tell the server whether the router stats are watched: ${String(error)}`);
    });
  }

  private attach(client: LanguageClient): void {
    this.client = client;
    client.onNotification(routerStatsChangedNotification, (stats) => {
      if (client === this.client) this.statsEmitter.fire(stats);
    });
    client.onDidChangeState((event) => {
      if (client !== this.client || event.newState !== State.Running) return;
      if (this.listening) this.announce();
      this.serverEmitter.fire();
    });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.statsEmitter.dispose();
    this.serverEmitter.dispose();
  }
}
