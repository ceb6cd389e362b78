// "At most N a second, none while nobody listens": a change is sent at once when the last send is
// older than the interval, otherwise once when the interval has passed (the latest state, so
// nothing is lost but intermediate values). While inactive nothing is sent; a change made then is
// sent when it becomes active again.
import { realScheduler, type Scheduler } from './scheduler';

export class Throttle {
  private dirty = false;
  private activeFlag = false;
  private lastSent = -Infinity;
  private timer: unknown;

  constructor(
    private readonly intervalMs: number,
    private readonly send: () => void,
    private readonly scheduler: Scheduler = realScheduler,
  ) {}

  get active(): boolean {
    return this.activeFlag;
  }

  /** Turns sending on or off; turning it on sends what changed meanwhile (within the interval rule). */
  setActive(active: boolean): void {
    if (active === this.activeFlag) return;
    this.activeFlag = active;
    if (!active) this.cancel();
    else if (this.dirty) this.schedule();
  }

  /** Something changed. */
  changed(): void {
    this.dirty = true;
    if (this.activeFlag) this.schedule();
  }

  dispose(): void {
    this.activeFlag = false;
    this.cancel();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const wait = this.lastSent + this.intervalMs - this.scheduler.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, wait);
  }

  private fire(): void {
    if (!this.activeFlag || !this.dirty) return;
    this.dirty = false;
    this.lastSent = this.scheduler.now();
    this.send();
  }

  private cancel(): void {
    if (this.timer === undefined) return;
    this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
