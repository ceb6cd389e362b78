// Kernel state views on the LSP connection: ringkernel/stateViewKernel says what a kernel's view
// can show, ringkernel/stateViewSubscribe and Unsubscribe start and stop a panel's frames
// (ringkernel/stateFrame, base64 bytes), and ringkernel/stateViewFrame reads one frame on demand
// (stepping while paused). The caller passes in the StateReader (partial reads of the state at a
// step boundary) and where kernels' sizes and manifest views come from; nothing is read while no
// panel subscribes.
import { ErrorCodes, LSPErrorCodes, ResponseError, type Connection } from 'vscode-languageserver/node';
import { errorMessage, type Logger } from '../logger';
import { DEFAULT_SETTINGS, type RingKernelSettings } from '../settings';
import { rangeProblem, totalLength, type ByteRange, type RangeBytes } from '../views/byteRanges';
import type { Scheduler } from '../views/scheduler';
import {
  MAX_STATE_FPS,
  StateViewFeed,
  type FeedFrame,
  type ReloadMark,
  type StateReader,
} from '../views/stateViewFeed';
import {
  stateFrameNotification,
  stateViewFrameRequest,
  stateViewKernelRequest,
  stateViewSubscribeNotification,
  stateViewUnsubscribeNotification,
  type KernelView,
  type StateFrame,
  type StateViewKernel,
  type WireReloadMarker,
  type WireStateRange,
  type WireStateRegion,
  type WireStateView,
} from './protocol';

export { MAX_STATE_FPS } from '../views/stateViewFeed';
/** Bytes one subscription may read per frame: frames travel as JSON over IPC. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface StateViewWiringOptions {
  reader: StateReader;
  /** A kernel's size, state and manifest views; undefined when there is no such kernel. */
  kernel(kernelId: string): StateViewKernel | undefined;
  scheduler?: Scheduler;
}

function toWireRegions(regions: readonly RangeBytes[]): WireStateRegion[] {
  return regions.map(({ offset, bytes }) => ({
    offset,
    base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  }));
}

function toWireMarker(mark: ReloadMark): WireReloadMarker {
  const marker: WireReloadMarker = { fromVersion: mark.fromVersion, toVersion: mark.toVersion, atStep: mark.atStep };
  if (mark.previous)
    marker.previous = {
      step: mark.previous.step,
      version: mark.previous.version,
      regions: toWireRegions(mark.previous.regions),
    };
  return marker;
}

export function toWireFrame(frame: FeedFrame): StateFrame {
  const wire: StateFrame = {
    subscription: frame.subscription,
    kernelId: frame.kernelId,
    step: frame.step,
    version: frame.version,
    regions: toWireRegions(frame.regions),
    at: frame.at,
  };
  if (frame.reload) wire.reload = toWireMarker(frame.reload);
  if (frame.error !== undefined) wire.error = frame.error;
  return wire;
}

export class StateViewWiring {
  private readonly feed: StateViewFeed;
  /** `ringkernel.stateView.maxFps`: the client asks for no more, and a subscription gets no more whatever it asks. */
  private maxFps = DEFAULT_SETTINGS['stateView.maxFps'];

  constructor(
    private readonly connection: Connection,
    private readonly log: Logger,
    private readonly options: StateViewWiringOptions,
  ) {
    this.feed = new StateViewFeed({
      reader: options.reader,
      emit: (frame) => this.send(toWireFrame(frame)),
      maxFps: MAX_STATE_FPS,
      log,
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    });
    connection.onRequest(stateViewKernelRequest, (params) => {
      const kernelId = (params as { kernelId?: unknown } | null)?.kernelId;
      if (typeof kernelId !== 'string')
        throw new ResponseError(
          ErrorCodes.InvalidParams,
          `a kernel id (a string) is needed, not ${JSON.stringify(kernelId)}`,
        );
      return this.kernelOrThrow(kernelId);
    });
    connection.onNotification(stateViewSubscribeNotification, (params) => this.subscribe(params));
    connection.onNotification(stateViewUnsubscribeNotification, (params) => {
      const subscription = (params as { subscription?: unknown } | null)?.subscription;
      if (typeof subscription === 'string') this.feed.unsubscribe(subscription);
    });
    connection.onRequest(stateViewFrameRequest, async (params) => {
      const { kernelId, regions } = (params ?? {}) as { kernelId?: unknown; regions?: unknown };
      if (typeof kernelId !== 'string')
        throw new ResponseError(
          ErrorCodes.InvalidParams,
          `a kernel id (a string) is needed, not ${JSON.stringify(kernelId)}`,
        );
      const ranges = this.checkedRanges(kernelId, regions);
      if (typeof ranges === 'string') throw new ResponseError(ErrorCodes.InvalidParams, ranges);
      return toWireFrame(await this.feed.readOnce(kernelId, ranges));
    });
  }

  applySettings(settings: RingKernelSettings): void {
    this.maxFps = settings['stateView.maxFps'];
  }

  /** The subscriptions now (for tests and logs). */
  subscriptions(): { id: string; kernelId: string }[] {
    return this.feed.subscriptions();
  }

  dispose(): void {
    this.feed.dispose();
  }

  private subscribe(params: unknown): void {
    const { subscription, kernelId, regions, fps } = (params ?? {}) as {
      subscription?: unknown;
      kernelId?: unknown;
      regions?: unknown;
      fps?: unknown;
    };
    if (typeof subscription !== 'string' || subscription === '' || typeof kernelId !== 'string') {
      this.log.warn(
        `ignored ringkernel/stateViewSubscribe without a subscription id and a kernel id: ${JSON.stringify(params)?.slice(0, 200)}`,
      );
      return;
    }
    // A notification has no answer: a refusal travels as an error frame to the panel that asked.
    const refuse = (message: string): void => {
      this.feed.unsubscribe(subscription);
      this.send({ subscription, kernelId, step: 0, version: 0, regions: [], error: message, at: Date.now() });
    };
    const ranges = this.checkedRanges(kernelId, regions);
    if (typeof ranges === 'string') return refuse(ranges);
    if (typeof fps !== 'number' || !Number.isFinite(fps) || fps <= 0)
      return refuse(`frames per second must be a positive number, not ${JSON.stringify(fps)}`);
    try {
      this.feed.subscribe({ id: subscription, kernelId, ranges, fps: Math.min(fps, this.maxFps, MAX_STATE_FPS) });
    } catch (error) {
      refuse(errorMessage(error));
    }
  }

  /** The ranges, checked against the kernel's state size; a message saying what is wrong otherwise. */
  private checkedRanges(kernelId: string, regions: unknown): ByteRange[] | string {
    const kernel = this.options.kernel(kernelId);
    if (kernel === undefined) return noKernel(kernelId);
    if (!Array.isArray(regions) || regions.length === 0)
      return `no range of kernel "${kernelId}"'s state was asked for`;
    const ranges: ByteRange[] = [];
    for (const region of regions as unknown[]) {
      const { offset, length } = (region ?? {}) as Partial<WireStateRange>;
      const range = { offset: Number(offset), length: Number(length) };
      const problem =
        typeof offset !== 'number' || typeof length !== 'number'
          ? 'a range needs a numeric offset and length'
          : rangeProblem(range, kernel.stateBytes);
      if (problem !== undefined) return `kernel "${kernelId}": ${problem}`;
      ranges.push(range);
    }
    const total = totalLength(ranges);
    if (total > MAX_FRAME_BYTES)
      return `kernel "${kernelId}": the views ask for ${total} bytes a frame, more than the ${MAX_FRAME_BYTES} a frame may carry; show smaller regions`;
    return ranges;
  }

  private kernelOrThrow(kernelId: string): StateViewKernel {
    const kernel = this.options.kernel(kernelId);
    if (kernel === undefined) throw new ResponseError(LSPErrorCodes.RequestFailed, noKernel(kernelId));
    return kernel;
  }

  private send(frame: StateFrame): void {
    this.connection.sendNotification(stateFrameNotification, frame).catch((error: unknown) => {
      this.log.warn(`a state frame of kernel "${frame.kernelId}" could not be sent: ${errorMessage(error)}`);
    });
  }
}

function noKernel(kernelId: string): string {
  return `there is no kernel "${kernelId}" in ringkernel.json; pick one the manifest declares`;
}

/** A kernel of ringkernel/kernels as the state view sees it; `views` are its manifest views (none until the manifest reader passes them). */
export function stateViewKernelOf(
  kernels: readonly KernelView[],
  kernelId: string,
  views: WireStateView[] = [],
): StateViewKernel | undefined {
  const kernel = kernels.find((k) => k.id === kernelId);
  if (kernel === undefined) return undefined;
  return {
    kernelId,
    stateBytes: kernel.stateBytes,
    views,
    state: kernel.state,
    version: kernel.version,
    step: kernel.step,
  };
}
