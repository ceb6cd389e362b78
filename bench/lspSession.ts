// The real language server, started as any editor starts it (`ringkernel-language-server --stdio`),
// seen from the client's side: what the validation and server suites measure.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { serverInfoRequest } from '../server/src/lsp/protocol';
import { extensionRoot } from '../server/src/paths';

export class LspSession {
  private readonly waiting = new Map<
    string,
    { version: number; resolve: (params: PublishDiagnosticsParams) => void }
  >();

  private constructor(
    readonly server: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      const wait = this.waiting.get(params.uri);
      if (wait && params.version === wait.version) {
        this.waiting.delete(params.uri);
        wait.resolve(params);
      }
    });
    connection.listen();
  }

  /** Spawns the server; nothing is sent yet (the caller's clock may start before this). */
  static spawn(): LspSession {
    const server = spawn(process.execPath, [join(extensionRoot(), 'bin', 'ringkernel-language-server.js'), '--stdio'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    if (!server.stdout || !server.stdin) throw new Error('the language server was started without pipes');
    return new LspSession(
      server,
      createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin)),
    );
  }

  get pid(): number {
    if (this.server.pid === undefined) throw new Error('the language server did not start');
    return this.server.pid;
  }

  /** initialize + initialized, with a workspace folder (or none) and the workspace trusted. */
  async initialize(folderUri: string | null): Promise<void> {
    await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: folderUri,
      capabilities: {},
      workspaceFolders: folderUri ? [{ uri: folderUri, name: 'bench' }] : null,
      initializationOptions: { trusted: true },
    });
    await this.connection.sendNotification(InitializedNotification.type, {});
  }

  /**
   * Resolves once the server's device probe is done. Until then the probe child (Dawn, the CUDA
   * driver) and the topology take the machine's cores: a figure of the running server must not
   * be measured beside its start-up.
   */
  async untilProbed(deadlineMs = 120_000): Promise<void> {
    const deadline = performance.now() + deadlineMs;
    while ((await this.connection.sendRequest(serverInfoRequest)).probing) {
      if (performance.now() > deadline) throw new Error(`the language server was still probing after ${deadlineMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Opens a document and resolves with its first diagnostics. */
  async open(uri: string, languageId: string, text: string): Promise<PublishDiagnosticsParams> {
    const published = this.published(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text },
    });
    return published;
  }

  /** A change to `text` as `version`, then a save; resolves when that version's diagnostics arrive. */
  async changeAndSave(uri: string, version: number, text: string): Promise<PublishDiagnosticsParams> {
    const published = this.published(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
    await this.connection.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
    return published;
  }

  private published(uri: string, version: number): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve) => this.waiting.set(uri, { version, resolve }));
  }

  /** shutdown + exit, then the process is killed whatever it did. */
  async close(): Promise<void> {
    try {
      await Promise.race([
        (async () => {
          await this.connection.sendRequest(ShutdownRequest.type);
          await this.connection.sendNotification(ExitNotification.type);
        })(),
        new Promise((resolve) => setTimeout(resolve, 5_000)),
      ]);
    } catch {
      // A server that died already has nothing to shut down.
    } finally {
      this.connection.dispose();
      this.server.kill('SIGKILL');
    }
  }
}
