// The custom messages between the extension and the language server, in one place both sides
// import. Each constant names its direction. Standard LSP covers everything else.
import { NotificationType, RequestType, RequestType0, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { BackendReport } from '../backends/backendReport';
import type { CoordinatorConfig, DeviceView, Placement, PlacementRequest } from '../coordinator/coordinatorTypes';
import type { TopologyJson } from '../topology/topologyJson';
import type { HotReloadStats, KernelView, ReloadOutcome } from '../runtime/kernelReports';

export type { BackendReport } from '../backends/backendReport';
export type { DeviceInfo } from '../backends/backend';

/** What a client may pass in `initialize`'s initializationOptions. */
export interface InitializationOptions {
  /** VS Code's workspace trust; false: validate, never run kernels. Absent (other editors): trusted. */
  trusted?: boolean;
  /** The client checks ringkernel.json against the contributed schema itself (VS Code does). */
  validatesManifestSchema?: boolean;
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

export type { CoordinatorConfig, DeviceUnregisterResult, DeviceView, Placement, PlacementRequest } from '../coordinator/coordinatorTypes';
export type { TopologyJson } from '../topology/topologyJson';

/** The machine's topology and what the coordinator has placed where. */
export interface TopologyInfo {
  /** Devices, links (measured or estimated), best paths, notes. */
  topology: TopologyJson;
  /** The coordinator's view of each registered device: kernels, load, memory, availability. */
  devices: DeviceView[];
  config: CoordinatorConfig;
  /** Devices drained by `ringkernel/drainDevice` (they take no kernels until the server restarts). */
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

/** Messages between the kernels of two devices, over the router's sliding window. */
export interface LinkMessageRate {
  from: string;
  to: string;
  /** The router's route for the pair: sameDevice, directP2P, multiHop or hostMediated. */
  route: string;
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** Accepted, waiting for the receiving kernels. */
  pending: number;
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
export const measureTopologyRequest = new RequestType<MeasureTopologyParams, MeasureTopologyResult, void>('ringkernel/measureTopology');

export interface DrainDeviceParams {
  /** A device key, e.g. "cuda:0". */
  device: string;
}


/** client → server: where a new kernel would be placed now (nothing is placed), asking the custom selector if set. */
export const previewPlacementRequest = new RequestType<PlacementRequest, Placement, void>('ringkernel/previewPlacement');

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
export const selectDeviceRequest = new RequestType<SelectDeviceParams, SelectDeviceResult, void>('ringkernel/selectDevice');

export interface CustomSelectorChanged {
  registered: boolean;
}

/** client → server: an extension set (or removed) a custom device selector. */
export const customSelectorChangedNotification = new NotificationType<CustomSelectorChanged>('ringkernel/customSelectorChanged');

// ---- Kernels: the runtime that runs the manifest's kernels and hot-reloads them on save ----

export type { HotReloadStats, KernelPhase, KernelRunState, KernelView, ReloadOutcome, ReloadPhaseTimings, ReloadStatus } from '../runtime/kernelReports';

export interface KernelsInfo {
  /** The manifest in use (absolute path), or null when the workspace has none. */
  manifest: string | null;
  /** Whether the workspace is trusted; untrusted workspaces validate but never run kernels. */
  trusted: boolean;
  /** Whether kernels were started (and not stopped since). */
  started: boolean;
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
  /** Set when nothing could start at all (no manifest, untrusted workspace, invalid manifest). */
  error?: string;
}

/** client → server: starts every kernel of the manifest that is not running (work-done progress). */
export const startKernelsRequest = new RequestType<WorkDoneProgressParams, StartKernelsResult, void>('ringkernel/startKernels');

/** client → server: stops every kernel, keeping a checkpoint of each in memory. */
export const stopKernelsRequest = new RequestType0<{ stopped: string[] }, void>('ringkernel/stopKernels');

export interface KernelParams {
  /** A kernel id from the manifest. */
  id: string;
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
export type MigrationPhase = 'preparing' | 'quiescing' | 'checkpointing' | 'transferring' | 'restoring' | 'verifying' | 'switching' | 'resuming';

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
export const migrationTargetsRequest = new RequestType<MigrationTargetsParams, MigrationTargets, void>('ringkernel/migrationTargets');

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
export const drainDeviceRequest = new RequestType<DrainDeviceParams & WorkDoneProgressParams, DrainOutcome, void>('ringkernel/drainDevice');

/** client → server: takes a device back into service after a drain. */
export const undrainDeviceRequest = new RequestType<DrainDeviceParams, { device: string; message: string }, void>('ringkernel/undrainDevice');

// ---- Router stats: the K2K router's traffic, for the "Router Stats" webview. This is the wire
// format, independent of the router's engine types: the router's adapter fills it in. ----

/** How the router carries a message: the seed's routing decisions. */
export type WireRoute = 'sameDevice' | 'directP2P' | 'multiHop' | 'hostMediated';

/** Latency from the send step to delivery, in microseconds; null while nothing was delivered in the window. */
export interface WireLatency {
  p50Us: number;
  p99Us: number;
}

/** Traffic over one link (a sender-receiver kernel pair, or a device pair), measured over the router's recent window. */
export interface WireTraffic {
  messagesPerSecond: number;
  bytesPerSecond: number;
  latency: WireLatency | null;
  /** Messages waiting for room in the receiver's inbox now. */
  pending: number;
  /** Totals since the router started. */
  delivered: number;
  failed: number;
}

export interface WireKernelPairStats extends WireTraffic {
  /** Kernel ids. */
  from: string;
  to: string;
  /** Device keys ("webgpu:0", "cuda:1"), when the kernels are placed. */
  fromDevice?: string;
  toDevice?: string;
  route: WireRoute;
}

export interface WireDevicePairStats extends WireTraffic {
  /** Device keys; from === to for messages that stay on one device. */
  from: string;
  to: string;
  route: WireRoute;
  /** Why the router chose this route, e.g. "no peer access between cuda:0 and webgpu:0". */
  reason: string;
}

export interface WireRouteUse {
  route: WireRoute;
  /** Routing decisions taken for this route, and messages carried by it, since the router started. */
  decisions: number;
  messages: number;
}

export interface WireRouterFailure {
  /** A short, stable kind: "unknownKernel", "notRunning", "outboxOverflow", "pendingFull", ... */
  kind: string;
  count: number;
  /** The latest occurrence in words, e.g. 'heat → "halo" (no such kernel)'. */
  detail: string;
  /** ISO time of the latest occurrence. */
  lastAt?: string;
}

export interface RouterStats {
  /** Milliseconds since the epoch when these figures were taken. */
  at: number;
  /** False while no router runs (no kernels, or a server without one); `note` says why. */
  running: boolean;
  note?: string;
  /** free-running: each kernel at its own rate; lockstep: every kernel takes step s, then step s's messages are delivered. */
  mode?: 'freeRunning' | 'lockstep';
  totals: WireTraffic & { sent: number };
  kernelPairs: WireKernelPairStats[];
  devicePairs: WireDevicePairStats[];
  routes: WireRouteUse[];
  failures: WireRouterFailure[];
}

/** client → server: the router's statistics now. */
export const routerStatsRequest = new RequestType0<RouterStats, void>('ringkernel/routerStats');

/** server → client: the statistics changed; sent at most 4 times a second, and only while the client listens. */
export const routerStatsChangedNotification = new NotificationType<RouterStats>('ringkernel/routerStatsChanged');

export interface RouterStatsSubscription {
  /** True while a visible panel shows the stats; false stops the notifications. */
  listening: boolean;
}

/** client → server: start or stop ringkernel/routerStatsChanged (a hidden or closed panel stops them). */
export const routerStatsSubscribeNotification = new NotificationType<RouterStatsSubscription>('ringkernel/routerStatsSubscribe');

// ---- Kernel state views: live frames of a running kernel's state, for the "Kernel State" webview. ----

export type WireStateViewType = 'f32' | 'u32' | 'i32';
export type WireStateViewPlot = 'line' | 'heatmap' | 'histogram' | 'table';

/** One manifest `views` entry: a region of the state and how to draw it. */
export interface WireStateView {
  name: string;
  type: WireStateViewType;
  /** Byte offset in the state, a multiple of 4. */
  offset: number;
  /** Elements (32-bit words) in the region: `count`, or the product of `shape`. */
  count: number;
  /** [rows, columns], row-major; heatmaps have one. */
  shape?: [number, number];
  plot: WireStateViewPlot;
  /** The value range the plot maps to its axis or colours; from the data when absent. */
  range?: [number, number];
}

export interface StateViewKernelParams {
  kernelId: string;
}

export interface StateViewKernel {
  kernelId: string;
  stateBytes: number;
  /** The manifest's views for the kernel; empty: the webview offers words and a chosen range. */
  views: WireStateView[];
  /** The kernel's state now (running, stopped, ...), as in ringkernel/kernels. */
  state: string;
  version: number;
  step: number;
}

/** client → server: what a kernel's state view can show (its size and the manifest's views). */
export const stateViewKernelRequest = new RequestType<StateViewKernelParams, StateViewKernel, void>('ringkernel/stateViewKernel');

/** A byte range of the state; offset and length are multiples of 4. */
export interface WireStateRange {
  offset: number;
  length: number;
}

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
export const stateViewSubscribeNotification = new NotificationType<StateViewSubscription>('ringkernel/stateViewSubscribe');

/** client → server: stop a subscription's frames (hidden, paused or closed panel). Nothing is read for it afterwards. */
export const stateViewUnsubscribeNotification = new NotificationType<{ subscription: string }>('ringkernel/stateViewUnsubscribe');

/** Bytes of one region, base64 (the state's little-endian words as they are on the device). */
export interface WireStateRegion {
  offset: number;
  base64: string;
}

/** The kernel's version changed between two frames: a reload, a rollback or a recovery onto another version. */
export interface WireReloadMarker {
  fromVersion: number;
  toVersion: number;
  /** The step the new version was first seen at (or began at, when the runtime says). */
  atStep: number;
  /** The last frame before the change, for the "compare" toggle, where one was read. */
  previous?: { step: number; version: number; regions: WireStateRegion[] };
}

export interface StateFrame {
  subscription: string;
  kernelId: string;
  /** The step the state was read after, and the version that ran it. */
  step: number;
  version: number;
  regions: WireStateRegion[];
  /** The latest version change, sent with the first frame after it (and a new subscription's first frame). */
  reload?: WireReloadMarker;
  /** Set when the state could not be read; the regions are empty then. */
  error?: string;
  /** Milliseconds since the epoch when the read finished. */
  at: number;
}

/** server → client: a frame for a subscription. */
export const stateFrameNotification = new NotificationType<StateFrame>('ringkernel/stateFrame');

export interface StateViewFrameParams {
  kernelId: string;
  regions: WireStateRange[];
}

/** client → server: one frame now, outside any subscription (stepping frame by frame while paused). */
export const stateViewFrameRequest = new RequestType<StateViewFrameParams, StateFrame, void>('ringkernel/stateViewFrame');

export interface EntryPointOffsetsParams {
  /** The document, as open in the editor (the server reads its current text). */
  uri: string;
  /** Entry point names to find. */
  names: string[];
}

/** client → server: where each named entry point is defined in the document's current text (UTF-16 offsets; null: not found). */
export const entryPointOffsetsRequest = new RequestType<EntryPointOffsetsParams, { offsets: (number | null)[] }, void>('ringkernel/entryPointOffsets');
