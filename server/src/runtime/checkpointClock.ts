// A kernel's K2K clock in its checkpoint file (the HLC chunk, docs/checkpoint-format.md) and back:
// the router's clock counts milliseconds and a 16-bit logical counter; the file has microseconds
// and a 32-bit counter, with the kernel's index as the clock's node id.
import type { HlcState } from '../checkpoint/checkpointRecord';
import type { HlcParts } from '../router';

/** A saved clock further ahead of the wall clock than this is not restored (a machine's clock was wrong when it was saved). */
export const MAX_SAVED_CLOCK_LEAD_MS = 60 * 60 * 1000;

export function hlcStateOf(parts: HlcParts, kernelIndex: number): HlcState {
  return { physicalMicros: parts.physical * 1000, logical: parts.logical, nodeId: kernelIndex };
}

/**
 * The router's clock parts for a saved state: never earlier than it (a counter past 16 bits moves
 * to the next millisecond), or the reason it cannot be used.
 */
export function hlcPartsOf(state: HlcState, wallClockMs: number): { parts: HlcParts } | { refused: string } {
  const physical = Math.floor(state.physicalMicros / 1000);
  if (physical - wallClockMs > MAX_SAVED_CLOCK_LEAD_MS)
    return {
      refused: `its clock is ${Math.round((physical - wallClockMs) / 60_000)} minutes ahead of this machine's (${new Date(physical).toISOString()}); the kernel's messages take their times from this machine's clock`,
    };
  return {
    parts: state.logical > 0xffff ? { physical: physical + 1, logical: 0 } : { physical, logical: state.logical },
  };
}
