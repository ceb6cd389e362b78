// What `activate()` returns to other extensions (and to our integration tests).
import type * as vscode from 'vscode';
import type {
  DeviceView,
  KernelStateResult,
  KernelsInfo,
  Placement,
  PlacementRequest,
  ReloadOutcome,
  RouterStats,
  ServerInfo,
} from '../../server/src/lsp/protocol';
import type { ServerStatus, StatusView } from './serverStatus';
import type { TopologyNode } from './topologyTree';

export type {
  DeviceView,
  KernelStateResult,
  KernelView,
  KernelsInfo,
  Placement,
  PlacementRequest,
  ReloadOutcome,
  RouterStats,
  StartKernelsResult,
} from '../../server/src/lsp/protocol';
export type { TopologyNode } from './topologyTree';

/**
 * A custom placement strategy, used when `ringkernel.loadBalancing` is `"custom"`.
 *
 * @param candidates - the devices that can take the kernel (right backend, room, memory), in
 *   registration order; frozen.
 * @param request - what the kernel needs (backend, memory, the device it asked for).
 * @returns a candidate's `key` (e.g. `"cuda:1"`), or `undefined` to leave the choice to
 *   LeastLoaded. It may return a promise; an answer that takes longer than 2 seconds, a throw, or a
 *   key that is not a candidate makes LeastLoaded place the kernel, and the RingKernel log says why.
 */
export type DeviceSelector = (
  candidates: readonly DeviceView[],
  request: Readonly<PlacementRequest>,
) => string | undefined | Promise<string | undefined>;

export interface RingKernelApi {
  /** Asks the language server who it is and which GPU backends it found. */
  serverInfo(): Promise<ServerInfo>;
  /** The server's state as the extension sees it. */
  readonly status: ServerStatus;
  /** What the status bar item shows now. */
  readonly statusBar: StatusView;
  /** Fires whenever the server's state changes. */
  readonly onDidChangeStatus: vscode.Event<ServerStatus>;
  /**
   * Installs the selector of the `custom` load-balancing strategy. One selector at a time: the
   * latest call wins. Dispose the result to remove it (placement then falls back to LeastLoaded).
   */
  setDeviceSelector(selector: DeviceSelector): vscode.Disposable;
  /** Where a new kernel would be placed now, under the current settings and selector; places nothing. */
  previewPlacement(request?: PlacementRequest): Promise<Placement>;
  /**
   * What the "GPU Topology" view shows, as plain data (read-only), after asking the server again:
   * devices with their host link, links and kernels as children, then the topology's notes.
   */
  topologyItems(): Promise<TopologyNode[]>;
  /**
   * Asks the language server for the manifest's kernels now: their state, version, device, step
   * count and rate, and the hot-reload counters. Rejects when no server is running or it does not
   * run kernels.
   */
  kernels(): Promise<KernelsInfo>;
  /** Fires with the kernels' info whenever the server pushes a change (state, version; rates at most twice a second) and when a server starts. */
  readonly onDidChangeKernels: vscode.Event<KernelsInfo>;
  /**
   * Fires once for every reload, rollback or recovery outcome the server announces, successful or
   * not: on save, by command (ours or `ringkernel/reload` from anywhere) and automatic ones. The
   * server notifies every outcome, so commands' outcomes arrive here too.
   */
  readonly onDidReloadKernel: vscode.Event<ReloadOutcome>;
  /**
   * Reads a running kernel's state at a step boundary (the loop pauses for the read): the step it
   * was read after, the SHA-256 of the whole state, and its first `words` 32-bit words (default 0,
   * at most 65536).
   */
  readKernelState(id: string, words?: number): Promise<KernelStateResult>;
  /** What the kernel status bar item shows now; `tooltip` is its Markdown source, `visible` false without a manifest. */
  readonly kernelStatusBar: { text: string; tooltip: string; visible: boolean };
  /**
   * The kernel-to-kernel router's statistics now: totals, per kernel pair and per device pair
   * (messages and bytes per second, latency p50/p99, pending, failures), routes used and failures
   * by kind. `running` is false (with a `note`) while no router runs.
   */
  routerStats(): Promise<RouterStats>;
}
