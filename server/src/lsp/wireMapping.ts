// The engine's types mapped to the protocol's wire types (./wire/), in one place. Each mapping is
// typed engine → wire, and `WIRE_MATCHES` below states, for every pair, that the two are the same
// type today: an engine change that would alter what travels (a field added, renamed, retyped)
// fails type-checking here, and whoever makes it decides what the wire carries (a real mapping
// instead of the identity) rather than changing the protocol by accident.
import type * as backends from '../backends/backend';
import type * as backendReports from '../backends/backendReport';
import type { GpuErrorCode as EngineGpuErrorCode } from '../backends/gpuError';
import type * as coordinator from '../coordinator/coordinatorTypes';
import type * as manifestViews from '../manifest/views';
import type * as migration from '../migration/migrationTypes';
import type * as migrationStats from '../migration/migrationStats';
import type * as router from '../router/routingDecision';
import type * as kernels from '../runtime/kernelReports';
import type * as topologyJson from '../topology/topologyJson';
import type * as topology from '../topology/topologyModel';
import type * as byteRanges from '../views/byteRanges';
import type * as wire from './protocol';

/** true when A and B are the same type (every field, optionality and readonly alike), else false. */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Every engine type that reaches the wire, next to its wire type. Adding a wire type adds a line here. */
export interface WirePairs {
  BackendReport: [backendReports.BackendReport, wire.BackendReport];
  DeviceInfo: [backends.DeviceInfo, wire.DeviceInfo];
  CoordinatorConfig: [coordinator.CoordinatorConfig, wire.CoordinatorConfig];
  DeviceView: [coordinator.DeviceView, wire.DeviceView];
  PlacementRequest: [coordinator.PlacementRequest, wire.PlacementRequest];
  Placement: [coordinator.Placement, wire.Placement];
  TopologyJson: [topologyJson.TopologyJson, wire.TopologyJson];
  TopologyLink: [topology.TopologyLink, wire.TopologyLink];
  KernelView: [kernels.KernelView, wire.KernelView];
  ReloadOutcome: [kernels.ReloadOutcome, wire.ReloadOutcome];
  HotReloadStats: [kernels.HotReloadStats, wire.HotReloadStats];
  KernelPhase: [kernels.KernelPhase, wire.KernelPhase];
  MigrationRoute: [migration.MigrationRoute, wire.MigrationRoute];
  MigrationPhase: [migration.MigrationPhase, wire.MigrationPhase];
  WireLastMove: [migrationStats.LastMove, wire.WireLastMove];
  WireRoute: [router.RouteKind, wire.WireRoute];
  WireStateView: [manifestViews.StateView, wire.WireStateView];
  WireStateRange: [byteRanges.ByteRange, wire.WireStateRange];
  GpuErrorCode: [EngineGpuErrorCode, wire.GpuErrorCode];
}

/** Fails to compile, naming the pair, when an engine type and its wire type differ. */
export const WIRE_MATCHES: { [K in keyof WirePairs]: Same<WirePairs[K][0], WirePairs[K][1]> } = {
  BackendReport: true,
  DeviceInfo: true,
  CoordinatorConfig: true,
  DeviceView: true,
  PlacementRequest: true,
  Placement: true,
  TopologyJson: true,
  TopologyLink: true,
  KernelView: true,
  ReloadOutcome: true,
  HotReloadStats: true,
  KernelPhase: true,
  MigrationRoute: true,
  MigrationPhase: true,
  WireLastMove: true,
  WireRoute: true,
  WireStateView: true,
  WireStateRange: true,
  GpuErrorCode: true,
};

/** Engine → wire, for each message's data. The identity while the types agree (WIRE_MATCHES). */
export const toWire = {
  backendReports: (reports: readonly backendReports.BackendReport[]): wire.BackendReport[] => [...reports],
  coordinatorConfig: (config: coordinator.CoordinatorConfig): wire.CoordinatorConfig => config,
  deviceViews: (views: readonly coordinator.DeviceView[]): wire.DeviceView[] => [...views],
  placementRequest: (request: coordinator.PlacementRequest): wire.PlacementRequest => request,
  placement: (placement: coordinator.Placement): wire.Placement => placement,
  topology: (json: topologyJson.TopologyJson): wire.TopologyJson => json,
  kernelViews: (views: readonly kernels.KernelView[]): wire.KernelView[] => [...views],
  reloadOutcome: (outcome: kernels.ReloadOutcome): wire.ReloadOutcome => outcome,
  hotReloadStats: (stats: kernels.HotReloadStats): wire.HotReloadStats => stats,
  gpuErrorCode: (code: EngineGpuErrorCode): wire.GpuErrorCode => code,
  lastMove: (move: migrationStats.LastMove): wire.WireLastMove => move,
  stateViews: (views: readonly manifestViews.StateView[]): wire.WireStateView[] => views.map((v) => ({ ...v })),
};

/** Wire → engine, for what the client sends (a placement preview's request). */
export const fromWire = {
  placementRequest: (request: wire.PlacementRequest): coordinator.PlacementRequest => request,
};
