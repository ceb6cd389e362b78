// The router's statistics as plain data: what `ringkernel/routerStats` will answer, what
// `ringkernel run --json` will total, what the router-stats webview draws. No behaviour here
// beyond the accumulator per device pair.
import type { DeviceKey } from '../probe/probeRecords';
import type { RouteKind } from './routingDecision';
import type { FailureReason, RouterMode } from './routerTypes';
import { TrafficWindow, type Percentiles } from './trafficWindow';

/** Delivered traffic of one flow. */
export interface FlowStats {
  /** Delivered since the router started (redeliveries not included). */
  messages: number;
  /** Payload bytes delivered (the length each sender wrote, at most 48 per message). */
  bytes: number;
  /** Over the sliding window (windowSeconds). */
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** Receiver steps from arrival to delivery: 1 = taken by the receiver's very next step. */
  latencySteps: Percentiles;
  /** Milliseconds from acceptance to delivery. */
  latencyMs: Percentiles;
  /** Accepted, waiting for the receiver (redeliveries after a restore included). */
  pending: number;
}

export interface PairStats extends FlowStats {
  source: number;
  sourceId: string;
  destination: number;
  destinationId: string;
  /** The route between the two kernels' devices now; undefined when the destination is gone. */
  route?: RouteKind;
  reason?: string;
  /** The sender's next sequence number to this destination: messages it addressed there so far. */
  nextSeq: number;
  refused: number;
  duplicates: number;
  failed: number;
}

export interface DevicePairStats extends FlowStats {
  from: DeviceKey;
  to: DeviceKey;
  /** The current decision for this device pair. */
  route: RouteKind;
  reason: string;
  path: DeviceKey[];
  bandwidthGBps?: number;
  /** Messages accepted per route taken (a pair's route changes with the topology or enableP2P). */
  decisions: Record<RouteKind, number>;
}

export interface KernelStats {
  index: number;
  id: string;
  device: DeviceKey;
  running: boolean;
  /** The latest step it took its inbox for. */
  lastStep: number;
  pending: number;
  pendingLimit: number;
  /** Delivered, kept until a checkpoint covers them. */
  retained: number;
  // As a sender:
  sent: number;
  accepted: number;
  /** The sender's outbox overflow: refused by a full pending queue, and sends past its outbox capacity. */
  outboxOverflow: { pendingFull: number; outboxFull: number };
  duplicates: number;
  failures: Record<FailureReason, number>;
  /** Destinations that name no kernel, with counts (the first 32 distinct ones). */
  unknownDestinations: { destination: number; count: number }[];
  // As a receiver:
  delivered: number;
  redelivered: number;
}

export interface RouterTotals {
  /** Messages handed to the router (outbox slots read). */
  submitted: number;
  accepted: number;
  delivered: number;
  redelivered: number;
  /** Refused by a full pending queue. */
  refused: number;
  /** Sends past a kernel's outbox capacity, reported by the host. */
  outboxFull: number;
  duplicates: number;
  failed: number;
  pending: number;
  /** Lockstep: submitted in the current step, waiting for endStep. */
  staged: number;
  /** Pending envelopes routed again because a receiver moved or the topology changed. */
  rerouted: number;
  bytesDelivered: number;
}

export interface RouterStatsSnapshot {
  mode: RouterMode;
  /** Lockstep: the step now running. */
  step?: number;
  /** The router's clock, ms. */
  timeMs: number;
  windowSeconds: number;
  enableP2P: boolean;
  totals: RouterTotals;
  /** Messages accepted per route. */
  routes: Record<RouteKind, number>;
  failures: Record<FailureReason, number>;
  messagesPerSecond: number;
  bytesPerSecond: number;
  latencySteps: Percentiles;
  latencyMs: Percentiles;
  kernels: KernelStats[];
  pairs: PairStats[];
  devicePairs: DevicePairStats[];
}

export function emptyRouteCounts(): Record<RouteKind, number> {
  return { sameDevice: 0, directP2P: 0, multiHop: 0, hostMediated: 0 };
}

export function emptyFailureCounts(): Record<FailureReason, number> {
  return {
    unknownDestination: 0,
    destinationStopped: 0,
    destinationRemoved: 0,
    destinationNotStarted: 0,
    sourceRemoved: 0,
  };
}

/** Traffic between two devices, whatever kernels produce it. */
export class DevicePairRecord {
  readonly decisions = emptyRouteCounts();
  readonly traffic: TrafficWindow;

  constructor(
    readonly from: DeviceKey,
    readonly to: DeviceKey,
    bucketMs: number,
    buckets: number,
  ) {
    this.traffic = new TrafficWindow(bucketMs, buckets);
  }
}

export function flowStats(traffic: TrafficWindow, nowMs: number, pending: number): FlowStats {
  return {
    messages: traffic.totalMessages,
    bytes: traffic.totalBytes,
    ...traffic.rates(nowMs),
    latencySteps: traffic.latencySteps(),
    latencyMs: traffic.latencyMs(),
    pending,
  };
}
