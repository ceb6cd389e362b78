// Live frames of kernels' state for the state views. For each kernel that someone watches, the
// feed asks a StateReader for exactly the byte ranges the open views need, at the highest frame
// rate any of them asked for, and only while a subscription exists: a hidden or paused panel
// unsubscribes, and then nothing is read. Reads are coalesced: the views of every subscription
// of a kernel are merged into one read, a read never starts while the previous one is still
// running (a slow read lowers the frame rate instead of queueing), and a frame with the same step
// and version as the one a subscription already has is not sent again (a stopped kernel costs a
// read, not a message).
//
// When the kernel's version changes between two reads (a reload, a rollback, a recovery onto
// another version), the frame carries a reload marker with the last frame of the old version, so
// the view can show the two side by side.
import { errorMessage, type Logger } from '../logger';
import { mergeRanges, rangeProblem, sliceRange, type ByteRange, type RangeBytes } from './byteRanges';
import { realScheduler, type Scheduler } from './scheduler';

/** What a StateReader returns: the bytes of each range asked for, in the same order. */
/** The ceiling on frames per second, whatever a client asks (ringkernel.stateView.maxFps goes up to it). */
export const MAX_STATE_FPS = 30;

export interface StateRead {
  /** The step the state was read after (a step boundary), and the version that ran it. */
  step: number;
  version: number;
  /** One array per range, each exactly that range's length. Used before the next read starts, then copied where kept: a reader may reuse its buffers. */
  bytes: Uint8Array[];
  /** The step the running version began at, when the runtime knows it (the reload marker's step); else the first step it is seen at is used. */
  versionSinceStep?: number;
}

/**
 * Reads byte ranges of a kernel's state at a step boundary. Ranges are sorted, disjoint, and
 * made of whole 32-bit words. Rejects with a message for the user when the kernel cannot be read
 * (no such kernel, not started).
 */
export type StateReader = (kernelId: string, ranges: readonly ByteRange[]) => Promise<StateRead>;

export interface ReloadMark {
  fromVersion: number;
  toVersion: number;
  atStep: number;
  /** The last frame of the old version (only the parts this subscription's ranges cover). */
  previous?: { step: number; version: number; regions: RangeBytes[] };
}

export interface FeedFrame {
  /** The subscription id, or '' for a single frame asked for with readOnce. */
  subscription: string;
  kernelId: string;
  step: number;
  version: number;
  /** One per range of the subscription, in its order. */
  regions: RangeBytes[];
  reload?: ReloadMark;
  error?: string;
  /** Wall-clock milliseconds when the read finished. */
  at: number;
}

export interface FeedSubscription {
  id: string;
  kernelId: string;
  ranges: ByteRange[];
  fps: number;
}

export interface StateViewFeedOptions {
  reader: StateReader;
  /** Receives every frame; called synchronously after a read (the frame's bytes are views of the read). */
  emit(frame: FeedFrame): void;
  /** The highest frame rate a subscription gets; default 30. */
  maxFps?: number;
  scheduler?: Scheduler;
  wallClock?: () => number;
  log?: Logger;
}

/** A failing kernel is asked again at most this often. */
const ERROR_RETRY_MS = 1000;
const MIN_FPS = 0.1;

interface Subscriber {
  id: string;
  ranges: ByteRange[];
  fps: number;
  /** What it was last sent; undefined when it has had nothing since (re)subscribing. */
  sent: { step: number; version: number } | undefined;
  /** The reload mark it has been sent. */
  sentReload: ReloadMark | undefined;
  lastError: string | undefined;
}

interface Kept {
  step: number;
  version: number;
  regions: RangeBytes[];
}

class KernelFeed {
  readonly subscribers = new Map<string, Subscriber>();
  private timer: unknown;
  private reading = false;
  private lastStart = -Infinity;
  private failing = false;
  /** Reads run one at a time per kernel, subscription reads and single frames alike. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The latest frame read (copied), for the next reload marker. */
  private last: Kept | undefined;
  private reload: ReloadMark | undefined;

  constructor(
    readonly kernelId: string,
    private readonly options: Required<Omit<StateViewFeedOptions, 'log'>> & { log?: Logger },
  ) {}

  /** Arranges the next subscription read, unless one is running or arranged. */
  schedule(): void {
    if (this.reading || this.timer !== undefined || this.subscribers.size === 0) return;
    const fps = Math.min(this.options.maxFps, Math.max(MIN_FPS, ...[...this.subscribers.values()].map((s) => s.fps)));
    const period = Math.max(1000 / fps, this.failing ? ERROR_RETRY_MS : 0);
    const { scheduler } = this.options;
    const wait = Math.max(0, this.lastStart + period - scheduler.now());
    this.timer = scheduler.setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, wait);
  }

  stop(): void {
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One frame of `ranges` now, outside the subscriptions (waits for a running read). */
  async readOnce(ranges: ByteRange[]): Promise<FeedFrame> {
    const at = (): number => this.options.wallClock();
    try {
      const read = await this.read(ranges);
      const regions = ranges.map((range) => ({
        offset: range.offset,
        bytes: sliceRange(read.regions, range) ?? new Uint8Array(0),
      }));
      const frame: FeedFrame = {
        subscription: '',
        kernelId: this.kernelId,
        step: read.step,
        version: read.version,
        regions,
        at: at(),
      };
      if (this.reload) frame.reload = this.reloadFor(this.reload, ranges);
      return frame;
    } catch (error) {
      return {
        subscription: '',
        kernelId: this.kernelId,
        step: this.last?.step ?? 0,
        version: this.last?.version ?? 0,
        regions: [],
        error: errorMessage(error),
        at: at(),
      };
    }
  }

  private async tick(): Promise<void> {
    if (this.subscribers.size === 0) return;
    this.reading = true;
    this.lastStart = this.options.scheduler.now();
    const subscribers = [...this.subscribers.values()];
    try {
      const read = await this.read(subscribers.flatMap((s) => s.ranges));
      this.failing = false;
      // Subscribers that left or changed their ranges meanwhile get nothing from this read.
      for (const subscriber of subscribers)
        if (this.subscribers.get(subscriber.id) === subscriber) this.deliver(subscriber, read);
    } catch (error) {
      this.failing = true;
      const message = errorMessage(error);
      for (const subscriber of subscribers) {
        if (this.subscribers.get(subscriber.id) !== subscriber || subscriber.lastError === message) continue;
        subscriber.lastError = message;
        subscriber.sent = undefined;
        this.emit({
          subscription: subscriber.id,
          kernelId: this.kernelId,
          step: this.last?.step ?? 0,
          version: this.last?.version ?? 0,
          regions: [],
          error: message,
          at: this.options.wallClock(),
        });
      }
    } finally {
      this.reading = false;
      this.schedule();
    }
  }

  private deliver(subscriber: Subscriber, read: Kept): void {
    subscriber.lastError = undefined;
    const unchanged =
      subscriber.sent?.step === read.step &&
      subscriber.sent.version === read.version &&
      subscriber.sentReload === this.reload;
    if (unchanged) return;
    const regions: RangeBytes[] = [];
    for (const range of subscriber.ranges) {
      const bytes = sliceRange(read.regions, range);
      if (bytes === undefined) return;
      regions.push({ offset: range.offset, bytes });
    }
    const frame: FeedFrame = {
      subscription: subscriber.id,
      kernelId: this.kernelId,
      step: read.step,
      version: read.version,
      regions,
      at: this.options.wallClock(),
    };
    if (this.reload !== undefined && subscriber.sentReload !== this.reload)
      frame.reload = this.reloadFor(this.reload, subscriber.ranges);
    subscriber.sent = { step: read.step, version: read.version };
    subscriber.sentReload = this.reload;
    this.emit(frame);
  }

  private emit(frame: FeedFrame): void {
    try {
      this.options.emit(frame);
    } catch (error) {
      this.options.log?.warn(`a state frame of kernel "${this.kernelId}" could not be sent: ${errorMessage(error)}`);
    }
  }

  /** The mark with its previous frame cut down to `ranges` (the parts the old frame holds). */
  private reloadFor(mark: ReloadMark, ranges: readonly ByteRange[]): ReloadMark {
    const { previous, ...rest } = mark;
    if (previous === undefined) return rest;
    const regions: RangeBytes[] = [];
    for (const range of ranges) {
      const bytes = sliceRange(previous.regions, range);
      if (bytes !== undefined) regions.push({ offset: range.offset, bytes });
    }
    return regions.length === 0
      ? rest
      : { ...rest, previous: { step: previous.step, version: previous.version, regions } };
  }

  /** Reads the merged ranges (after any read in progress), checks the answer, notes a version change. */
  private read(ranges: readonly ByteRange[]): Promise<Kept> {
    const merged = mergeRanges(ranges);
    const run = this.queue.then(async () => {
      const read = await this.options.reader(this.kernelId, merged);
      const problem = answerProblem(read, merged);
      if (problem !== undefined)
        throw new Error(`the state reader gave a wrong answer for kernel "${this.kernelId}": ${problem}`);
      // Copied: the reader may reuse its buffers, and the last frame is kept for a reload marker.
      const kept: Kept = {
        step: read.step,
        version: read.version,
        regions: merged.map((range, i) => ({
          offset: range.offset,
          bytes: (read.bytes[i] ?? new Uint8Array(0)).slice(),
        })),
      };
      if (this.last !== undefined && this.last.version !== read.version) {
        this.reload = {
          fromVersion: this.last.version,
          toVersion: read.version,
          atStep: read.versionSinceStep ?? read.step,
          previous: this.last,
        };
      }
      this.last = kept;
      return kept;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function answerProblem(read: StateRead, ranges: readonly ByteRange[]): string | undefined {
  if (typeof read !== 'object' || read === null || !Array.isArray(read.bytes)) return 'no bytes array';
  if (!Number.isSafeInteger(read.step) || !Number.isSafeInteger(read.version))
    return `step ${String(read.step)} and version ${String(read.version)} are not integers`;
  if (read.bytes.length !== ranges.length) return `${read.bytes.length} ranges of bytes for ${ranges.length} asked`;
  const wrong = ranges.findIndex((range, i) => read.bytes[i]?.byteLength !== range.length);
  return wrong < 0
    ? undefined
    : `${read.bytes[wrong]?.byteLength ?? 0} bytes for the range at ${ranges[wrong]?.offset ?? 0} of ${ranges[wrong]?.length ?? 0}`;
}

export class StateViewFeed {
  private readonly kernels = new Map<string, KernelFeed>();
  /** Which kernel each subscription watches. */
  private readonly owners = new Map<string, KernelFeed>();
  private readonly options: Required<Omit<StateViewFeedOptions, 'log'>> & { log?: Logger };

  constructor(options: StateViewFeedOptions) {
    this.options = {
      reader: options.reader,
      emit: (frame) => options.emit(frame),
      maxFps: options.maxFps ?? MAX_STATE_FPS,
      scheduler: options.scheduler ?? realScheduler,
      wallClock: options.wallClock ?? Date.now,
      ...(options.log !== undefined ? { log: options.log } : {}),
    };
  }

  /** Adds a subscription, or replaces the one with the same id. Throws on an unusable range or rate. */
  subscribe(subscription: FeedSubscription): void {
    const { id, kernelId, ranges, fps } = subscription;
    if (ranges.length === 0)
      throw new Error(`subscription "${id}" names no range of kernel "${kernelId}"'s state to read`);
    for (const range of ranges) {
      const problem = rangeProblem(range);
      if (problem !== undefined) throw new Error(`subscription "${id}" to kernel "${kernelId}": ${problem}`);
    }
    if (!Number.isFinite(fps) || fps <= 0)
      throw new Error(`subscription "${id}" asks for ${String(fps)} frames per second; give a positive number`);
    this.unsubscribe(id);
    const feed = this.feedOf(kernelId);
    feed.subscribers.set(id, {
      id,
      ranges: ranges.map((r) => ({ offset: r.offset, length: r.length })),
      fps,
      sent: undefined,
      sentReload: undefined,
      lastError: undefined,
    });
    this.owners.set(id, feed);
    feed.schedule();
  }

  unsubscribe(id: string): void {
    const feed = this.owners.get(id);
    if (feed === undefined) return;
    this.owners.delete(id);
    feed.subscribers.delete(id);
    if (feed.subscribers.size === 0) feed.stop();
  }

  /** The subscriptions now, for logs and tests. */
  subscriptions(): { id: string; kernelId: string }[] {
    return [...this.owners].map(([id, feed]) => ({ id, kernelId: feed.kernelId }));
  }

  /** One frame now (stepping while paused). Never rejects: a failed read is a frame with `error`. */
  readOnce(kernelId: string, ranges: ByteRange[]): Promise<FeedFrame> {
    const problem =
      ranges.length === 0
        ? 'no range of the state was asked for'
        : ranges.map((r) => rangeProblem(r)).find((p) => p !== undefined);
    if (problem !== undefined)
      return Promise.resolve({
        subscription: '',
        kernelId,
        step: 0,
        version: 0,
        regions: [],
        error: problem,
        at: this.options.wallClock(),
      });
    return this.feedOf(kernelId).readOnce(ranges);
  }

  dispose(): void {
    for (const feed of this.kernels.values()) {
      feed.subscribers.clear();
      feed.stop();
    }
    this.owners.clear();
  }

  private feedOf(kernelId: string): KernelFeed {
    let feed = this.kernels.get(kernelId);
    if (feed === undefined) {
      feed = new KernelFeed(kernelId, this.options);
      this.kernels.set(kernelId, feed);
    }
    return feed;
  }
}
