// A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): physical time plus a
// logical counter, so timestamps follow causality (a receive is later than the send) and stay close
// to wall time. The whole clock is one 64-bit word, physical << 16 | logical, and every operation
// is one compare-and-swap of that word from the value it read: a reader can never see, nor a
// concurrent caller (a worker sharing the clock's SharedArrayBuffer) overwrite, half an update.
// The seed's clock read the time and the state, then stored them separately: two callers could
// both read the same state and hand out the same timestamp.
//
// In packed form the HLC rules collapse to one maximum. For a local or send event:
//   next = max(current + 1, physical << 16)
// and for a receive of remote timestamp m:
//   next = max(current + 1, m + 1, physical << 16)
// (+1 raises the logical counter; when the counter passes 0xFFFF the carry moves physical forward by
// one unit, which keeps the clock monotonic at the cost of running 1 ms ahead for that burst.)

/** Bits of the packed timestamp that hold the logical counter. */
export const HLC_LOGICAL_BITS = 16;
const LOGICAL_SHIFT = BigInt(HLC_LOGICAL_BITS);
const LOGICAL_MASK = (1n << LOGICAL_SHIFT) - 1n;
/** Physical time must fit in 48 bits (ms since 1970: until the year 10889). */
const PHYSICAL_LIMIT = 2 ** (64 - HLC_LOGICAL_BITS);

/** A packed HLC timestamp: physical << 16 | logical, unsigned 64-bit. */
export type HlcTimestamp = bigint;

export interface HlcParts {
  /** Physical time: milliseconds since 1970 in free-running mode, the step number in lockstep. */
  physical: number;
  logical: number;
}

export function packHlc(parts: HlcParts): HlcTimestamp {
  return (BigInt(checkPhysical(parts.physical)) << LOGICAL_SHIFT) | (BigInt(parts.logical) & LOGICAL_MASK);
}

export function unpackHlc(timestamp: HlcTimestamp): HlcParts {
  return { physical: Number(timestamp >> LOGICAL_SHIFT), logical: Number(timestamp & LOGICAL_MASK) };
}

/** The word a kernel sees in its inbox slot: the timestamp's low 32 bits (physical's low 16 bits, logical). */
export function hlcLowWord(timestamp: HlcTimestamp): number {
  return Number(timestamp & 0xffffffffn);
}

function checkPhysical(physical: number): number {
  if (!Number.isInteger(physical) || physical < 0 || physical >= PHYSICAL_LIMIT) {
    throw new RangeError(
      `hybrid logical clock: physical time ${physical} is not an integer in [0, 2^48); pass milliseconds since 1970 or a step number`,
    );
  }
  return physical;
}

export interface HybridLogicalClockOptions {
  /** Physical time source; default Date.now. Read inside each update, never cached between them. */
  physicalTime?: () => number;
  /**
   * Where the clock word lives: 8 bytes of a SharedArrayBuffer let several threads share one clock.
   * Default: a private buffer.
   */
  buffer?: ArrayBufferLike;
  byteOffset?: number;
}

export class HybridLogicalClock {
  private readonly word: BigUint64Array;
  private readonly physicalTime: () => number;

  constructor(options: HybridLogicalClockOptions = {}) {
    this.word = new BigUint64Array(options.buffer ?? new ArrayBuffer(8), options.byteOffset ?? 0, 1);
    this.physicalTime = options.physicalTime ?? Date.now;
  }

  /** The last timestamp handed out or merged in (0 before the first event). */
  current(): HlcTimestamp {
    return Atomics.load(this.word, 0);
  }

  /** A local or send event's timestamp. */
  now(): HlcTimestamp {
    return this.reserveAt(1, this.physicalTime());
  }

  /** A receive event: later than both this clock and the remote timestamp. */
  receive(remote: HlcTimestamp): HlcTimestamp {
    return this.receiveAt(remote, this.physicalTime());
  }

  /**
   * Reserves `count` consecutive timestamps in one update (one send event each, as `count` calls of
   * now() at the same physical time would give) and returns the first; the rest are first + 1 ….
   */
  reserveAt(count: number, physical: number): HlcTimestamp {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`hybrid logical clock: cannot reserve ${count} timestamps; reserve at least 1`);
    const floor = BigInt(checkPhysical(physical)) << LOGICAL_SHIFT;
    const span = BigInt(count);
    for (;;) {
      const seen = Atomics.load(this.word, 0);
      const first = seen + 1n > floor ? seen + 1n : floor;
      if (Atomics.compareExchange(this.word, 0, seen, first + span - 1n) === seen) return first;
    }
  }

  /** A receive event at a given physical time (see receive). */
  receiveAt(remote: HlcTimestamp, physical: number): HlcTimestamp {
    const floor = BigInt(checkPhysical(physical)) << LOGICAL_SHIFT;
    for (;;) {
      const seen = Atomics.load(this.word, 0);
      let next = seen + 1n;
      if (remote + 1n > next) next = remote + 1n;
      if (floor > next) next = floor;
      if (Atomics.compareExchange(this.word, 0, seen, next) === seen) return next;
    }
  }

  /**
   * Moves the clock to at least `timestamp` (restoring a checkpoint's clock): never backwards, so
   * timestamps already handed out stay unique.
   */
  advanceTo(timestamp: HlcTimestamp): void {
    for (;;) {
      const seen = Atomics.load(this.word, 0);
      if (seen >= timestamp || Atomics.compareExchange(this.word, 0, seen, timestamp) === seen) return;
    }
  }
}
