// The fuzz tier's one way to run a target: a seeded fast-check run for a bounded time, every input
// under its own deadline (a hang fails the run, naming the input), and a printed account: the
// target and seed before it starts (so even a run that never ends can be repeated), then inputs
// tried, time, and how to repeat it. A failure is shrunk for a bounded time. An input that blocks
// the thread itself (where no deadline can fire) is caught by a watchdog thread (hangWatchdog.ts),
// which names the input's seed and path and ends the process.
//   RINGKERNEL_FUZZ_SEED  the seed (default: a fresh one, printed)
//   RINGKERNEL_FUZZ_MS    time per target in ms (default 8000; `npm run fuzz -- --minutes N` sets it)
//   RINGKERNEL_FUZZ_PATH  fast-check's counterexample path from a failure report, to replay only that input
//   RINGKERNEL_FUZZ_REPORT a file to append one JSON line per target to (docs/reliability.md's figures)
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { HangWatchdog } from './hangWatchdog';

export const DEFAULT_FUZZ_MS = 8000;

export function fuzzSeed(): number {
  const fromEnv = process.env.RINGKERNEL_FUZZ_SEED;
  if (fromEnv === undefined || fromEnv === '') return randomInt(2 ** 31);
  const seed = Number(fromEnv);
  if (!Number.isSafeInteger(seed)) throw new Error(`RINGKERNEL_FUZZ_SEED must be an integer, got "${fromEnv}"`);
  return seed;
}

/** The time one target may run, in ms; `share` scales it for a target that gets less or more of the budget. */
export function fuzzBudgetMs(share = 1): number {
  const fromEnv = process.env.RINGKERNEL_FUZZ_MS;
  const ms = fromEnv === undefined || fromEnv === '' ? DEFAULT_FUZZ_MS : Number(fromEnv);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new Error(`RINGKERNEL_FUZZ_MS must be a positive number of milliseconds, got "${fromEnv}"`);
  return Math.max(200, Math.round(ms * share));
}

export interface FuzzOptions {
  /** The longest one input may take before the run counts it as a hang. */
  perInputMs: number;
  /** Part of RINGKERNEL_FUZZ_MS this target gets (default 1). */
  share?: number;
  /** Stop after this many inputs even with time left (a target whose input space is small). */
  maxInputs?: number;
  /** How long a failure may be shrunk (default 20 s); the inputs fast-check offers after that are not run. */
  shrinkMs?: number;
}

export interface FuzzResult {
  target: string;
  inputs: number;
  ms: number;
  seed: number;
}

/**
 * Runs `property` on inputs from `arbitrary` until the time budget is spent. A property fails by
 * throwing (or rejecting); taking longer than `perInputMs` fails it too.
 */
export async function fuzz<T>(
  t: TestContext,
  target: string,
  arbitrary: fc.Arbitrary<T>,
  property: (input: T) => Promise<void> | void,
  options: FuzzOptions,
): Promise<FuzzResult> {
  const seed = fuzzSeed();
  const budgetMs = fuzzBudgetMs(options.share);
  const path = process.env.RINGKERNEL_FUZZ_PATH;
  const started = performance.now();
  const opening = `fuzz ${target}: starting, seed ${seed}, ${budgetMs} ms (RINGKERNEL_FUZZ_SEED=${seed} repeats it)`;
  process.stderr.write(`${opening}\n`);
  const watchdog = new HangWatchdog(target, seed, options.perInputMs + 10_000);
  // fast-check abandons the input in flight when the time is up (its promise loses a race); the
  // work goes on. It is awaited here, so no input outlives the run and a late failure still counts.
  let inFlight: { input: T; run: Promise<void> } | undefined;
  let tried = 0;
  /** When the first failure was seen: shrinking runs from then until shrinkMs. */
  let failedAt: number | undefined;
  const shrinkMs = options.shrinkMs ?? 20_000;
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (input) => {
      // Past the shrink budget, the smaller inputs fast-check still offers are let pass unrun: the
      // smallest failure so far is the one reported.
      if (failedAt !== undefined && performance.now() - failedAt > shrinkMs) return;
      tried++;
      // Before any failure, fast-check's path to the n-th input is n - 1 (when replaying, the first is the path given).
      const replaying = path !== undefined && path !== '';
      watchdog.begin(
        failedAt !== undefined ? undefined : replaying ? (tried === 1 ? path : undefined) : String(tried - 1),
      );
      const run = Promise.resolve().then(() => property(input));
      inFlight = { input, run };
      try {
        await run;
      } catch (error) {
        failedAt ??= performance.now();
        throw error;
      } finally {
        watchdog.end();
      }
      inFlight = undefined;
    }),
    {
      seed,
      numRuns: options.maxInputs ?? Number.MAX_SAFE_INTEGER,
      interruptAfterTimeLimit: budgetMs,
      timeout: options.perInputMs,
      // Shrinking is bounded by shrinkMs (above); the seed and path replay the failure either way.
      endOnFailure: false,
      ...(path !== undefined && path !== '' ? { path } : {}),
    },
  );
  // fast-check counts a run interrupted before any input finished as failed (counterexample null):
  // on a loaded machine a slow target's first input can outlast the budget. That is no failure;
  // the input is awaited below like any abandoned one.
  const failed = details.failed && !(details.interrupted && details.counterexample === null);
  let lateFailure: string | undefined;
  if (!failed && inFlight !== undefined) {
    const last = inFlight;
    try {
      await within(options.perInputMs, 'the last input, abandoned by fast-check at the time limit', last.run);
    } catch (error) {
      lateFailure = `${error instanceof Error ? error.message : String(error)}\nInput: ${fc.stringify(last.input)}`;
    }
  }
  await watchdog.dispose();
  const ms = performance.now() - started;
  const result: FuzzResult = { target, inputs: tried, ms: Math.round(ms), seed };
  const line = `fuzz ${target}: ${result.inputs} inputs in ${(ms / 1000).toFixed(1)} s, seed ${seed} (RINGKERNEL_FUZZ_SEED=${seed} repeats it)`;
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
  const report = process.env.RINGKERNEL_FUZZ_REPORT;
  if (report !== undefined && report !== '')
    appendFileSync(report, `${JSON.stringify({ ...result, failed: failed || lateFailure !== undefined })}\n`);
  if (lateFailure !== undefined)
    assert.fail(`fuzz target ${target} failed on its last input (seed ${seed}): ${lateFailure}`);
  if (failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    assert.fail(
      `fuzz target ${target} failed: ${cause}\n${fc.defaultReportMessage(details) ?? 'no report'}\nReplay: RINGKERNEL_FUZZ_SEED=${seed} RINGKERNEL_FUZZ_PATH=${details.counterexamplePath ?? ''}`,
    );
  }
  assert.ok(result.inputs > 0, `fuzz target ${target} tried no input in ${budgetMs} ms`);
  return result;
}

/** Rejects when `work` takes longer than `ms`: a bounded wait with a message that says on what. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A place in an input, as a fraction of its length. fast-check's doubles lean hard towards 0 and
 * other edge values (most edits then land on the first byte); this is uniform, ends included now and then.
 */
export const somewhere: fc.Arbitrary<number> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(0, 1) },
  { weight: 15, arbitrary: fc.noBias(fc.integer({ min: 0, max: 2 ** 30 })).map((n) => n / 2 ** 30) },
);
