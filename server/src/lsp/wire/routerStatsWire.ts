// The K2K router's traffic as it travels to the client (ringkernel/routerStats, routerStatsChanged,
// and the topology's link message rates). Wire types: nothing of the engine is imported; the
// router's adapter (lsp/routerStatsSource.ts) fills them in.

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

export interface RouterStatsSubscription {
  /** True while a visible panel shows the stats; false stops the notifications. */
  listening: boolean;
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
