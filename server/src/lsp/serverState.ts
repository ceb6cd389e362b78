// What the language server knows about itself: its version, its process and the GPU backends the
// probe found. Answers ringkernel/serverInfo.
import type { BackendReport } from '../backends/backendReport';
import { VERSION } from '../version';
import type { ServerInfo } from './protocol';
import { toWire } from './wireMapping';

export class ServerState {
  private backends: BackendReport[] = [];
  private probing = true;

  setBackends(reports: BackendReport[]): void {
    this.backends = reports;
    this.probing = false;
  }

  info(): ServerInfo {
    return {
      version: VERSION,
      pid: process.pid,
      node: process.versions.node,
      uptimeMs: Math.round(process.uptime() * 1000),
      backends: toWire.backendReports(this.backends),
      probing: this.probing,
    };
  }
}
