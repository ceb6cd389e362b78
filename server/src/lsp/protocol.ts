// The custom messages between the extension and the language server, in one place both sides
// import. Each constant names its direction. Standard LSP covers everything else.
import { NotificationType, RequestType0 } from 'vscode-languageserver-protocol';
import type { BackendReport } from '../backends/backendReport';

export type { BackendReport } from '../backends/backendReport';
export type { DeviceInfo } from '../backends/backend';

export interface ServerInfo {
  /** The server's version (the extension's package version). */
  version: string;
  /** Process id of the language server, so a client can tell a restarted server from the old one. */
  pid: number;
  /** Node.js version the server runs on. */
  node: string;
  /** Milliseconds since the server process started. */
  uptimeMs: number;
  /** Every backend, found or not; a missing one carries the reason. Empty while still probing. */
  backends: BackendReport[];
  /** True while the backend probe has not finished yet. */
  probing: boolean;
}

/** client → server: who the server is and which GPU backends it found. */
export const serverInfoRequest = new RequestType0<ServerInfo, void>('ringkernel/serverInfo');

/** server → client: the server's info changed (for example the backend probe finished). */
export const serverInfoChangedNotification = new NotificationType<ServerInfo>('ringkernel/serverInfoChanged');
