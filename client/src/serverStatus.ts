// The language server's state as the user sees it, and what the status bar shows for it.
import type { BackendReport, ServerInfo } from '../../server/src/lsp/protocol';

export type ServerState = 'starting' | 'ready' | 'crashed' | 'stopped';

export interface ServerStatus {
  state: ServerState;
  /** The last info the server sent, if it answered since it (re)started. */
  info: ServerInfo | undefined;
  /** How many times the server exited unexpectedly and was restarted in this session. */
  crashRestarts: number;
  /** When set, why the server is not running. */
  problem: string | undefined;
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** VS Code theme colour id for the background, for states that need attention. */
  background: 'statusBarItem.errorBackground' | 'statusBarItem.warningBackground' | undefined;
}

function backendWords(report: BackendReport): string {
  const name = report.backend === 'webgpu' ? 'WebGPU' : 'CUDA';
  return report.available ? `${name} ×${report.devices.length}` : `${name} –`;
}

function backendLines(reports: BackendReport[]): string[] {
  return reports.map((report) => {
    const name = report.backend === 'webgpu' ? 'WebGPU (Dawn)' : 'CUDA';
    if (!report.available) return `${name}: unavailable: ${report.reason ?? 'no reason given'}`;
    return `${name}: ${report.devices.map((d) => `${d.name} (${d.detail})`).join('; ')}`;
  });
}

/** Pure: what the status bar item shows for a status. */
export function viewOf(status: ServerStatus): StatusView {
  const restarts =
    status.crashRestarts > 0
      ? ` (restarted after ${status.crashRestarts} crash${status.crashRestarts === 1 ? '' : 'es'})`
      : '';
  switch (status.state) {
    case 'starting':
      return {
        text: '$(sync~spin) RingKernel: starting',
        tooltip: `RingKernel language server is starting${restarts}. Click to show the log.`,
        background: undefined,
      };
    case 'crashed':
      return {
        text: '$(error) RingKernel: crashed',
        tooltip: `RingKernel language server crashed: ${status.problem ?? 'it exited unexpectedly'}. Click to show the log; run "RingKernel: Restart Server" to start it again.`,
        background: 'statusBarItem.errorBackground',
      };
    case 'stopped':
      return {
        text: '$(circle-slash) RingKernel: stopped',
        tooltip: 'RingKernel language server is stopped. Run "RingKernel: Restart Server" to start it.',
        background: undefined,
      };
    case 'ready': {
      const info = status.info;
      const gpus = info === undefined || info.probing ? 'probing GPUs' : info.backends.map(backendWords).join(' · ');
      const details =
        info === undefined
          ? []
          : [
              `RingKernel ${info.version}, server pid ${info.pid}, Node ${info.node}`,
              ...(info.probing ? ['Probing GPU backends…'] : backendLines(info.backends)),
            ];
      return {
        text: `$(${status.crashRestarts > 0 ? 'debug-restart' : 'chip'}) RingKernel: ${gpus}${status.crashRestarts > 0 ? ' (restarted)' : ''}`,
        tooltip: [`RingKernel language server is ready${restarts}.`, ...details, 'Click to show the log.'].join('\n'),
        background: status.crashRestarts > 0 ? 'statusBarItem.warningBackground' : undefined,
      };
    }
  }
}
