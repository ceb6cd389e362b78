// A custom selector that answers asynchronously: an extension's `setDeviceSelector` function lives
// in the editor's extension host, and the language server must ask it over LSP. The coordinator's
// selector is synchronous, so the answer is fetched first (with a time limit) and then handed to
// the coordinator through a synchronous selector that returns it; the coordinator checks it as it
// checks any selector's answer (a missing or ineligible device → LeastLoaded, logged).
import { errorMessage, type Logger } from '../logger';
import type { DeviceView, Placement, PlacementRequest } from './coordinatorTypes';
import type { MultiGpuCoordinator } from './multiGpuCoordinator';

/** Picks a candidate's key, or undefined to leave it to LeastLoaded; may take its time (up to the limit). */
export type AsyncDeviceSelector = (
  candidates: readonly DeviceView[],
  request: Readonly<PlacementRequest>,
) => Promise<string | undefined>;

export const ASYNC_SELECTOR_TIMEOUT_MS = 2_000;

type Answer = { device: unknown } | { error: string };

export class AsyncSelectorBridge {
  private selector: AsyncDeviceSelector | undefined;
  /** The answer the synchronous selector hands the coordinator during one placement. */
  private answer: Answer | undefined;
  /** Placements run one at a time, so each finds its own answer. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly coordinator: MultiGpuCoordinator,
    private readonly options: { timeoutMs?: number; log?: Logger } = {},
  ) {}

  get registered(): boolean {
    return this.selector !== undefined;
  }

  /** Installs (or with undefined, removes) the asynchronous selector. */
  setSelector(selector: AsyncDeviceSelector | undefined): void {
    this.selector = selector;
    this.coordinator.setDeviceSelector(selector ? () => this.syncAnswer() : undefined);
  }

  /** Places a kernel, asking the asynchronous selector first when the strategy is custom. */
  place(kernelId: string, request: Readonly<PlacementRequest> = {}): Promise<Placement> {
    return this.serialised(request, () => this.coordinator.place(kernelId, request));
  }

  /** Where a kernel would go now (nothing is placed), asking the selector when the strategy is custom. */
  preview(request: Readonly<PlacementRequest> = {}): Promise<Placement> {
    return this.serialised(request, () => this.coordinator.selectDevice(request));
  }

  private serialised(request: Readonly<PlacementRequest>, decide: () => Placement): Promise<Placement> {
    const run = this.queue.then(async () => {
      const selector = this.selector;
      const candidates =
        this.coordinator.getConfig().loadBalancing === 'custom' && selector
          ? this.coordinator.selectorCandidates(request)
          : undefined;
      if (!selector || !candidates) return decide();
      this.answer = await this.ask(selector, candidates, request);
      try {
        return decide();
      } finally {
        this.answer = undefined;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ask(
    selector: AsyncDeviceSelector,
    candidates: readonly DeviceView[],
    request: Readonly<PlacementRequest>,
  ): Promise<Answer> {
    const limit = this.options.timeoutMs ?? ASYNC_SELECTOR_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => resolve({ error: `it did not answer within ${limit} ms` }), limit);
    });
    try {
      const answer = Promise.resolve()
        .then(() => selector(candidates, request))
        .then(
          (device): Answer => ({ device }),
          (error: unknown): Answer => ({ error: `it failed: ${errorMessage(error)}` }),
        );
      const outcome = await Promise.race([answer, timeout]);
      if ('error' in outcome)
        this.options.log?.warn(
          `the extension's device selector was not used: ${outcome.error}; LeastLoaded places the kernel instead`,
        );
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The coordinator's synchronous selector: the answer fetched for this placement. */
  private syncAnswer(): string | undefined {
    const answer = this.answer;
    if (!answer)
      throw new Error(
        'the device selector answers asynchronously and was not asked for this placement (place through AsyncSelectorBridge)',
      );
    if ('error' in answer) throw new Error(answer.error);
    // The coordinator checks the answer's type and that it names a candidate.
    return answer.device as string | undefined;
  }
}
