// Lockstep: every kernel takes step s, then every message sent in step s is delivered (the
// router's endStep), then step s + 1. The router accepts a step's messages in (source index, send
// order) order whatever device finished first, so the results do not depend on where the kernels
// run: the same manifest gives the same digests on one device or spread over several.
// `ringkernel run` and the tests drive it; the editor's kernels run free (kernelRuntime.ts).
import type { DeviceKernel } from '../hosts/deviceKernel';
import type { DeviceKey } from '../probe/probeRecords';
import { SLOT_BYTES, inboxBytes } from '../abi/kernelAbi';
import type { K2KRouter } from '../router';
import { errorMessage } from '../logger';

export interface LockstepKernel {
  /** The kernel's index: its place in the manifest, what other kernels write as destination. */
  index: number;
  id: string;
  device: DeviceKey;
  kernel: DeviceKernel;
  inboxCapacity: number;
}

export interface LockstepOptions {
  /** Steps per device-host request when no kernel can receive a message (nothing to deliver between steps). */
  batch?: number;
  /** Watchdog per step, ms. */
  stepTimeoutMs?: number;
}

/**
 * Runs `steps` steps of every kernel in lockstep through `router` (a lockstep router, at step
 * kernels' common step count). A kernel whose step fails leaves the run (the router counts
 * messages to it as failures from then on); the others go on. Returns the failures by kernel id.
 */
export async function runLockstep(
  router: K2KRouter,
  kernels: readonly LockstepKernel[],
  steps: number,
  options: LockstepOptions = {},
): Promise<Map<string, string>> {
  if (router.mode !== 'lockstep') throw new Error('runLockstep needs a router in lockstep mode');
  const failures = new Map<string, string>();
  let live = [...kernels];
  const leave = (entry: LockstepKernel, error: unknown): void => {
    failures.set(entry.id, errorMessage(error));
    router.removeKernel(entry.index);
    live = live.filter((k) => k !== entry);
  };
  // Nobody can receive: the steps' messages only need counting, so run them in batches.
  const receivers = kernels.some((k) => k.inboxCapacity > 0);
  const batch = receivers ? 1 : Math.max(1, options.batch ?? 1000);
  for (let done = 0; done < steps && live.length > 0; done += batch) {
    const count = Math.min(batch, steps - done);
    const first = router.currentStep;
    const outcomes = await Promise.all(
      live.map(async (entry) => {
        try {
          const target = new Uint8Array(inboxBytes(entry.inboxCapacity));
          const taken = router.takeInboxInto(entry.index, entry.inboxCapacity, first, target);
          const slots = target.subarray(0, taken * SLOT_BYTES);
          return {
            entry,
            results: await entry.kernel.run(count, options.stepTimeoutMs, { slots, count: taken }),
          };
        } catch (error) {
          return { entry, error };
        }
      }),
    );
    for (const outcome of outcomes) if ('error' in outcome) leave(outcome.entry, outcome.error);
    for (let i = 0; i < count; i++) {
      const step = first + i;
      for (const outcome of outcomes) {
        if (!('results' in outcome) || !live.includes(outcome.entry)) continue;
        const result = outcome.results[i];
        if (!result) continue;
        router.submit({ source: outcome.entry.index, step, messages: result.messages, outboxFull: result.dropped });
      }
      router.endStep(step);
    }
  }
  return failures;
}
