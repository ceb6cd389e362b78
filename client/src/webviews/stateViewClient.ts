// The state-view messages on the client side: what a kernel's view can show, subscriptions of
// frames (one per visible, unpaused panel; sent again to a restarted server), and single frames.
import * as vscode from 'vscode';
import { State, type LanguageClient, type NotificationType } from 'vscode-languageclient/node';
import {
  stateFrameNotification,
  stateViewFrameRequest,
  stateViewKernelRequest,
  stateViewSubscribeNotification,
  stateViewUnsubscribeNotification,
  type StateFrame,
  type StateViewKernel,
  type StateViewSubscription,
  type WireStateRange,
} from '../../../server/src/lsp/protocol';
import type { ServerConnection } from '../serverConnection';

interface Active {
  subscription: StateViewSubscription;
  onFrame(frame: StateFrame): void;
}

export class StateViewClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly active = new Map<string, Active>();
  private readonly serverEmitter = new vscode.EventEmitter<void>();
  /** Fires when a server reaches Running (restarts included). */
  readonly onDidStartServer = this.serverEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(server.onDidCreateClient((client) => this.attach(client)));
  }

  kernel(kernelId: string): Promise<StateViewKernel> {
    return this.server.runningClient().sendRequest(stateViewKernelRequest, { kernelId });
  }

  frame(kernelId: string, regions: WireStateRange[]): Promise<StateFrame> {
    return this.server.runningClient().sendRequest(stateViewFrameRequest, { kernelId, regions });
  }

  /** Starts (or replaces) a subscription; frames go to `onFrame` until unsubscribe. */
  subscribe(subscription: StateViewSubscription, onFrame: (frame: StateFrame) => void): void {
    this.active.set(subscription.subscription, { subscription, onFrame });
    this.send(stateViewSubscribeNotification, subscription);
  }

  unsubscribe(id: string): void {
    if (!this.active.delete(id)) return;
    this.send(stateViewUnsubscribeNotification, { subscription: id });
  }

  private send<P>(type: NotificationType<P>, params: P): void {
    const client = this.client;
    if (!client || client.state !== State.Running) return; // sent again when a server starts
    client.sendNotification(type, params).catch((error: unknown) => {
      this.log.warn(`${type.method} could not be sent: ${String(error)}`);
    });
  }

  private attach(client: LanguageClient): void {
    this.client = client;
    client.onNotification(stateFrameNotification, (frame) => {
      if (client === this.client) this.active.get(frame.subscription)?.onFrame(frame);
    });
    client.onDidChangeState((event) => {
      if (client !== this.client || event.newState !== State.Running) return;
      for (const { subscription } of this.active.values()) this.send(stateViewSubscribeNotification, subscription);
      this.serverEmitter.fire();
    });
  }

  dispose(): void {
    for (const id of [...this.active.keys()]) this.unsubscribe(id);
    for (const subscription of this.subscriptions) subscription.dispose();
    this.serverEmitter.dispose();
  }
}
