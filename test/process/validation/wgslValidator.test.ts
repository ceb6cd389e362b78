// WGSL through Tint in its host child: exact ranges (UTF-16), whole multi-line messages, warnings
// as warnings, the manifest's entry points, and a host that must be killed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Diagnostic, Range } from '../../../server/src/validation/diagnostic';
import { splitTintMessage, WgslValidator } from '../../../server/src/validation/wgslValidator';
import { fixture } from '../../support/repo';
import { randomText } from '../../support/badInput';
import { tintHostScript } from './tintHostScript';

const read = (name: string): string => readFileSync(fixture('validation', 'wgsl', name), 'utf8');
const at = (d: Diagnostic | undefined): Range | undefined => d?.range;
const span = (line: number, start: number, end: number): Range => ({
  start: { line, character: start },
  end: { line, character: end },
});

let validator: WgslValidator;

before(async () => {
  validator = new WgslValidator({ hostScript: await tintHostScript() });
});
after(() => validator.dispose());

test('an error after non-ASCII text is placed by UTF-16 columns', async () => {
  const result = await validator.validate(read('unicode_error.wgsl'));
  assert.equal(result.skipped, undefined);
  assert.equal(result.validator, 'tint');
  assert.equal(result.diagnostics.length, 1);
  const [error] = result.diagnostics;
  assert.equal(error?.severity, 'error');
  assert.equal(error?.source, 'tint');
  assert.equal(error?.message, "cannot convert value of type 'abstract-float' to type 'i32'");
  // Line 8: `  /* émoji 😀 */ let count: i32 = 1.5;` — the 😀 counts as two code units.
  assert.deepEqual(at(error), span(7, 34, 37));
});

test('an unresolved name and a syntax error are reported where Tint puts them', async () => {
  const unresolved = await validator.validate(read('unresolved.wgsl'));
  assert.deepEqual(
    unresolved.diagnostics.map((d) => [d.message, d.range]),
    [["unresolved value 'undefined_scale'", span(4, 13, 28)]],
  );
  const syntax = await validator.validate(read('syntax_error.wgsl'));
  assert.equal(syntax.diagnostics[0]?.message, "expected ';' for variable declaration");
  assert.deepEqual(at(syntax.diagnostics[0]), span(3, 2, 5));
});

test('a multi-line message keeps its first line as the message, the candidates as related information', async () => {
  const result = await validator.validate(read('multiline.wgsl'));
  const [error] = result.diagnostics;
  assert.deepEqual(at(error), span(2, 9, 27));
  assert.equal(error?.message, "no matching call to 'max(f32, vec2<f32>)'");
  const related = error?.related ?? [];
  assert.equal(related[0]?.message, '2 candidate functions:');
  assert.equal(related.length, 3, related.map((r) => r.message).join('\n'));
  // One entry per candidate, its 'where' clause on the same line.
  assert.match(related[1]?.message ?? '', /^• 'max\(T {1,2}✓ , T {1,2}✗ \) -> T' where: ✓ 'T' is 'abstract-float'/);
  assert.ok(related.every((r) => !r.message.includes('\n') && r.range === error?.range));
});

test('splitting a Tint message: bullets start entries, deeper lines join the entry above', () => {
  assert.deepEqual(splitTintMessage('one line'), { first: 'one line', details: [] });
  assert.deepEqual(
    splitTintMessage(
      "no matching call\n\n3 candidate functions:\n • 'a(T)' where:\n      ✓  'T' is 'f32'\n • 'b()'\n • 'c(U)' where:\n      ✗  'U' is 'i32'\n      ✗  'U' is 'u32'\n",
    ),
    {
      first: 'no matching call',
      details: [
        '3 candidate functions:',
        "• 'a(T)' where: ✓ 'T' is 'f32'",
        "• 'b()'",
        "• 'c(U)' where: ✗ 'U' is 'i32' ✗ 'U' is 'u32'",
      ],
    },
  );
});

test('warnings stay warnings and notes become information', async () => {
  const result = await validator.validate(read('warning.wgsl'));
  assert.deepEqual(
    result.diagnostics.map((d) => [d.severity, d.range]),
    [
      ['warning', span(6, 17, 24)],
      ['information', span(5, 2, 4)],
      ['information', span(5, 6, 7)],
    ],
  );
  assert.equal(result.diagnostics[0]?.message, "'dpdx' must only be called from uniform control flow");
});

test('valid real-world shaders produce no diagnostics', async () => {
  // f16, subgroups, clip_distances, primitive_index and dual_source_blending: optional features.
  for (const name of [
    'boids.wgsl',
    'reduction.wgsl',
    'entry_points.wgsl',
    'f16_softmax.wgsl',
    'subgroup_histogram.wgsl',
    'clip_and_pick.wgsl',
  ]) {
    const result = await validator.validate(read(name));
    assert.deepEqual(result.diagnostics, [], name);
  }
});

test('a 220-line shader validates in milliseconds, and the device is reused', async () => {
  const text = read('boids.wgsl');
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    // A different comment each time: Dawn caches modules by their text.
    const started = performance.now();
    const result = await validator.validate(`${text}\n// run ${i}\n`);
    times.push(performance.now() - started);
    assert.deepEqual(result.diagnostics, []);
    assert.equal(result.notes, undefined, 'no new device after the first');
  }
  times.sort((a, b) => a - b);
  assert.ok((times[5] ?? Infinity) < 100, `median ${times[5] ?? NaN} ms`);
});

test('entry points the manifest declares but the file lacks are errors naming them and the manifest', async () => {
  const result = await validator.validate(read('entry_points.wgsl'), {
    expectedEntryPoints: [
      { name: 'simulate', kernelId: 'sim' },
      { name: 'vs', stage: 'vertex' },
      { name: 'simulat', kernelId: 'sim2' },
      { name: 'not_an_entry' },
      { name: 'commented_out' },
    ],
    manifestName: 'ringkernel.json',
  });
  const messages = result.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.character} ${d.message}`);
  assert.equal(messages.length, 3, messages.join('\n'));
  assert.match(
    messages[0] ?? '',
    /^7:3 ringkernel\.json declares entry point 'simulat' for kernel 'sim2', but this file has no @compute function of that name \(its entry points: 'simulate', 'vs'\)/,
  );
  assert.match(
    messages[1] ?? '',
    /^4:3 ringkernel\.json declares entry point 'not_an_entry' as a @compute shader, but here it is a plain function/,
  );
  assert.match(messages[2] ?? '', /^7:3 .*'commented_out'/);
  assert.ok(result.diagnostics.every((d) => d.severity === 'error' && d.code === 'missing-entry-point'));
});

test('empty text, random bytes and invalid UTF-8 give diagnostics or nothing, never a failure', async () => {
  assert.deepEqual((await validator.validate('')).diagnostics, []);
  for (let i = 0; i < 5; i++) {
    const result = await validator.validate(randomText(4096));
    assert.equal(result.skipped, undefined);
    assert.ok(result.diagnostics.length >= 1);
    assert.ok(result.diagnostics.every((d) => d.range.start.line >= 0 && d.range.end.character >= 0));
  }
  const invalidUtf8 = Buffer.from([0x40, 0x63, 0xff, 0xfe, 0xc3, 0x28, 0x0a, 0x66, 0x6e]).toString('utf8');
  assert.ok((await validator.validate(invalidUtf8)).diagnostics.length >= 1);
});

test('a validation past its deadline kills the Tint host, reports why, and the next one works', async () => {
  let slow = '';
  for (let i = 0; i < 20_000; i++) slow += `fn g${i}(a: f32) -> f32 { return a * 2.0; }\n`;
  const started = performance.now();
  const result = await validator.validate(slow, { timeoutMs: 300 });
  assert.ok(performance.now() - started < 5000);
  assert.match(result.skipped ?? '', /did not finish within 300 ms/);
  const next = await validator.validate(read('unresolved.wgsl'));
  assert.equal(next.skipped, undefined);
  assert.equal(next.diagnostics.length, 1);
});

test('a cancelled validation of a large file does not hold up the next one', async () => {
  let slow = '';
  for (let i = 0; i < 20_000; i++) slow += `fn h${i}(a: f32) -> f32 { return a * 3.0; }\n`;
  const controller = new AbortController();
  const first = validator.validate(slow, { signal: controller.signal });
  const second = validator.validate(read('unresolved.wgsl'));
  controller.abort();
  assert.equal((await first).skipped, 'cancelled');
  const started = performance.now();
  const result = await second;
  assert.equal(result.diagnostics.length, 1);
  assert.ok(performance.now() - started < 3000, 'the stale run was abandoned, not waited for');
});

test('a lost device is replaced: invalid code is still reported after a device loss', async () => {
  assert.equal((await validator.validate(read('unresolved.wgsl'))).diagnostics.length, 1);
  await validator.loseDevice();
  const afterLoss = await validator.validate(`${read('unresolved.wgsl')}\n// after the loss\n`);
  assert.deepEqual(
    afterLoss.diagnostics.map((d) => d.message),
    ["unresolved value 'undefined_scale'"],
  );
  assert.match(afterLoss.notes?.join('\n') ?? '', /a new Dawn device was opened/);
});

test('a missing host script is a skip with the reason, not a crash', async () => {
  const broken = new WgslValidator({ hostScript: fixture('validation', 'does-not-exist.js') });
  try {
    const result = await broken.validate('fn f() {}');
    assert.match(result.skipped ?? '', /host script .*does-not-exist\.js is missing/);
  } finally {
    broken.dispose();
  }
});
