// The Metal parser runs in a worker thread (dist/mslParser.js): a WebAssembly fault, a thread that
// dies, one that hangs, or one that faults after answering ends that worker only; the file gets a
// "not validated" reason naming what happened, a new worker takes the next file, and it validates.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Logger } from '../../../server/src/logger';
import type { ValidationResult } from '../../../server/src/validation/diagnostic';
import { MslParserWorker } from '../../../server/src/validation/msl/mslParserWorker';
import { ValidatorSet } from '../../../server/src/validation/validatorSet';
import { pollUntil } from '../../support/poll';
import { distFile, fixture } from '../../support/repo';

const clean = readFileSync(fixture('validation', 'msl', 'reduction.metal'), 'utf8');
const broken = readFileSync(fixture('validation', 'msl', 'errors.metal'), 'utf8');

/**
 * The real worker script behind a first listener that misbehaves on a marker in the file: it
 * loops forever (HANG), ends its thread mid-parse (EXIT), or answers and then throws from a later
 * task, as a dead WebAssembly instance's "null function" did (LATE).
 */
function misbehavingScript(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ringkernel-mslworker-')), 'misbehaving.js');
  writeFileSync(
    file,
    `const { parentPort } = require('node:worker_threads');
let late = false;
const post = parentPort.postMessage.bind(parentPort);
parentPort.postMessage = (reply) => {
  post(reply);
  if (late) setTimeout(() => { throw new TypeError('null function or function signature mismatch'); }, 20);
  late = false;
};
parentPort.on('message', (m) => {
  if (m.kind !== 'validate') return;
  if (m.text.includes('HANG')) for (;;) {}
  if (m.text.includes('EXIT')) process.exit(7);
  if (m.text.includes('LATE')) late = true;
});
require(${JSON.stringify(distFile('mslParser.js'))});
`,
  );
  return file;
}

const workers: MslParserWorker[] = [];
after(async () => {
  for (const worker of workers) await worker.dispose();
});

function newWorker(options: ConstructorParameters<typeof MslParserWorker>[0] = {}): {
  worker: MslParserWorker;
  restarts: string[];
} {
  const worker = new MslParserWorker(options);
  workers.push(worker);
  const restarts: string[] = [];
  worker.onRestart((reason) => restarts.push(reason));
  return { worker, restarts };
}

function assertValidates(result: ValidationResult): void {
  assert.equal(result.skipped, undefined, result.skipped);
  assert.deepEqual(
    result.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
}

test('a real WebAssembly fault mid-parse ends the worker; the file says so and the next file validates in a new one', async () => {
  const { worker, restarts } = newWorker();
  // Past MAX_OPERATOR_RUN (which the server keeps to): 1,000 `-` before a missing operand overflow tree-sitter's WebAssembly stack.
  const deep = `kernel void k(device int* a [[buffer(0)]]) { a[0] = ${'-'.repeat(1000)}; }\n`;
  const faulted = await worker.validate(deep, { unlimited: true, parseBudgetMs: 20_000 });
  assert.equal(faulted.unchecked, true);
  assert.match(
    faulted.skipped ?? '',
    /^the Metal parser failed on this file \(RuntimeError: .+\); the server restarted it$/,
  );
  assert.equal(worker.restarts, 1);
  assert.equal(restarts.length, 1);
  assertValidates(await worker.validate(clean));
  assert.ok(
    (await worker.validate(broken)).diagnostics.some((d) => d.severity === 'error'),
    'errors are still found',
  );
});

test('a worker whose thread ends mid-parse is replaced; the next file validates', async () => {
  const { worker, restarts } = newWorker({ script: misbehavingScript() });
  assertValidates(await worker.validate(clean));
  const died = await worker.validate(`// EXIT\n${clean}`);
  assert.equal(died.unchecked, true);
  assert.match(
    died.skipped ?? '',
    /the Metal parser failed on this file \(its thread exited with code 7\); the server restarted it/,
  );
  assertValidates(await worker.validate(clean));
  assert.deepEqual(restarts.length, 1);
});

test('a hang is bounded: the worker is ended after the budget and grace, and the next file validates', async () => {
  const { worker } = newWorker({ script: misbehavingScript(), graceMs: 200 });
  const started = performance.now();
  const hung = await worker.validate(`// HANG\n${clean}`, { parseBudgetMs: 300 });
  const ms = performance.now() - started;
  assert.match(
    hung.skipped ?? '',
    /failed on this file \(it did not answer within 500 ms \(its budget is 300 ms\)\); the server restarted it/,
  );
  assert.ok(ms < 5000, `answered after ${ms.toFixed(0)} ms`);
  assertValidates(await worker.validate(clean));
  assert.equal(worker.restarts, 1);
});

test('a fault after the answer (a dead instance throwing later) is noticed; the next file gets a new worker', async () => {
  const { worker, restarts } = newWorker({ script: misbehavingScript() });
  assertValidates(await worker.validate(`// LATE\n${clean}`));
  await pollUntil('the late fault to be noticed', () => (restarts.length > 0 ? true : undefined), {
    timeoutMs: 10_000,
  });
  assert.match(restarts[0] ?? '', /failed between files: null function/);
  assertValidates(await worker.validate(clean));
});

test('files queue for the one worker: many at once all get their own answer', async () => {
  const { worker } = newWorker();
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) => worker.validate(i % 2 === 0 ? clean : broken)),
  );
  results.forEach((result, i) => {
    if (i % 2 === 0) assertValidates(result);
    else
      assert.ok(
        result.diagnostics.some((d) => d.severity === 'error'),
        `file ${i}`,
      );
  });
});

test('through ValidatorSet (the server): the failed file is marked "not validated" where diagnostics are read', async () => {
  const warnings: string[] = [];
  const logger: Logger = {
    error: (m) => warnings.push(m),
    warn: (m) => warnings.push(m),
    info: () => undefined,
    debug: () => undefined,
  };
  const validators = new ValidatorSet({ logger });
  try {
    const hangFree = await validators.validate('msl', clean, { parserOnly: true });
    assert.equal(hangFree.skipped, undefined);
    // A cancelled file is answered at once and says so.
    const controller = new AbortController();
    controller.abort();
    assert.equal(
      (await validators.validate('msl', clean, { parserOnly: true, signal: controller.signal })).skipped,
      'cancelled',
    );
  } finally {
    validators.dispose();
  }
  assert.deepEqual(warnings, []);
});
