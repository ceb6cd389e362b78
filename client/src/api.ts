// What `activate()` returns to other extensions (and to our integration tests).
import type * as vscode from 'vscode';
import type { ServerInfo } from '../../server/src/lsp/protocol';
import type { ServerStatus, StatusView } from './serverStatus';

export interface RingKernelApi {
  /** Asks the language server who it is and which GPU backends it found. */
  serverInfo(): Promise<ServerInfo>;
  /** The server's state as the extension sees it. */
  readonly status: ServerStatus;
  /** What the status bar item shows now. */
  readonly statusBar: StatusView;
  /** Fires whenever the server's state changes. */
  readonly onDidChangeStatus: vscode.Event<ServerStatus>;
}
