// The custom messages between the extension and the language server, in one place both sides
// import. Each constant names its direction. Standard LSP covers everything else.
import {
  NotificationType,
  RequestType,
  RequestType0,
  type WorkDoneProgressParams,
} from 'vscode-languageserver-protocol';
// The data types are wire types (./wire/): they import nothing of the engine, so a refactor of
// the engine cannot change what travels; lsp/wireMapping.ts maps the engine's types to them.
import type { BackendReport } from './wire/backendsWire';
import type { CoordinatorConfig, DeviceView, Placement, PlacementRequest } from './wire/coordinatorWire';
import type { TopologyJson } from './wire/topologyWire';
import type { HotReloadStats, KernelView, ReloadOutcome } from './wire/kernelsWire';
import type { LinkMessageRate, RouterStats, RouterStatsSubscription } from './wire/routerStatsWire';
import type { StateFrame, StateViewKernel, WireStateRange } from './wire/stateViewWire';

export type * from './wire/backendsWire';
export type * from './wire/coordinatorWire';
export type * from './wire/topologyWire';
export type * from './wire/kernelsWire';
export { runningVersionText } from './wire/kernelsWire';
export type * from './wire/routerStatsWire';
export type * from './wire/stateViewWire';

/** What a client may pass in `initialize`'s initializationOptions. */
export interface InitializationOptions {
  /** VS Code's workspace trust; false: validate, never run kernels. Absent (other editors): trusted. */
  trusted?: boolean;
  /** The client checks ringkernel.json against the contributed schema itself (VS Code does). */
  validatesManifestSchema?: boolean;
  /** A folder for checkpoint files (VS Code: in the extension's workspace storage); absent: checkpoints stay in memory. */
  checkpointFolder?: string;
}

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

/** The machine's topology and what the coordinator has placed where. */
export interface TopologyInfo {
  /** Devices, links (measured or estimated), best paths, notes. */
  topology: TopologyJson;
  /** The coordinator's view of each registered device: kernels, load, memory, availability. */
  devices: DeviceView[];
  config: CoordinatorConfig;
  /** Devices drained by `ringkernel/drainDevice` (they take no kernels until `ringkernel/undrainDevice` or a server restart). */
  drained: string[];
  /** Whether the client has a custom device selector registered (setDeviceSelector). */
  customSelector: boolean;
  /** True while the device probe has not finished. */
  probing: boolean;
  /** True while a measurement runs. */
  measuring: boolean;
  /** Where measurements are cached. */
  cachePath: string;
  /** Kernel-to-kernel traffic per device pair now (the K2K router), for the links' message rates. */
  messageRates?: LinkMessageRate[];
}

/** client → server: the topology and the coordinator's devices. */
export const topologyRequest = new RequestType0<TopologyInfo, void>('ringkernel/topology');

export type MeasureTopologyParams = WorkDoneProgressParams;

export interface MeasureTopologyResult {
  /** Device pairs and host links measured in this run. */
  links: number;
  hostLinks: number;
  /** What could not be measured, and why. */
  failures: string[];
  cancelled: boolean;
  /** The cache file written, or why it could not be. */
  cachePath: string;
  saveError?: string;
}

/** client → server: measures bandwidth and latency of every device and pair (work-done progress per pair), caches them. */
export const measureTopologyRequest = new RequestType<MeasureTopologyParams, MeasureTopologyResult, void>(
  'ringkernel/measureTopology',
);

export interface DrainDeviceParams {
  /** A device key, e.g. "cuda:0". */
  device: string;
}

/** client → server: where a new kernel would be placed now (nothing is placed), asking the custom selector if set. */
export const previewPlacementRequest = new RequestType<PlacementRequest, Placement, void>(
  'ringkernel/previewPlacement',
);

export interface TopologyChanged {
  /** What changed: 'probe', 'measured', or a coordinator change ('devices', 'kernels', 'config', ...). */
  reason: string;
}

/** server → client: the topology or the coordinator's state changed; ask ringkernel/topology again. */
export const topologyChangedNotification = new NotificationType<TopologyChanged>('ringkernel/topologyChanged');

export interface SelectDeviceParams {
  candidates: DeviceView[];
  request: PlacementRequest;
}

export interface SelectDeviceResult {
  /** A candidate's key; null leaves the choice to LeastLoaded. */
  device: string | null;
}

/** server → client: asks the extension API's custom selector to pick a device (answer within 2 s). */
export const selectDeviceRequest = new RequestType<SelectDeviceParams, SelectDeviceResult, void>(
  'ringkernel/selectDevice',
);

export interface CustomSelectorChanged {
  registered: boolean;
}

/** client → server: an extension set (or removed) a custom device selector. */
export const customSelectorChangedNotification = new NotificationType<CustomSelectorChanged>(
  'ringkernel/customSelectorChanged',
);

// ---- Kernels: the runtime that runs the manifest's kernels and hot-reloads them on save ----

export interface KernelsInfo {
  /** The manifest in use (absolute path), or null when the workspace has none. */
  manifest: string | null;
  /** Whether the workspace is trusted; untrusted workspaces validate but never run kernels. */
  trusted: boolean;
  /** Whether kernels were started (and not stopped since). */
  started: boolean;
  /** True while kernels are being started, or will be once the device probe is done (auto-start). */
  starting?: boolean;
  /** Errors in the manifest (they are also its diagnostics). */
  manifestErrors: number;
  kernels: KernelView[];
  stats: HotReloadStats;
}

/** client → server: the manifest's kernels, their state, versions and rates. */
export const kernelsRequest = new RequestType0<KernelsInfo, void>('ringkernel/kernels');

/** server → client: a kernel changed (state, version; step rates at most twice a second). */
export const kernelsChangedNotification = new NotificationType<KernelsInfo>('ringkernel/kernelsChanged');

export interface StartKernelsResult {
  started: string[];
  /** Kernels that could not start, with why. */
  failed: { id: string; message: string }[];
  /** What to say about a started kernel: "resumed from checkpoint FILE at step N", checkpoint files rejected. */
  notes?: { id: string; message: string }[];
  /** Set when nothing could start at all (no manifest, untrusted workspace, invalid manifest). */
  error?: string;
}

/** client → server: starts every kernel of the manifest that is not running (work-done progress). */
export const startKernelsRequest = new RequestType<WorkDoneProgressParams, StartKernelsResult, void>(
  'ringkernel/startKernels',
);

/** client → server: stops every kernel, keeping a checkpoint of each in memory. */
export const stopKernelsRequest = new RequestType0<{ stopped: string[] }, void>('ringkernel/stopKernels');

export interface KernelParams {
  /** A kernel id from the manifest. */
  id: string;
}

/** The failure codes a kernel request's error carries (what the device or its host reported). */
export type GpuErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'NO_SUCH_DEVICE'
  | 'COMPILE_FAILED'
  | 'ENTRY_POINT_MISSING'
  | 'BUFFER_TOO_LARGE'
  | 'OUT_OF_MEMORY'
  | 'INVALID_ARGUMENT'
  | 'INVALID_LAUNCH'
  | 'KERNEL_FAULT'
  | 'DEVICE_LOST'
  | 'WATCHDOG_TIMEOUT'
  | 'HOST_EXITED'
  | 'DRIVER_ERROR';

/** `data` of the ResponseError a kernel request (reload, rollback, kernelState) fails with, when the GPU side failed. */
export interface KernelRequestErrorData {
  code: GpuErrorCode;
  /** The compiler's or driver's own log, whole. */
  log?: string;
}

/** client → server: reloads a kernel from its source file as saved on disk. */
export const reloadKernelRequest = new RequestType<KernelParams, ReloadOutcome, void>('ringkernel/reload');

/** client → server: returns a kernel to its previous version, keeping its state. */
export const rollbackKernelRequest = new RequestType<KernelParams, ReloadOutcome, void>('ringkernel/rollback');

export interface KernelStateParams extends KernelParams {
  /** How many 32-bit words to return from the start of the state (default 0, at most 65536). */
  words?: number;
}

export interface KernelStateResult {
  id: string;
  version: number;
  /** The step the state was read after (the loop is paused at a step boundary for the read). */
  step: number;
  /** SHA-256 of the whole state, hex. */
  sha256: string;
  stateBytes: number;
  words: number[];
}

/** client → server: reads a running kernel's state at a step boundary. */
export const kernelStateRequest = new RequestType<KernelStateParams, KernelStateResult, void>('ringkernel/kernelState');

/** server → client: a reload, rollback or recovery ended (on save, by command, or automatically). */
export const reloadOutcomeNotification = new NotificationType<ReloadOutcome>('ringkernel/reloadOutcome');

export interface RunningSourceResult {
  id: string;
  /** The version running (or that ran when the kernel stopped). */
  version: number;
  language: KernelView['language'];
  /** The kernel's source file (absolute path). */
  path: string;
  /** The code of that version. */
  code: string;
  /** Set when it is not the file's code on disk, with why. */
  fileDiffers?: KernelView['fileDiffers'];
}

/** client → server: the source code of the version a kernel runs (for a diff against its file). */
export const runningSourceRequest = new RequestType<KernelParams, RunningSourceResult, void>(
  'ringkernel/runningSource',
);

export interface TrustChanged {
  trusted: boolean;
}

/** client → server: the workspace became trusted (initializationOptions.trusted carries the initial value). */
export const trustChangedNotification = new NotificationType<TrustChanged>('ringkernel/trustChanged');

// ---- Migration (moving a running kernel to another device) ----

/** How the bytes of a migration travel between two devices. */
export type MigrationRoute =
  /** two device instances of the same physical GPU (separate devices, bytes really move) */
  | 'samePhysicalGpu'
  /** peer copy over NVLink */
  | 'nvlinkPeer'
  /** peer copy over PCIe */
  | 'pciePeer'
  /** device to pinned host memory to device, in overlapped chunks */
  | 'hostStaged';

/** The phases a migration goes through, in order; cancellable until 'switching'. */
export type MigrationPhase =
  'preparing' | 'quiescing' | 'checkpointing' | 'transferring' | 'restoring' | 'verifying' | 'switching' | 'resuming';

/** A successful move between two devices, as measured (the engine's LastMove, migration/migrationStats.ts). */
export interface WireLastMove {
  kernelId: string;
  bytes: number;
  /** Request to the first step on the target. */
  totalMs: number;
  pausedMs: number;
  gbPerSecond: number;
  /** ISO time it finished. */
  at: string;
}

export interface MigrationTarget {
  /** Device key, e.g. "webgpu:1". */
  device: string;
  deviceName: string;
  /** False when the kernel cannot go there; `reason` says why (no source for that backend, memory, drained, ...). */
  possible: boolean;
  reason?: string;
  route?: MigrationRoute;
  /** One line, e.g. "staged through the host (PCIe Gen5 x16)". */
  routeLabel?: string;
  estimatedGBps?: number;
  estimatedMs?: number;
  /** Whether the estimate comes from a measurement or the link's nominal figures. */
  estimateMeasured?: boolean;
  /** The newest move from the kernel's device to this one since the server started (of any kernel): measured, not estimated. */
  lastMove?: WireLastMove;
  freeMemoryBytes?: number;
  kernelCount?: number;
}

export interface MigrationTargetsParams {
  kernelId: string;
}

export interface MigrationTargets {
  kernelId: string;
  /** The device it runs on now. */
  from: string;
  stateBytes: number;
  targets: MigrationTarget[];
}

/** client → server: where a kernel could move, with route, estimate and why not. */
export const migrationTargetsRequest = new RequestType<MigrationTargetsParams, MigrationTargets, void>(
  'ringkernel/migrationTargets',
);

export interface MigrateParams extends WorkDoneProgressParams {
  kernelId: string;
  /** Device key of the target. */
  device: string;
}

export interface MigrationOutcome {
  kernelId: string;
  /** 'migrated': runs on `to`; 'failed' or 'cancelled': still runs on `from` from where it paused. */
  status: 'migrated' | 'failed' | 'cancelled';
  from: string;
  to: string;
  bytes: number;
  route: MigrationRoute;
  /** Request to the kernel's first step on the target. */
  totalMs: number;
  /** Time the kernel did not step (quiesce to first step on the target, or back on the source). */
  pausedMs: number;
  transferMs: number;
  gbPerSecond: number;
  /** The target's state read back matched the checkpoint's SHA-256. */
  verified: boolean;
  /** The phase that failed, when it failed. */
  failedPhase?: MigrationPhase;
  /** One sentence, e.g. "heat moved cuda:0 -> webgpu:0 in 31 ms: 64 MiB at 24.1 GB/s, paused 9 ms, state verified". */
  message: string;
  at: string;
}

/** client → server: moves a running kernel; work-done progress reports the phases; cancellable until the switch. */
export const migrateRequest = new RequestType<MigrateParams, MigrationOutcome, void>('ringkernel/migrate');

export interface DrainOutcome {
  device: string;
  migrations: MigrationOutcome[];
  /** Kernels no device could take: they keep running on the drained device. */
  stayed: { kernelId: string; reason: string }[];
  message: string;
}

/**
 * client → server: takes a device out of service and moves every kernel off it (work-done progress
 * per kernel and phase); kernels no device can take keep running on it and are listed in `stayed`.
 */
export const drainDeviceRequest = new RequestType<DrainDeviceParams & WorkDoneProgressParams, DrainOutcome, void>(
  'ringkernel/drainDevice',
);

/** client → server: takes a device back into service after a drain. */
export const undrainDeviceRequest = new RequestType<DrainDeviceParams, { device: string; message: string }, void>(
  'ringkernel/undrainDevice',
);

// ---- Router stats: the K2K router's traffic, for the "Router Stats" webview (data: wire/routerStatsWire.ts). ----

/** client → server: the router's statistics now. */
export const routerStatsRequest = new RequestType0<RouterStats, void>('ringkernel/routerStats');

/** server → client: the statistics changed; sent at most 4 times a second, and only while the client listens. */
export const routerStatsChangedNotification = new NotificationType<RouterStats>('ringkernel/routerStatsChanged');

/** client → server: start or stop ringkernel/routerStatsChanged (a hidden or closed panel stops them). */
export const routerStatsSubscribeNotification = new NotificationType<RouterStatsSubscription>(
  'ringkernel/routerStatsSubscribe',
);

// ---- Kernel state views: live frames of a running kernel's state, for the "Kernel State" webview (data: wire/stateViewWire.ts). ----

export interface StateViewKernelParams {
  kernelId: string;
}

/** client → server: what a kernel's state view can show (its size and the manifest's views). */
export const stateViewKernelRequest = new RequestType<StateViewKernelParams, StateViewKernel, void>(
  'ringkernel/stateViewKernel',
);

export interface StateViewSubscription {
  /** Chosen by the client, one per panel; subscribing again with the same id replaces it. */
  subscription: string;
  kernelId: string;
  /** The ranges the open views need; only these are read. */
  regions: WireStateRange[];
  /** Frames per second wanted; the server clamps it (at most 30). */
  fps: number;
}

/** client → server: send frames of these regions while the panel is visible and not paused. */
export const stateViewSubscribeNotification = new NotificationType<StateViewSubscription>(
  'ringkernel/stateViewSubscribe',
);

/** client → server: stop a subscription's frames (hidden, paused or closed panel). Nothing is read for it afterwards. */
export const stateViewUnsubscribeNotification = new NotificationType<{ subscription: string }>(
  'ringkernel/stateViewUnsubscribe',
);

/** server → client: a frame for a subscription. */
export const stateFrameNotification = new NotificationType<StateFrame>('ringkernel/stateFrame');

export interface StateViewFrameParams {
  kernelId: string;
  regions: WireStateRange[];
}

/** client → server: one frame now, outside any subscription (stepping frame by frame while paused). */
export const stateViewFrameRequest = new RequestType<StateViewFrameParams, StateFrame, void>(
  'ringkernel/stateViewFrame',
);

export interface EntryPointOffsetsParams {
  /** The document, as open in the editor (the server reads its current text). */
  uri: string;
  /** Entry point names to find. */
  names: string[];
}

/** client → server: where each named entry point is defined in the document's current text (UTF-16 offsets; null: not found). */
export const entryPointOffsetsRequest = new RequestType<EntryPointOffsetsParams, { offsets: (number | null)[] }, void>(
  'ringkernel/entryPointOffsets',
);
