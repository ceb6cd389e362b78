// A "Kernel State" panel for one kernel: when its script is ready it gets the kernel's size and
// manifest views; the script answers with the byte ranges those views need, and the panel
// subscribes to frames of exactly those while it is visible and not paused. Hidden, paused or
// closed: unsubscribed, so the server reads nothing for it. While paused, "step" asks for one
// frame at a time.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { StateFrame, WireStateRange } from '../../../server/src/lsp/protocol';
import { errorMessage } from '../errorMessage';
import type { StateViewClient } from './stateViewClient';
import { WebviewHost } from './webviewHost';
import {
  KERNEL_STATE_VIEW_TYPE,
  stateFromWebview,
  type StateFromWebview,
  type StateRendered,
  type StateToWebview,
} from './webviewMessages';

export const KERNEL_STATE_KIND = {
  viewType: KERNEL_STATE_VIEW_TYPE,
  script: 'kernelState.js',
  messages: stateFromWebview,
};

export function kernelStateTitle(kernelId: string): string {
  return `State: ${kernelId}`;
}

export class KernelStatePanel implements vscode.Disposable {
  readonly host: WebviewHost<StateFromWebview, StateToWebview>;
  readonly subscriptionId = `state-${randomUUID()}`;
  /** What the webview said it drew last (the integration tests' hook). */
  lastRendered: StateRendered | undefined;
  readies = 0;
  /** Frames posted to the page since it last loaded (said ready). */
  framesPosted = 0;
  private regions: WireStateRange[] = [];
  private paused = false;
  private subscribed = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    panel: vscode.WebviewPanel,
    readonly kernelId: string,
    extensionUri: vscode.Uri,
    private readonly client: StateViewClient,
    private readonly fps: () => number,
    private readonly log: vscode.LogOutputChannel,
    onDispose: () => void,
  ) {
    this.host = new WebviewHost(
      panel,
      KERNEL_STATE_KIND,
      extensionUri,
      log,
      {
        onMessage: (message) => this.receive(message),
        // Shown again, the content reloads and its script says ready; hidden, nothing is read.
        onDidChangeVisibility: () => this.update(),
        onDidDispose: () => {
          for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
          this.unsubscribe();
          onDispose();
        },
      },
      { kernel: kernelId },
    );
    this.subscriptions.push(
      client.onDidStartServer(() => {
        if (this.host.visible) void this.describe();
      }),
    );
  }

  /** Whether frames are being read for this panel now. */
  get isSubscribed(): boolean {
    return this.subscribed;
  }

  reveal(): void {
    this.host.panel.reveal(undefined, true);
  }

  /** The `ringkernel.stateView.maxFps` setting changed. */
  fpsChanged(): void {
    this.host.post({ type: 'fps', fps: this.fps() });
    if (this.subscribed) this.subscribe();
  }

  dispose(): void {
    this.host.dispose();
  }

  private receive(message: StateFromWebview): void {
    switch (message.type) {
      case 'ready':
        this.readies++;
        this.framesPosted = 0;
        void this.describe();
        break;
      case 'subscribe':
        this.regions = message.regions;
        this.paused = message.paused;
        this.update();
        break;
      case 'pause':
        this.paused = message.paused;
        this.update();
        break;
      case 'stepFrame':
        void this.stepFrame();
        break;
      case 'rendered':
        this.lastRendered = message.summary;
        break;
      case 'problem':
        this.log.warn(`Kernel State webview (${this.kernelId}): ${message.message}`);
        break;
    }
  }

  private async describe(): Promise<void> {
    try {
      const kernel = await this.client.kernel(this.kernelId);
      this.host.post({ type: 'kernel', kernel, fps: this.fps() });
    } catch (error) {
      this.host.post({
        type: 'status',
        text: `Kernel "${this.kernelId}" cannot be shown: ${errorMessage(error)}`,
        severity: 'error',
      });
    }
  }

  private update(): void {
    if (this.host.visible && !this.paused && this.regions.length > 0) this.subscribe();
    else this.unsubscribe();
  }

  private subscribe(): void {
    this.subscribed = true;
    this.client.subscribe(
      { subscription: this.subscriptionId, kernelId: this.kernelId, regions: this.regions, fps: this.fps() },
      (frame) => this.post(frame),
    );
  }

  private unsubscribe(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.client.unsubscribe(this.subscriptionId);
  }

  private async stepFrame(): Promise<void> {
    if (this.regions.length === 0) return;
    try {
      this.post({ ...(await this.client.frame(this.kernelId, this.regions)), subscription: this.subscriptionId });
    } catch (error) {
      this.host.post({
        type: 'status',
        text: `The next frame could not be read: ${errorMessage(error)}`,
        severity: 'error',
      });
    }
  }

  private post(frame: StateFrame): void {
    if (this.host.post({ type: 'frame', frame })) this.framesPosted++;
  }
}
