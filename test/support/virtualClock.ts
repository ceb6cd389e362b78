// Virtual time for tests of rate limits: a Scheduler whose clock moves only when the test says,
// running each timer that comes due in order. "At most 4 a second" is then checked over minutes
// of virtual time in milliseconds of real time, and never by sleeping.
import type { Scheduler } from '../../server/src/views/scheduler';

interface Timer {
  at: number;
  order: number;
  callback: () => void;
}

export class VirtualClock implements Scheduler {
  private time = 0;
  private order = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.time + Math.max(0, ms), order: this.order++, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as Timer);
  }

  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves the clock `ms` forward, running every timer due on the way at its own time; after each,
   * lets promises settle (a read that resolves at once finishes before the clock moves on).
   */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (next === undefined) break;
      this.timers.delete(next);
      this.time = next.at;
      next.callback();
    }
    this.time = end;
    await settle();
  }
}

/** Lets queued promise callbacks run (several turns: chains of awaits). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
