// Steps per second from the step counts a kernel's loop reports, over a sliding window, so the
// status bar shows the rate now, not the average since start.
const WINDOW_MS = 2_000;

export class StepRateMeter {
  private samples: { at: number; step: number }[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  record(step: number): void {
    const at = this.now();
    this.samples.push({ at, step });
    while (this.samples.length > 2 && (this.samples[0]?.at ?? at) < at - WINDOW_MS) this.samples.shift();
  }

  /** Steps per second across the window; 0 until two reports arrived, or when the last is stale. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at === first.at) return 0;
    if (this.now() - last.at > WINDOW_MS) return 0;
    return ((last.step - first.step) * 1000) / (last.at - first.at);
  }

  reset(): void {
    this.samples = [];
  }
}
