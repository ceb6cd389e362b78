// Fuzzing the WGSL, PTX and Metal validators through ValidatorSet, the entry point the server uses:
// mutated real kernels, random bytes, deep nesting, huge lines, invalid UTF-8. Each input must get
// an outcome in bounded time, with no internal error, diagnostics inside the text, and a reason
// whenever nothing was checked; after the run a valid kernel still validates clean. PTX and MSL are
// parsed in the calling thread, so they run in a worker thread (stoppableValidator.ts) that is
// stopped when an answer is late: a hang fails the property with its input. WGSL's work is in the
// Tint host child, which has its own deadline.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Logger } from '../../server/src/logger';
import { LineIndex, type Diagnostic } from '../../server/src/validation/diagnostic';
import { ValidatorSet, type ValidationContext, type ValidationOutcome } from '../../server/src/validation/validatorSet';
import { fixture } from '../support/repo';
import { tintHostScript } from '../process/validation/tintHostScript';
import { fuzz, within } from './fuzzRun';
import { StoppableValidator } from './stoppableValidator';
import { validatorInput, type SourceLanguage } from './sourceMutations';

const errors: string[] = [];
const logger: Logger = {
  error: (m) => errors.push(m),
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

let validators: ValidatorSet;
const inWorker = new StoppableValidator();
before(async () => {
  validators = new ValidatorSet({ logger, tintHostScript: await tintHostScript() });
});
after(async () => {
  validators.dispose();
  await inWorker.dispose();
});

/** One validation: WGSL here (its work is in the Tint host), PTX and MSL in the stoppable worker. */
async function validate(
  language: SourceLanguage,
  text: string,
  context: ValidationContext,
  ms: number,
): Promise<ValidationOutcome> {
  if (language === 'wgsl')
    return within(ms, `validating ${text.length} characters of WGSL`, validators.validate(language, text, context));
  const reply = await inWorker.validate(language, text, context.parserOnly === true, ms);
  errors.push(...reply.errors);
  return reply.outcome;
}

function assertInside(diagnostic: Diagnostic, index: LineIndex, what: string): void {
  const { start, end } = diagnostic.range;
  for (const p of [start, end]) {
    assert.ok(
      Number.isInteger(p.line) && p.line >= 0 && p.line < index.lineCount,
      `${what}: line ${p.line} outside the text's ${index.lineCount} lines`,
    );
    const length = index.lineEnd(p.line) - index.lineStart(p.line);
    assert.ok(
      Number.isInteger(p.character) && p.character >= 0 && p.character <= length,
      `${what}: character ${p.character} outside line ${p.line} (${length} long)`,
    );
  }
  assert.ok(
    start.line < end.line || (start.line === end.line && start.character <= end.character),
    `${what}: range ends before it starts`,
  );
  assert.ok(typeof diagnostic.message === 'string' && diagnostic.message.trim() !== '', `${what}: empty message`);
}

/** What every outcome must be, whatever the text. */
function assertSound(outcome: ValidationOutcome, text: string): void {
  assert.deepEqual(errors.splice(0), [], 'the validator logged an error');
  assert.doesNotMatch(outcome.skipped ?? '', /internal error/, 'the validator threw');
  if (outcome.unchecked === true) assert.ok((outcome.skipped ?? '').length > 0, 'unchecked without a reason');
  const index = new LineIndex(text);
  for (const d of outcome.diagnostics) {
    assertInside(d, index, `${d.source}: ${d.message}`);
    for (const r of d.related ?? [])
      assertInside({ ...d, range: r.range, message: r.message }, index, `related of ${d.message}`);
  }
}

const CLEAN: Record<SourceLanguage, string> = {
  wgsl: fixture('validation', 'wgsl', 'reduction.wgsl'),
  ptx: fixture('validation', 'ptx', 'abi_counter.ptx'),
  msl: fixture('validation', 'msl', 'reduction.metal'),
};

interface Target {
  language: SourceLanguage;
  perInputMs: number;
  context: (n: number) => ValidationContext;
}

const TARGETS: Target[] = [
  // Tint's own deadline is 10 s (then its host is killed and restarted); the fuzz deadline sits above it.
  { language: 'wgsl', perInputMs: 30_000, context: () => ({}) },
  // Our parser on every input; one in eight also goes through ptxas where it is installed.
  { language: 'ptx', perInputMs: 30_000, context: (n) => ({ parserOnly: n % 8 !== 0 }) },
  { language: 'msl', perInputMs: 15_000, context: () => ({ parserOnly: true }) },
];

describe('fuzz: validators', () => {
  for (const target of TARGETS) {
    test(
      `${target.language.toUpperCase()}: every input gets an outcome in bounded time, and a clean kernel still validates clean after`,
      { timeout: 600_000 },
      async (t) => {
        let n = 0;
        const skipped = new Map<string, number>();
        await fuzz(
          t,
          `${target.language} validator`,
          validatorInput(target.language),
          async (text) => {
            const outcome = await validate(target.language, text, target.context(n++), target.perInputMs);
            assertSound(outcome, text);
            if (outcome.skipped !== undefined) {
              const reason = outcome.skipped.replace(/[0-9.]+/g, 'N').slice(0, 80);
              skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
            }
          },
          // The fuzz deadline is the worker's (a late answer stops it); fuzzRun's sits above it.
          { perInputMs: target.perInputMs + 5000 },
        );
        for (const [reason, count] of skipped) t.diagnostic(`skipped ${count}x: ${reason}`);
        const clean = readFileSync(CLEAN[target.language], 'utf8');
        const outcome = await validate(target.language, clean, { parserOnly: true }, 30_000);
        assertSound(outcome, clean);
        assert.equal(outcome.skipped, undefined, `after the fuzz run: ${outcome.skipped ?? ''}`);
        assert.deepEqual(
          outcome.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
          [],
        );
      },
    );
  }
});
