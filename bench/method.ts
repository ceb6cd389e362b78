// The one measuring method every figure uses (issue 16). A figure is a pair: "ours" (what the
// product does, measured where the user or the server waits for it) and "raw" (the best direct
// use of the API for the same work, bench/raw.ts). Both run in the same process run, interleaved:
// round after round, each round runs both sides, alternating which goes first so a machine that
// drifts (thermal, a neighbour) weighs on both alike. Warm-up rounds run first and are dropped.
//
// A side's round returns samples as costs: milliseconds per operation, or MiB for memory. Every
// statistic is taken on costs; a rate (steps/s, GB/s) is derived from the cost afterwards, so its
// "p95" is the rate at the 95th-percentile cost: the slow end, a smaller number than its p50.
//
// - p50, p95: nearest-rank percentiles over every sample of every measured round, pooled.
// - ratio: ours cost / raw cost, taken per round (that round's ours p50 over that round's raw
//   p50, and the same for p95), then the median over rounds. 1.0: ours costs what raw costs; 2.0:
//   ours takes twice the time (or memory). Never a sum of percentiles.
// - spread (per side): (highest round p50 - lowest round p50) / median round p50. 0.1 means the
//   rounds' medians lie within 10% of each other; a figure whose spread is near its ratio's
//   distance from 1 does not hold.
// - spread.ratio: the lowest and highest per-round p50 ratio.

/** Rates per second (steps, messages, decisions) come from ms per one of them. */
export type Unit = 'ms' | 'steps/s' | 'messages/s' | 'decisions/s' | 'GB/s' | 'MiB';

export interface Side {
  p50: number;
  p95: number;
}

export interface Figure {
  suite: string;
  name: string;
  unit: Unit;
  ours: Side;
  /** null where the figure has no raw counterpart (said in bench/README.md). */
  raw: Side | null;
  ratio: Side | null;
  spread: { ours: number; raw: number | null; ratio: { min: number; max: number } | null };
  /** Measured rounds and samples per side in all (warm-up not counted). */
  rounds: number;
  samples: { ours: number; raw: number };
  /** Each measured round, in the figure's unit. */
  perRound: { ours: Side; raw: Side | null; ratio: Side | null }[];
  detail?: Record<string, unknown>;
}

export interface Skip {
  suite: string;
  name: string;
  skipped: string;
}

export interface MeasurePlan {
  /** Measured rounds, at least MIN_ROUNDS. */
  rounds: number;
  /** Rounds run first and dropped. */
  warmup: number;
  /** Smaller sizes and fewer samples, for CI-sized runs. */
  quick: boolean;
}

export const MIN_ROUNDS = 5;

/** One figure's name, unit and, for GB/s, the bytes one operation moves. */
export interface FigureSpec {
  name: string;
  unit: Unit;
  bytes?: number;
}

/** One round of one side: samples (costs) per figure name. */
export type RoundSamples = Record<string, number[]>;

/**
 * Figures measured together: both sides' rounds yield samples for every figure in `figures`
 * (a hot reload yields "running" and "rollback point stored" from the same saves).
 */
export interface PairSpec {
  suite: string;
  figures: FigureSpec[];
  ours(round: number): Promise<RoundSamples>;
  /** Absent for figures with no raw counterpart. */
  raw?: (round: number) => Promise<RoundSamples>;
  /** Extra facts for the JSON, asked for once all rounds ran. */
  detail?: () => Record<string, unknown> | undefined;
}

/** Nearest-rank percentile of costs (q in 0..1); NaN for no samples. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** A cost in ms (or MiB) as the figure's unit shows it. */
export function toUnit(cost: number, spec: FigureSpec): number {
  switch (spec.unit) {
    case 'ms':
    case 'MiB':
      return cost;
    case 'steps/s':
    case 'messages/s':
    case 'decisions/s':
      return 1000 / cost;
    case 'GB/s':
      if (spec.bytes === undefined) throw new Error(`figure "${spec.name}" is in GB/s but says no byte count`);
      return spec.bytes / (cost * 1e6);
  }
}

/** Rounds a figure's number to 4 significant digits: more would be noise. */
export function tidy(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(4));
}

function side(costs: readonly number[], spec: FigureSpec): Side {
  return { p50: tidy(toUnit(percentile(costs, 0.5), spec)), p95: tidy(toUnit(percentile(costs, 0.95), spec)) };
}

function relativeRange(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return tidy((Math.max(...values) - Math.min(...values)) / median(values));
}

/** Turns the measured rounds of one figure into its result. */
export function summarizeFigure(
  suite: string,
  spec: FigureSpec,
  ours: number[][],
  raw: number[][] | undefined,
  detail?: Record<string, unknown>,
): Figure {
  const all = (rounds: number[][]): number[] => rounds.flat();
  const oursP50 = ours.map((r) => percentile(r, 0.5));
  const perRound = ours.map((o, i) => {
    const r = raw?.[i];
    return {
      ours: side(o, spec),
      raw: r ? side(r, spec) : null,
      ratio: r
        ? { p50: tidy(percentile(o, 0.5) / percentile(r, 0.5)), p95: tidy(percentile(o, 0.95) / percentile(r, 0.95)) }
        : null,
    };
  });
  const ratios = perRound.flatMap((round) => (round.ratio ? [round.ratio] : []));
  const figure: Figure = {
    suite,
    name: spec.name,
    unit: spec.unit,
    ours: side(all(ours), spec),
    raw: raw ? side(all(raw), spec) : null,
    ratio: raw ? { p50: tidy(median(ratios.map((r) => r.p50))), p95: tidy(median(ratios.map((r) => r.p95))) } : null,
    spread: {
      ours: relativeRange(oursP50),
      raw: raw ? relativeRange(raw.map((r) => percentile(r, 0.5))) : null,
      ratio: raw ? { min: Math.min(...ratios.map((r) => r.p50)), max: Math.max(...ratios.map((r) => r.p50)) } : null,
    },
    rounds: ours.length,
    samples: { ours: all(ours).length, raw: raw ? all(raw).length : 0 },
    perRound,
  };
  if (detail) figure.detail = detail;
  return figure;
}

/**
 * Runs a pair: `plan.warmup` rounds dropped, then `plan.rounds` measured, ours and raw in every
 * round, the order alternating. Every figure of the pair must get samples from both sides in
 * every round: a side that yields none for a figure is a bug in its suite, reported as such.
 */
export async function measurePair(
  spec: PairSpec,
  plan: MeasurePlan,
  progress: (line: string) => void,
): Promise<Figure[]> {
  const ours: number[][][] = spec.figures.map(() => []);
  const raw: number[][][] = spec.figures.map(() => []);
  const take = (into: number[][][], samples: RoundSamples, which: string): void => {
    spec.figures.forEach((figure, i) => {
      const got = samples[figure.name];
      if (!got || got.length === 0)
        throw new Error(`${spec.suite}: the ${which} side gave no samples for "${figure.name}"`);
      into[i]?.push(got);
    });
  };
  const total = plan.warmup + plan.rounds;
  for (let round = 0; round < total; round++) {
    const measured = round >= plan.warmup;
    progress(
      `${spec.suite}: ${spec.figures.map((f) => f.name).join(', ')}: ${measured ? `round ${round - plan.warmup + 1}/${plan.rounds}` : 'warm-up'}`,
    );
    const runOurs = async (): Promise<void> => {
      const s = await spec.ours(round);
      if (measured) take(ours, s, 'ours');
    };
    const runRaw = async (): Promise<void> => {
      if (!spec.raw) return;
      const s = await spec.raw(round);
      if (measured) take(raw, s, 'raw');
    };
    if (round % 2 === 0) {
      await runOurs();
      await runRaw();
    } else {
      await runRaw();
      await runOurs();
    }
  }
  const detail = spec.detail?.();
  return spec.figures.map((figure, i) =>
    summarizeFigure(spec.suite, figure, ours[i] ?? [], spec.raw ? (raw[i] ?? []) : undefined, detail),
  );
}

/** Times `count` runs of `op` one after another, ms each. */
export async function timeEach(count: number, op: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await op();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** What a suite gets: the plan, a progress line (stderr), and where its figures go. */
export interface BenchContext {
  readonly plan: MeasurePlan;
  progress(line: string): void;
  /** Measures a pair and records its figures. */
  pair(spec: PairSpec): Promise<void>;
  /** Records a figure that could not be measured here, with why. */
  skip(suite: string, name: string, reason: string): void;
}
