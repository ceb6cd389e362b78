// The kernel messages on the client side: asks the server to start, stop, reload and roll back the
// manifest's kernels and to read their state, and keeps the latest KernelsInfo (from
// ringkernel/kernelsChanged, and asked again whenever a server starts, restarts included). A server
// that does not know ringkernel/kernels leaves `current` undefined, which hides the status item.
import * as vscode from 'vscode';
import { ErrorCodes, ResponseError, State, WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import {
  entryPointOffsetsRequest,
  kernelStateRequest,
  kernelsChangedNotification,
  kernelsRequest,
  reloadKernelRequest,
  reloadOutcomeNotification,
  rollbackKernelRequest,
  runningSourceRequest,
  startKernelsRequest,
  stopKernelsRequest,
  type KernelStateResult,
  type RunningSourceResult,
  type KernelsInfo,
  type ReloadOutcome,
  type StartKernelsResult,
} from '../../server/src/lsp/protocol';
import { errorMessage } from './errorMessage';
import type { ServerConnection } from './serverConnection';

export interface WorkProgress {
  /** 0-100. */
  percentage?: number;
  message?: string;
}

export class KernelsClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private latest: KernelsInfo | undefined;
  /** Counts kernelsChanged notifications, so an answer to an older request never overwrites a newer push. */
  private pushes = 0;
  private readonly stateEmitter = new vscode.EventEmitter<KernelsInfo | undefined>();
  /** Fires with the latest info, or undefined when there is none (no server, or one without kernels). */
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly kernelsEmitter = new vscode.EventEmitter<KernelsInfo>();
  /** Fires with every KernelsInfo the server sends or answers. */
  readonly onDidChangeKernels = this.kernelsEmitter.event;
  private readonly outcomeEmitter = new vscode.EventEmitter<ReloadOutcome>();
  /**
   * Fires for every ringkernel/reloadOutcome notification. The server notifies every outcome,
   * those of the reload and rollback requests included, so this is the one complete stream.
   */
  readonly onDidReloadKernel = this.outcomeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(server.onDidCreateClient((client) => this.attach(client)));
  }

  /** The latest info from the server; undefined while none is running or it does not run kernels. */
  get current(): KernelsInfo | undefined {
    return this.latest;
  }

  /** Asks the server now (does not wait for a push). */
  info(): Promise<KernelsInfo> {
    return this.server.runningClient().sendRequest(kernelsRequest);
  }

  /** Starts every kernel that is not running; `report` receives the server's work-done progress. */
  async start(report: (progress: WorkProgress) => void): Promise<StartKernelsResult> {
    const client = this.server.runningClient();
    const workDoneToken = `ringkernel-start-${Date.now()}-${Math.floor(performance.now())}`;
    const progress = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'end') return;
      const update: WorkProgress = {};
      if (value.percentage !== undefined) update.percentage = value.percentage;
      if (value.message !== undefined) update.message = value.message;
      report(update);
    });
    try {
      return await client.sendRequest(startKernelsRequest, { workDoneToken });
    } finally {
      progress.dispose();
    }
  }

  stop(): Promise<{ stopped: string[] }> {
    return this.server.runningClient().sendRequest(stopKernelsRequest);
  }

  reload(id: string): Promise<ReloadOutcome> {
    return this.server.runningClient().sendRequest(reloadKernelRequest, { id });
  }

  rollback(id: string): Promise<ReloadOutcome> {
    return this.server.runningClient().sendRequest(rollbackKernelRequest, { id });
  }

  /** The code of the version a kernel runs (or ran when it stopped). */
  runningSource(id: string): Promise<RunningSourceResult> {
    return this.server.runningClient().sendRequest(runningSourceRequest, { id });
  }

  /** Where each entry point is defined in the document's current text (the server scans it). */
  async entryPointOffsets(uri: string, names: string[]): Promise<(number | null)[]> {
    return (await this.server.runningClient().sendRequest(entryPointOffsetsRequest, { uri, names })).offsets;
  }

  /** Reads a running kernel's state at a step boundary: its hash and the first `words` 32-bit words. */
  readState(id: string, words?: number): Promise<KernelStateResult> {
    return this.server.runningClient().sendRequest(kernelStateRequest, words === undefined ? { id } : { id, words });
  }

  private attach(client: LanguageClient): void {
    // Handlers registered on a LanguageClient survive its automatic restarts after a crash; an
    // explicit restart makes a new client, which arrives here again. Messages of a replaced client
    // are ignored.
    this.client = client;
    this.set(undefined);
    client.onNotification(kernelsChangedNotification, (info) => {
      if (client !== this.client) return;
      this.pushes++;
      this.set(info);
    });
    client.onNotification(reloadOutcomeNotification, (outcome) => {
      if (client === this.client) this.outcomeEmitter.fire(outcome);
    });
    client.onDidChangeState((event) => {
      if (client !== this.client) return;
      if (event.newState === State.Running) void this.refresh(client);
      else this.set(undefined);
    });
  }

  private async refresh(client: LanguageClient): Promise<void> {
    const pushesBefore = this.pushes;
    try {
      const info = await client.sendRequest(kernelsRequest);
      if (client === this.client && this.pushes === pushesBefore) this.set(info);
    } catch (error) {
      if (client !== this.client) return;
      if (error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound) {
        this.log.info(
          'this language server does not run kernels (it does not know ringkernel/kernels); the kernel status item stays hidden',
        );
      } else {
        this.log.warn(`the server did not answer ringkernel/kernels: ${errorMessage(error)}`);
      }
      this.set(undefined);
    }
  }

  private set(info: KernelsInfo | undefined): void {
    if (info === undefined && this.latest === undefined) return;
    this.latest = info;
    this.stateEmitter.fire(info);
    if (info !== undefined) this.kernelsEmitter.fire(info);
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.stateEmitter.dispose();
    this.kernelsEmitter.dispose();
    this.outcomeEmitter.dispose();
  }
}
