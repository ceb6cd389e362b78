// The real language server over --stdio, as any LSP editor starts it, for process tests: the
// connection, and everything it pushed (diagnostics, log lines, reload outcomes, kernel views).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DidChangeConfigurationNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type ClientCapabilities,
  type InitializeResult,
  type LogMessageParams,
  type ProtocolConnection,
  type ShowMessageParams,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { reloadOutcomeNotification, type ReloadOutcome } from '../../server/src/lsp/protocol';
import { repoRoot } from './repo';

export interface ServerProcess {
  connection: ProtocolConnection;
  initialized: InitializeResult;
  diagnostics: PublishDiagnosticsParams[];
  logs: LogMessageParams[];
  /** window/showMessage: what an editor pops up. */
  shown: ShowMessageParams[];
  outcomes: ReloadOutcome[];
  /** Pushes `ringkernel` settings as VS Code does (workspace/didChangeConfiguration). */
  configure(ringkernel: object): Promise<void>;
}

export interface ServerProcessOptions {
  capabilities?: ClientCapabilities;
  initializationOptions?: object;
}

/** Starts the server on `root`, runs `body`, then shuts the server down and waits for it to exit. */
export async function withServerProcess(
  root: string,
  options: ServerProcessOptions,
  body: (server: ServerProcess) => Promise<void>,
): Promise<void> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connection = createProtocolConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  const diagnostics: PublishDiagnosticsParams[] = [];
  const logs: LogMessageParams[] = [];
  const shown: ShowMessageParams[] = [];
  const outcomes: ReloadOutcome[] = [];
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => diagnostics.push(params));
  connection.onNotification(LogMessageNotification.type, (params) => logs.push(params));
  connection.onNotification(ShowMessageNotification.type, (params) => shown.push(params));
  connection.onNotification(reloadOutcomeNotification, (outcome) => outcomes.push(outcome));
  connection.listen();
  try {
    const initialized = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: options.capabilities ?? {},
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'kernels' }],
      ...(options.initializationOptions ? { initializationOptions: options.initializationOptions } : {}),
    });
    await connection.sendNotification(InitializedNotification.type, {});
    const configure = (ringkernel: object): Promise<void> =>
      connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { ringkernel } });
    await body({ connection, initialized, diagnostics, logs, shown, outcomes, configure });
  } finally {
    // A server that died in `body` answers no shutdown, and the client library never rejects a
    // request on a closed stream: the shutdown ends when the server does.
    await Promise.race([connection.sendRequest(ShutdownRequest.type), exited]).catch(() => undefined);
    await connection.sendNotification(ExitNotification.type).catch(() => undefined);
    connection.dispose();
    await exited;
  }
}

/** The WGSL kernel the process tests run: state[0] counts steps, plus `extra` added per step. */
export function tickKernel(extra: number): string {
  return `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn step() { state[0] = control.step + ${extra}u; }
`;
}
