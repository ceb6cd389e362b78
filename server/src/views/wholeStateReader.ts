// A StateReader over a reader of the whole state: reads everything at a step boundary and slices
// out the ranges asked for. Correct on every backend, but it copies the whole state for every
// frame; the device host's partial reads (only the views' bytes, through the reused staging
// memory) replace it where they exist.
import type { ByteRange } from './byteRanges';
import type { StateReader } from './stateViewFeed';

export interface WholeState {
  step: number;
  version: number;
  state: Uint8Array;
}

export function wholeStateReader(readWhole: (kernelId: string) => Promise<WholeState>): StateReader {
  return async (kernelId: string, ranges: readonly ByteRange[]) => {
    const { step, version, state } = await readWhole(kernelId);
    const bytes = ranges.map(({ offset, length }) => {
      if (offset + length > state.byteLength) {
        throw new Error(
          `kernel "${kernelId}": the range at ${offset} of ${length} bytes ends past its ${state.byteLength}-byte state`,
        );
      }
      return state.subarray(offset, offset + length);
    });
    return { step, version, bytes };
  };
}
