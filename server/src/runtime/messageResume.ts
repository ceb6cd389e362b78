// A restarted server resumes kernels from their checkpoint files; the K2K router's messages come
// back from the same files (their PEND chunks), and each kernel's clock (its HLC chunk). Every file is read before the first kernel runs and
// the router is seeded from all of them at once: a sender that ran before its receiver's file was
// seen would have its re-sent messages taken as new, or its receiver's numbers not known yet.
import type { SavedMessages } from '../router';
import type { K2KRouter } from '../router';
import type { Logger } from '../logger';
import type { ResumePoint } from './checkpointFiles';
import { hlcPartsOf } from './checkpointClock';

export interface ResumingKernel {
  id: string;
  /** Its index in the manifest now. */
  index: number;
  point: ResumePoint;
}

/** Seeds `router` with the messages of the files the kernels resume from; says what it did in the log. */
export function seedRouterFromFiles(
  router: K2KRouter,
  kernels: readonly ResumingKernel[],
  log: Logger,
  wallClockMs: () => number = Date.now,
): void {
  const saved: SavedMessages[] = [];
  for (const { id, index, point } of kernels) {
    const found = point.found;
    if (found?.hlc && found.kernelIndex === index) {
      const clock = hlcPartsOf(found.hlc, wallClockMs());
      if ('parts' in clock) router.restoreClock(index, clock.parts);
      else log.warn(`kernel "${id}": the clock in its checkpoint ${found.file} is not restored: ${clock.refused}`);
    }
    if (!found?.pendingMessages) continue;
    if (found.kernelIndex !== index || found.pendingMessages.kernelIndex !== index) {
      log.warn(
        `kernel "${id}": its checkpoint ${found.file} was written when it was kernel #${found.kernelIndex} of the manifest; it is #${index} now, so the router's messages in it are not restored`,
      );
      continue;
    }
    saved.push(found.pendingMessages);
  }
  if (saved.length === 0) return;
  const result = router.restoreMessages(saved);
  log.info(
    `router: ${result.restored} message(s) and the sequence numbers of ${result.pairs} sender-receiver pair(s) restored from ${saved.length} checkpoint file(s)`,
  );
  for (const note of result.notes) log.warn(`router: ${note}`);
}
