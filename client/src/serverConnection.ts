// Starts the language server as a separate Node process over IPC, restarts it when it dies, and
// keeps a ServerStatus the status bar and the API read. Restarts are serialised.
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  serverInfoChangedNotification,
  serverInfoRequest,
  trustChangedNotification,
  type ServerInfo,
} from '../../server/src/lsp/protocol';
import { levelledChannel } from './logChannel';
import type { ServerStatus } from './serverStatus';

/** More crashes than this within the window and we stop restarting: something is badly wrong. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 3 * 60_000;

export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private crashTimes: number[] = [];
  private restarting: Promise<void> = Promise.resolve();
  private readonly statusEmitter = new vscode.EventEmitter<ServerStatus>();
  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly clientEmitter = new vscode.EventEmitter<LanguageClient>();
  /** Fires with each new LanguageClient before it starts, so features register their handlers on it. */
  readonly onDidCreateClient = this.clientEmitter.event;
  private current: ServerStatus = { state: 'stopped', info: undefined, crashRestarts: 0, problem: undefined };
  // Trust is only ever granted within a session (revoking it reloads the window), so one direction suffices.
  private readonly trustListener = vscode.workspace.onDidGrantWorkspaceTrust(() => this.announceTrust());

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly trace: vscode.OutputChannel,
  ) {}

  get status(): ServerStatus {
    return this.current;
  }

  async start(): Promise<void> {
    const serverModule = this.context.asAbsolutePath('dist/server.js');
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.ipc },
      debug: {
        module: serverModule,
        transport: TransportKind.ipc,
        options: { execArgv: ['--nolazy', '--inspect=6009'] },
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { language: 'wgsl' },
        { language: 'ptx' },
        { language: 'msl' },
        { pattern: '**/ringkernel.json' },
      ],
      // The client's own "[Warn  - time]" lines go to the log at their level, with one timestamp.
      outputChannel: levelledChannel(this.log),
      traceOutputChannel: this.trace,
      // The server pulls `ringkernel.*` (workspace/configuration) when told it changed.
      synchronize: { configurationSection: 'ringkernel' },
      // A function, so a server the client restarts after a crash reads trust as it is then, not as
      // it was at the first start. An untrusted server validates but runs no kernels.
      // VS Code checks ringkernel.json against the contributed schema itself, so the server
      // publishes only the problems the schema cannot express (no double squiggles).
      // Checkpoint files live in the workspace's storage, so a restarted server resumes each kernel.
      initializationOptions: () => ({
        trusted: vscode.workspace.isTrusted,
        validatesManifestSchema: true,
        ...(this.context.storageUri?.scheme === 'file'
          ? { checkpointFolder: vscode.Uri.joinPath(this.context.storageUri, 'checkpoints').fsPath }
          : {}),
      }),
      errorHandler: {
        error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
        closed: (): CloseHandlerResult => this.onServerClosed(),
      },
    };
    const client = new LanguageClient('ringkernel', 'RingKernel', serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((event) => {
      if (event.newState === State.Starting) this.update({ state: 'starting', info: undefined });
      else if (event.newState === State.Running) void this.refreshInfo(client);
      else if (event.newState === State.Stopped && this.current.state !== 'crashed')
        this.update({ state: 'stopped', info: undefined });
    });
    client.onNotification(serverInfoChangedNotification, (info) => this.update({ state: 'ready', info }));
    this.clientEmitter.fire(client);
    this.update({ state: 'starting', info: undefined, problem: undefined });
    await client.start();
  }

  /** Stops and starts the server; concurrent calls run one after the other. */
  restart(): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      this.log.info('restarting the language server');
      this.crashTimes = [];
      if (this.client) {
        const old = this.client;
        this.client = undefined;
        await old
          .dispose()
          .catch((error: unknown) => this.log.warn(`stopping the old server failed: ${String(error)}`));
      }
      await this.start();
    });
    return this.restarting;
  }

  /** Asks the running server for its info; rejects with a clear message when none is running. */
  async serverInfo(): Promise<ServerInfo> {
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new Error(
        `the RingKernel language server is not running (state: ${this.current.state}); run "RingKernel: Restart Server"`,
      );
    }
    return client.sendRequest(serverInfoRequest);
  }

  /** The running client; throws a clear message when none is running. */
  runningClient(): LanguageClient {
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new Error(
        `the RingKernel language server is not running (state: ${this.current.state}); run "RingKernel: Restart Server"`,
      );
    }
    return client;
  }

  /** Tells the current server the workspace became trusted; a server started later reads it from initializationOptions. */
  private announceTrust(): void {
    const client = this.client;
    if (!client || client.state === State.Stopped) return;
    client.sendNotification(trustChangedNotification, { trusted: true }).catch((error: unknown) => {
      this.log.warn(`could not tell the server that the workspace is trusted now: ${String(error)}`);
    });
  }

  private async refreshInfo(client: LanguageClient): Promise<void> {
    try {
      const info = await client.sendRequest(serverInfoRequest);
      if (client === this.client) this.update({ state: 'ready', info, problem: undefined });
    } catch (error) {
      this.log.warn(`the server did not answer ringkernel/serverInfo: ${String(error)}`);
    }
  }

  private onServerClosed(): CloseHandlerResult {
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashTimes.length > MAX_CRASHES) {
      const problem = `it exited ${this.crashTimes.length} times in ${CRASH_WINDOW_MS / 60_000} minutes, so it is not restarted automatically`;
      this.log.error(`the language server ${problem}; see the log above, then run "RingKernel: Restart Server"`);
      this.update({ state: 'crashed', info: undefined, problem });
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.log.warn('the language server exited unexpectedly; restarting it');
    this.update({
      state: 'crashed',
      info: undefined,
      problem: 'it exited unexpectedly; restarting',
      crashRestarts: this.current.crashRestarts + 1,
    });
    return { action: CloseAction.Restart, handled: true };
  }

  private update(change: Partial<ServerStatus>): void {
    this.current = { ...this.current, ...change };
    this.statusEmitter.fire(this.current);
  }

  dispose(): void {
    this.trustListener.dispose();
    this.statusEmitter.dispose();
    this.clientEmitter.dispose();
    void this.client?.dispose();
  }
}
