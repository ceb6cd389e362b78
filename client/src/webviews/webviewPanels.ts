// The two webviews as a feature: their commands (RingKernel: Show Router Stats, Show Kernel State),
// the serializers that bring open panels back after a window reload, the "View state" CodeLens,
// the frame-rate setting, and (in the extension's test mode only) the hooks the integration tests
// read what the panels received and drew through.
import * as vscode from 'vscode';
import type { RouterStats, StateFrame } from '../../../server/src/lsp/protocol';
import type { CommandRegistry } from '../commandIds';
import { reportFailure } from '../commands';
import type { KernelsClient } from '../kernelsClient';
import type { ServerConnection } from '../serverConnection';
import { KernelStateCodeLens } from './kernelStateCodeLens';
import { kernelIdOf } from './kernelTarget';
import { KernelStatePanel, kernelStateTitle } from './kernelStatePanel';
import { validate } from './messageValidator';
import { RouterStatsClient } from './routerStatsClient';
import { ROUTER_STATS_TITLE, RouterStatsPanel } from './routerStatsPanel';
import { StateViewClient } from './stateViewClient';
import { createWebviewPanel, showMessageInstead } from './webviewHost';
import {
  KERNEL_STATE_VIEW_TYPE,
  ROUTER_STATS_VIEW_TYPE,
  stateWebviewState,
  type RouterRendered,
  type StateRendered,
} from './webviewMessages';

export const MAX_FPS_SETTING = 'stateView.maxFps';
const FPS_LIMITS = { min: 1, max: 30, default: 10 };

/** What the test hook reports about a panel. */
export interface PanelReport {
  visible: boolean;
  viewColumn: number | undefined;
  /** Times its script said it was ready (each load: opening, showing again, restoring). */
  readies: number;
  posted: number;
  lastPosted: unknown;
  lastRendered: RouterRendered | StateRendered | undefined;
}

export interface WebviewsReport {
  routerStats: PanelReport | null;
  /** Whether the server is told to push router stats. */
  routerListening: boolean;
  kernelStates: (PanelReport & { kernelId: string; subscribed: boolean; framesPosted: number })[];
}

/** A frame without its bytes: what the test hook shows of it. */
function frameSummary(frame: StateFrame): unknown {
  const { regions, reload, ...rest } = frame;
  return {
    ...rest,
    regions: regions.map((r) => ({ offset: r.offset, bytes: Buffer.from(r.base64, 'base64').byteLength })),
    ...(reload
      ? {
          reload: {
            fromVersion: reload.fromVersion,
            toVersion: reload.toVersion,
            atStep: reload.atStep,
            previous: reload.previous !== undefined,
          },
        }
      : {}),
  };
}

export class WebviewPanels implements vscode.Disposable {
  private readonly routerClient: RouterStatsClient;
  private readonly stateClient: StateViewClient;
  private router: RouterStatsPanel | undefined;
  private readonly states = new Map<string, KernelStatePanel>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    commands: CommandRegistry,
    server: ServerConnection,
    private readonly kernels: KernelsClient,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.routerClient = new RouterStatsClient(server, log);
    this.stateClient = new StateViewClient(server, log);
    this.subscriptions.push(
      this.routerClient,
      this.stateClient,
      new KernelStateCodeLens(kernels),
      commands.register('showRouterStats', () => this.showRouterStats()),
      commands.register('showKernelState', (target?: unknown) => this.showKernelState(target)),
      vscode.window.registerWebviewPanelSerializer(ROUTER_STATS_VIEW_TYPE, {
        deserializeWebviewPanel: (panel, state) => this.restore(ROUTER_STATS_VIEW_TYPE, panel, state),
      }),
      vscode.window.registerWebviewPanelSerializer(KERNEL_STATE_VIEW_TYPE, {
        deserializeWebviewPanel: (panel, state) => this.restore(KERNEL_STATE_VIEW_TYPE, panel, state),
      }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`ringkernel.${MAX_FPS_SETTING}`))
          for (const panel of this.states.values()) panel.fpsChanged();
      }),
    );
    if (context.extensionMode === vscode.ExtensionMode.Test) {
      this.subscriptions.push(
        commands.registerTestHook('ringkernel.test.webviews', () => this.report()),
        // What VS Code does after a window reload, on demand: a fresh panel of the type, restored from `state`.
        commands.registerTestHook('ringkernel.test.restoreWebview', async (viewType: string, state: unknown) => {
          const panel = createWebviewPanel(context.extensionUri, viewType, 'restored');
          await this.restore(viewType, panel, state);
        }),
        // A message as if the panel's webview had posted it (its buttons), through the same checks.
        commands.registerTestHook(
          'ringkernel.test.webviewMessage',
          (kernelId: string | undefined, message: unknown) => {
            const panel = kernelId === undefined ? this.router : this.states.get(kernelId);
            if (!panel)
              throw new Error(
                `no ${kernelId === undefined ? 'Router Stats' : `Kernel State panel of "${kernelId}"`} is open`,
              );
            panel.host.receive(message);
          },
        ),
      );
    }
  }

  /** The router's statistics now (the extension API). */
  routerStats(): Promise<RouterStats> {
    return this.routerClient.stats();
  }

  showRouterStats(): void {
    if (this.router) {
      this.router.reveal();
      return;
    }
    this.router = this.routerPanel(
      createWebviewPanel(this.context.extensionUri, ROUTER_STATS_VIEW_TYPE, ROUTER_STATS_TITLE),
    );
  }

  /** Opens (or reveals) the state view of the kernel named by `target`: an id, a GPU Topology kernel node, or one the user picks. */
  async showKernelState(target?: unknown): Promise<string | undefined> {
    try {
      const kernelId = kernelIdOf(target) ?? (await this.pickKernel());
      if (kernelId === undefined) return undefined;
      const open = this.states.get(kernelId);
      if (open) open.reveal();
      else
        this.statePanel(
          createWebviewPanel(this.context.extensionUri, KERNEL_STATE_VIEW_TYPE, kernelStateTitle(kernelId)),
          kernelId,
        );
      return kernelId;
    } catch (error) {
      reportFailure(this.log, 'the kernel state view could not open', error);
      return undefined;
    }
  }

  dispose(): void {
    this.router?.dispose();
    for (const panel of [...this.states.values()]) panel.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private routerPanel(panel: vscode.WebviewPanel): RouterStatsPanel {
    const router = new RouterStatsPanel(panel, this.context.extensionUri, this.routerClient, this.log, () => {
      if (this.router === router) this.router = undefined;
    });
    return router;
  }

  private statePanel(panel: vscode.WebviewPanel, kernelId: string): KernelStatePanel {
    const state = new KernelStatePanel(
      panel,
      kernelId,
      this.context.extensionUri,
      this.stateClient,
      () => this.maxFps(),
      this.log,
      () => {
        if (this.states.get(kernelId) === state) this.states.delete(kernelId);
      },
    );
    this.states.set(kernelId, state);
    return state;
  }

  /** A panel VS Code brings back after a window reload, with the state its script saved. */
  private restore(viewType: string, panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    // A panel that cannot come back says why and stays until the user closes it: disposing it
    // while VS Code is still opening it races the workbench.
    const { extensionUri } = this.context;
    if (viewType === ROUTER_STATS_VIEW_TYPE) {
      if (this.router)
        showMessageInstead(
          panel,
          extensionUri,
          ROUTER_STATS_TITLE,
          'Router Stats is open in another tab; close this one.',
        );
      else {
        panel.title = ROUTER_STATS_TITLE;
        this.router = this.routerPanel(panel);
      }
      return Promise.resolve();
    }
    const checked = validate(stateWebviewState, state, 'the saved state');
    if (!checked.ok) {
      this.log.warn(`a Kernel State panel could not be restored: ${checked.error}`);
      showMessageInstead(
        panel,
        extensionUri,
        'Kernel State',
        'This Kernel State panel could not be restored (its saved state names no kernel). Close it and run "RingKernel: Show Kernel State".',
      );
      return Promise.resolve();
    }
    if (this.states.has(checked.value.kernelId)) {
      showMessageInstead(
        panel,
        extensionUri,
        kernelStateTitle(checked.value.kernelId),
        `The state of kernel "${checked.value.kernelId}" is open in another tab; close this one.`,
      );
      return Promise.resolve();
    }
    panel.title = kernelStateTitle(checked.value.kernelId);
    this.statePanel(panel, checked.value.kernelId);
    return Promise.resolve();
  }

  private maxFps(): number {
    const value = vscode.workspace.getConfiguration('ringkernel').get<number>(MAX_FPS_SETTING, FPS_LIMITS.default);
    return typeof value === 'number' && Number.isFinite(value)
      ? Math.min(FPS_LIMITS.max, Math.max(FPS_LIMITS.min, value))
      : FPS_LIMITS.default;
  }

  private async pickKernel(): Promise<string | undefined> {
    const info = await this.kernels.info();
    if (info.kernels.length === 0) {
      void vscode.window.showInformationMessage(
        info.manifest === null
          ? 'RingKernel: this workspace has no ringkernel.json, so it has no kernels to show.'
          : 'RingKernel: ringkernel.json declares no kernels.',
      );
      return undefined;
    }
    if (info.kernels.length === 1) return info.kernels[0]?.id;
    const running = (state: string): boolean => state === 'running' || state === 'reloading';
    const ordered = [...info.kernels].sort((a, b) => Number(running(b.state)) - Number(running(a.state)));
    const picked = await vscode.window.showQuickPick(
      ordered.map((k) => ({
        label: k.id,
        description: `${k.state}${k.device ? ` on ${k.device}` : ''}`,
        detail: `v${k.version}, step ${k.step.toLocaleString('en-US')}, ${k.stateBytes.toLocaleString('en-US')} bytes of state`,
      })),
      { placeHolder: 'Show the state of which kernel?' },
    );
    return picked?.label;
  }

  private report(): WebviewsReport {
    const base = (panel: RouterStatsPanel | KernelStatePanel): PanelReport => ({
      visible: panel.host.visible,
      viewColumn: panel.host.panel.viewColumn,
      readies: panel.readies,
      posted: panel.host.posted,
      lastPosted:
        panel.host.lastPosted?.type === 'frame'
          ? { type: 'frame', frame: frameSummary(panel.host.lastPosted.frame) }
          : panel.host.lastPosted,
      lastRendered: panel.lastRendered,
    });
    return {
      routerStats: this.router ? base(this.router) : null,
      routerListening: this.routerClient.isListening,
      kernelStates: [...this.states.values()].map((panel) => ({
        ...base(panel),
        kernelId: panel.kernelId,
        subscribed: panel.isSubscribed,
        framesPosted: panel.framesPosted,
      })),
    };
  }
}
