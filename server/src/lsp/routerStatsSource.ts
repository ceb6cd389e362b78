// The kernel runtime's K2K router as the Router Stats webview's source: its snapshot in the wire
// format of ringkernel/routerStats (protocol.ts), and its changes (RouterStatsWiring throttles them).
import type { Percentiles } from '../router';
import type { DeliveryStats } from '../runtime/messageDelivery';
import type { RouterStats, WireLatency, WireRouterFailure, WireTraffic } from './protocol';
import type { RouterStatsSource } from './routerStatsWiring';

export interface RouterStatsProvider {
  routerStats(): DeliveryStats;
  onRouterChange(listener: () => void): { dispose(): void };
}

export function routerStatsSource(provider: RouterStatsProvider): RouterStatsSource {
  return {
    snapshot: () => toWireRouterStats(provider.routerStats()),
    onDidChange: (listener) => provider.onRouterChange(listener),
  };
}

function latency(ms: Percentiles): WireLatency | null {
  return ms.samples === 0 ? null : { p50Us: ms.p50 * 1000, p99Us: ms.p99 * 1000 };
}

/** The router's snapshot in the wire format. */
export function toWireRouterStats(stats: DeliveryStats, at = Date.now()): RouterStats {
  const running = stats.kernels.length > 0;
  const totals: WireTraffic & { sent: number } = {
    messagesPerSecond: stats.messagesPerSecond,
    bytesPerSecond: stats.bytesPerSecond,
    latency: latency(stats.latencyMs),
    pending: stats.totals.pending,
    delivered: stats.totals.delivered,
    failed: stats.totals.failed,
    sent: stats.totals.submitted,
  };
  const deviceOf = new Map(stats.kernels.map((k) => [k.index, k.device]));
  const failures: WireRouterFailure[] = [];
  const failureDetail: Record<string, string> = {
    unknownDestination: 'sent to a kernel index that names no kernel',
    destinationStopped: 'sent to a kernel that is not running',
    destinationRemoved: 'accepted, then the receiving kernel left the manifest',
    destinationNotStarted: 'accepted while the receiving kernel was starting, then it did not start',
    sourceRemoved: 'the sending kernel was removed before its step ended',
  };
  for (const [kind, count] of Object.entries(stats.failures))
    if (count > 0) failures.push({ kind, count, detail: failureDetail[kind] ?? kind });
  if (stats.totals.refused > 0)
    failures.push({
      kind: 'pendingFull',
      count: stats.totals.refused,
      detail: "refused: the receiver's pending queue was full (the sender's outbox overflow)",
    });
  if (stats.totals.outboxFull > 0)
    failures.push({
      kind: 'outboxOverflow',
      count: stats.totals.outboxFull,
      detail: "sent past the sender's outbox capacity, never written",
    });
  if (stats.delivery.lostWithHost > 0)
    failures.push({
      kind: 'lostWithHost',
      count: stats.delivery.lostWithHost,
      detail: 'waiting in the mailbox of a device host that died',
    });
  const result: RouterStats = {
    at,
    running,
    mode: stats.mode,
    totals,
    kernelPairs: stats.pairs.map((pair) => {
      const fromDevice = deviceOf.get(pair.source);
      const toDevice = deviceOf.get(pair.destination);
      return {
        from: pair.sourceId,
        to: pair.destinationId,
        route: pair.route ?? 'hostMediated',
        messagesPerSecond: pair.messagesPerSecond,
        bytesPerSecond: pair.bytesPerSecond,
        latency: latency(pair.latencyMs),
        pending: pair.pending,
        delivered: pair.messages,
        failed: pair.failed + pair.refused,
        ...(fromDevice !== undefined ? { fromDevice } : {}),
        ...(toDevice !== undefined ? { toDevice } : {}),
      };
    }),
    devicePairs: stats.devicePairs.map((pair) => ({
      from: pair.from,
      to: pair.to,
      route: pair.route,
      reason: pair.reason,
      messagesPerSecond: pair.messagesPerSecond,
      bytesPerSecond: pair.bytesPerSecond,
      latency: latency(pair.latencyMs),
      pending: pair.pending,
      delivered: pair.messages,
      failed: 0,
    })),
    routes: (Object.entries(stats.routes) as [keyof typeof stats.routes, number][]).map(([route, decisions]) => ({
      route,
      decisions,
      messages: stats.devicePairs.filter((p) => p.route === route).reduce((sum, p) => sum + p.messages, 0),
    })),
    failures,
  };
  if (!running) result.note = 'no kernels run: start them to see the messages between them';
  return result;
}
