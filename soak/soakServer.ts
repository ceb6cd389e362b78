// The real language server as the soak drives it: `ringkernel-language-server --stdio`, a trusted
// workspace, the settings an editor would send (workspace/configuration), documents opened, edited
// and saved as an editor does (didChange, willSave with the manual reason, the file written,
// didSave), and every reload outcome it pushes, with the time it arrived.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  MessageType,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocumentSaveReason,
  WillSaveTextDocumentNotification,
  createProtocolConnection,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { reloadOutcomeNotification, type ReloadOutcome } from '../server/src/lsp/protocol';
import { extensionRoot } from '../server/src/paths';

export interface TimedOutcome {
  /** Milliseconds since the session started. */
  atMs: number;
  outcome: ReloadOutcome;
}

/** Rejects with `what` when `promise` has not settled within `ms`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export class SoakServer {
  readonly outcomes: TimedOutcome[] = [];
  /** window/logMessage lines at the error level. */
  errorsLogged = 0;
  /** Set once the server process exited, with how. */
  exit: { code: number | null; signal: string | null; atMs: number } | undefined;
  private readonly versions = new Map<string, number>();
  private readonly waiting = new Map<string, { version: number; resolve: (p: PublishDiagnosticsParams) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
    private readonly startedAt: number,
  ) {}

  /** Starts the server on `root` with these `ringkernel.*` settings; its stderr goes to `logFile`. */
  static async start(root: string, settings: object, logFile: string, startedAt: number): Promise<SoakServer> {
    const child = spawn(process.execPath, [join(extensionRoot(), 'bin', 'ringkernel-language-server.js'), '--stdio'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (!child.stdout || !child.stdin || !child.stderr)
      throw new Error('soak: the language server started without pipes');
    // The server's log lines (window/logMessage) and its stderr, in one file.
    const log = createWriteStream(logFile);
    child.stderr.pipe(log, { end: false });
    const connection = createProtocolConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const server = new SoakServer(child, connection, startedAt);
    child.once('exit', (code, signal) => (server.exit = { code, signal, atMs: Date.now() - startedAt }));
    connection.onRequest(ConfigurationRequest.type, (params) =>
      params.items.map((item) => (item.section === 'ringkernel' ? settings : null)),
    );
    const level = {
      [MessageType.Error]: 'error',
      [MessageType.Warning]: 'warn',
      [MessageType.Info]: 'info',
      [MessageType.Log]: 'log',
    };
    connection.onNotification(LogMessageNotification.type, (params) => {
      if (params.type === MessageType.Error) server.errorsLogged++;
      log.write(
        `[${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${level[params.type as 1 | 2 | 3 | 4] ?? 'debug'}: ${params.message}\n`,
      );
    });
    connection.onNotification(reloadOutcomeNotification, (outcome) =>
      server.outcomes.push({ atMs: Date.now() - startedAt, outcome }),
    );
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      const wait = server.waiting.get(params.uri);
      if (wait && params.version === wait.version) {
        server.waiting.delete(params.uri);
        wait.resolve(params);
      }
    });
    connection.listen();
    const uri = pathToFileURL(root).href;
    await within(
      60_000,
      'the server to answer initialize',
      connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri: uri,
        capabilities: {
          workspace: { configuration: true },
          window: { workDoneProgress: true },
          textDocument: { synchronization: { willSave: true, didSave: true, dynamicRegistration: false } },
        },
        workspaceFolders: [{ uri, name: 'soak' }],
        initializationOptions: { trusted: true },
      }),
    );
    await connection.sendNotification(InitializedNotification.type, {});
    return server;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('soak: the language server did not start');
    return this.child.pid;
  }

  /** Milliseconds since the soak started. */
  now(): number {
    return Date.now() - this.startedAt;
  }

  async open(path: string, languageId: string, text: string): Promise<void> {
    const uri = pathToFileURL(path).href;
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text },
    });
  }

  /**
   * The editor's save of new text: change, willSave (manual), the file written, didSave. Resolves
   * with that version's diagnostics (every save validates).
   */
  async save(path: string, text: string): Promise<PublishDiagnosticsParams> {
    const uri = pathToFileURL(path).href;
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    const published = new Promise<PublishDiagnosticsParams>((resolve) => this.waiting.set(uri, { version, resolve }));
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
    await this.connection.sendNotification(WillSaveTextDocumentNotification.type, {
      textDocument: { uri },
      reason: TextDocumentSaveReason.Manual,
    });
    writeFileSync(path, text);
    await this.connection.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
    return published;
  }

  /** shutdown + exit, then SIGKILL whatever is left of the process. */
  async close(): Promise<void> {
    try {
      await within(
        10_000,
        'the server to shut down',
        (async () => {
          await this.connection.sendRequest(ShutdownRequest.type);
          await this.connection.sendNotification(ExitNotification.type);
        })(),
      );
      if (this.child.exitCode === null)
        await within(10_000, 'the server to exit', new Promise((resolve) => this.child.once('exit', resolve)));
    } catch {
      // A server that died or hangs has nothing more to say; it is killed below.
    } finally {
      this.connection.dispose();
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
  }
}
