// The router's statistics on the LSP connection: answers ringkernel/routerStats and pushes
// ringkernel/routerStatsChanged at most 4 times a second, and only while the client listens
// (ringkernel/routerStatsSubscribe: a visible Router Stats panel). The stats come from a
// RouterStatsSource the caller passes in (the K2K router's adapter to the wire format); without
// one, the answer is an empty set of stats saying no router runs.
import type { Connection } from 'vscode-languageserver/node';
import { errorMessage, type Logger } from '../logger';
import type { Scheduler } from '../views/scheduler';
import { Throttle } from '../views/throttle';
import {
  routerStatsChangedNotification,
  routerStatsRequest,
  routerStatsSubscribeNotification,
  type RouterStats,
} from './protocol';

/** At most this many routerStatsChanged a second. */
export const ROUTER_STATS_PER_SECOND = 4;

export interface RouterStatsSource {
  /** The statistics now, in the wire format. */
  snapshot(): RouterStats;
  /** Calls `listener` whenever the statistics change (as often as it likes: the wiring throttles). */
  onDidChange(listener: () => void): { dispose(): void };
}

export function emptyRouterStats(note: string, at = Date.now()): RouterStats {
  const zero = { messagesPerSecond: 0, bytesPerSecond: 0, latency: null, pending: 0, delivered: 0, failed: 0 };
  return {
    at,
    running: false,
    note,
    totals: { ...zero, sent: 0 },
    kernelPairs: [],
    devicePairs: [],
    routes: [],
    failures: [],
  };
}

const NO_ROUTER =
  'no kernel-to-kernel router runs in this language server yet, so no messages are delivered between kernels';

export class RouterStatsWiring {
  private source: RouterStatsSource | undefined;
  private sourceListener: { dispose(): void } | undefined;
  private readonly throttle: Throttle;

  constructor(
    private readonly connection: Connection,
    private readonly log: Logger,
    source?: RouterStatsSource,
    scheduler?: Scheduler,
  ) {
    this.throttle = new Throttle(1000 / ROUTER_STATS_PER_SECOND, () => this.push(), scheduler);
    connection.onRequest(routerStatsRequest, () => this.snapshot());
    connection.onNotification(routerStatsSubscribeNotification, (params) => {
      const listening = (params as { listening?: unknown } | null)?.listening;
      if (typeof listening !== 'boolean') {
        log.warn(`ignored ringkernel/routerStatsSubscribe without a boolean "listening": ${JSON.stringify(params)}`);
        return;
      }
      this.throttle.setActive(listening);
      // A new listener gets the figures now, not at the router's next change.
      if (listening) this.throttle.changed();
    });
    this.setSource(source);
  }

  /** Attaches the router (or detaches it with undefined, e.g. when kernels stop); listeners hear of it. */
  setSource(source: RouterStatsSource | undefined): void {
    this.sourceListener?.dispose();
    this.source = source;
    this.sourceListener = source?.onDidChange(() => this.throttle.changed());
    this.throttle.changed();
  }

  /** Whether a client listens now (for tests and logs). */
  get listening(): boolean {
    return this.throttle.active;
  }

  snapshot(): RouterStats {
    if (this.source === undefined) return emptyRouterStats(NO_ROUTER);
    try {
      return this.source.snapshot();
    } catch (error) {
      const message = `the router's statistics could not be read: ${errorMessage(error)}`;
      this.log.error(message);
      return emptyRouterStats(message);
    }
  }

  dispose(): void {
    this.sourceListener?.dispose();
    this.throttle.dispose();
  }

  private push(): void {
    this.connection.sendNotification(routerStatsChangedNotification, this.snapshot()).catch((error: unknown) => {
      this.log.warn(`ringkernel/routerStatsChanged could not be sent: ${errorMessage(error)}`);
    });
  }
}
