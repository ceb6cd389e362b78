// The orchestration: debounce, newest version only, cancellation, limits, and no throw ever.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Logger } from '../../../server/src/logger';
import { ValidationService } from '../../../server/src/validation/validationService';
import { kernelLanguageOf, ValidatorSet, type ValidationOutcome } from '../../../server/src/validation/validatorSet';
import { hugeSource, randomText } from '../../support/badInput';
import { pollUntil } from '../../support/poll';
import { fixture } from '../../support/repo';
import { tintHostScript } from './tintHostScript';

const logged: string[] = [];
const logger: Logger = {
  error: (m) => logged.push(`error ${m}`),
  warn: (m) => logged.push(`warn ${m}`),
  info: (m) => logged.push(`info ${m}`),
  debug: (m) => logged.push(`debug ${m}`),
};

let validators: ValidatorSet;
before(async () => {
  validators = new ValidatorSet({ logger, tintHostScript: await tintHostScript() });
});
after(() => validators.dispose());

function service(
  published: { uri: string; version: number; outcome: ValidationOutcome }[],
  debounceMs = 30,
): ValidationService {
  return new ValidationService({
    logger,
    validators,
    debounceMs,
    contextFor: () => ({ parserOnly: true }),
    publish: (uri, version, outcome) => published.push({ uri, version, outcome }),
  });
}

test('language ids and file names map to the three kernel languages', () => {
  assert.equal(kernelLanguageOf('wgsl'), 'wgsl');
  assert.equal(kernelLanguageOf('/a/b/kernel.PTX'), 'ptx');
  assert.equal(kernelLanguageOf('metal'), 'msl');
  assert.equal(kernelLanguageOf('x.metal'), 'msl');
  assert.equal(kernelLanguageOf('cpp'), undefined);
});

test('typing: only the last version after the quiet time is validated and published', async () => {
  const published: { uri: string; version: number; outcome: ValidationOutcome }[] = [];
  const svc = service(published);
  try {
    for (let version = 1; version <= 5; version++) {
      svc.schedule({
        uri: 'file:///k.ptx',
        languageId: 'ptx',
        version,
        text: `.version 8.0\n.target sm_80\n// v${version}\n`,
      });
    }
    await pollUntil('a publication', () => (published.length > 0 ? true : undefined));
    assert.deepEqual(
      published.map((p) => p.version),
      [5],
    );
    assert.equal(published[0]?.outcome.validator, 'ringkernel-ptx');
  } finally {
    svc.dispose();
  }
});

test('a newer version cancels the run still going for an older one, whose result is dropped', async () => {
  const published: { uri: string; version: number; outcome: ValidationOutcome }[] = [];
  const svc = service(published, 0);
  try {
    let slow = '';
    for (let i = 0; i < 20_000; i++) slow += `fn g${i}(a: f32) -> f32 { return a * 2.0; }\n`;
    const first = svc.validate({ uri: 'file:///a.wgsl', languageId: 'wgsl', version: 1, text: slow });
    const second = svc.validate({
      uri: 'file:///a.wgsl',
      languageId: 'wgsl',
      version: 2,
      text: 'fn f() { let x: i32 = 1.5; }',
    });
    assert.equal(await first, undefined, 'the stale run resolves with nothing');
    const outcome = await second;
    assert.equal(outcome?.diagnostics.length, 1);
    assert.deepEqual(
      published.map((p) => p.version),
      [2],
    );
  } finally {
    svc.dispose();
  }
});

test('10,000 errors are capped at 1,000 plus one that says how many more there were', async () => {
  const body = '\tfoo.s32 %r1, %r2, %r3;\n'.repeat(10_000);
  const outcome = await validators.validate(
    'ptx',
    `.version 8.0\n.target sm_80\n.visible .entry k()\n{\n.reg .b32 %r<4>;\n${body}ret;\n}\n`,
    { parserOnly: true },
  );
  assert.equal(outcome.diagnostics.length, 1001);
  assert.match(outcome.diagnostics[1000]?.message ?? '', /^9000 more diagnostics \(9000 errors\) not shown/);
});

test('a file over the size limit is skipped with the reason, for every language', async () => {
  for (const language of ['wgsl', 'ptx', 'msl'] as const) {
    const started = performance.now();
    const outcome = await new ValidatorSet({ logger, limits: { wgsl: 1 << 20, ptx: 1 << 20, msl: 1 << 20 } }).validate(
      language,
      hugeSource(language, 10),
    );
    assert.ok(performance.now() - started < 2000, language);
    assert.match(outcome.skipped ?? '', /more than the 1\.0 M characters that .* files are validated up to/, language);
    assert.equal(outcome.unchecked, true);
    // The editor shows it where diagnostics are read: an information at the top of the file.
    assert.deepEqual(
      outcome.diagnostics.map((d) => [d.severity, d.code, d.range.start.line, d.range.start.character, d.fileLevel]),
      [['information', 'not-validated', 0, 0, true]],
      language,
    );
    assert.match(
      outcome.diagnostics[0]?.message ?? '',
      /^This file was not validated: the file has 10\.0 M characters/,
    );
  }
});

test('a Metal file whose parse ran out of time is not validated, and says so in an information diagnostic', async () => {
  const outcome = await validators.validate('msl', hugeSource('msl', 3), { parseBudgetMs: 50 });
  assert.equal(outcome.unchecked, true);
  assert.deepEqual(
    outcome.diagnostics.map((d) => [d.severity, d.code]),
    [['information', 'not-validated']],
  );
  assert.match(
    outcome.diagnostics[0]?.message ?? '',
    /^This file was not validated: the MSL parser stopped after 50 ms/,
  );
  // A cancelled run says nothing: its result is dropped anyway.
  const controller = new AbortController();
  controller.abort();
  const cancelled = await validators.validate('wgsl', 'fn f() {}', { signal: controller.signal });
  assert.deepEqual(cancelled.diagnostics, []);
});

test('random bytes in every language: diagnostics or a reason, never a throw', async () => {
  for (const language of ['wgsl', 'ptx', 'msl'] as const) {
    for (let i = 0; i < 3; i++) {
      const outcome = await validators.validate(language, randomText(2048), { parserOnly: true });
      assert.ok(outcome.diagnostics.length > 0 || outcome.skipped !== undefined, language);
    }
  }
});

test('a validator that throws becomes a logged skip, and the service keeps going', async () => {
  const published: ValidationOutcome[] = [];
  const svc = new ValidationService({
    logger,
    validators,
    debounceMs: 0,
    // A device whose capability cannot be read: it throws inside the PTX validator.
    contextFor: () => ({
      parserOnly: true,
      devices: [
        {
          name: 'broken',
          get computeCapability(): string {
            throw new Error('settings exploded');
          },
        },
      ],
    }),
    publish: (_uri, _version, outcome) => published.push(outcome),
  });
  try {
    const outcome = await svc.validate({
      uri: 'file:///b.ptx',
      languageId: 'ptx',
      version: 1,
      text: readFileSync(fixture('validation', 'ptx', 'abi_counter.ptx'), 'utf8'),
    });
    assert.match(outcome?.skipped ?? '', /internal error in the PTX validator: settings exploded/);
    assert.ok(logged.some((line) => line.startsWith('error the PTX validator failed')));
    const next = await svc.validate({
      uri: 'file:///c.metal',
      languageId: 'msl',
      version: 1,
      text: 'kernel int k() { return 0; }',
    });
    assert.equal(next?.diagnostics[0]?.code, 'kernel-return-type');
  } finally {
    svc.dispose();
  }
});

test('documents in other languages are ignored, and closing a document stops its pending work', async () => {
  const published: { uri: string; version: number; outcome: ValidationOutcome }[] = [];
  const svc = service(published, 20);
  try {
    svc.schedule({ uri: 'file:///x.cpp', languageId: 'cpp', version: 1, text: 'int main() {}' });
    svc.schedule({ uri: 'file:///y.ptx', languageId: 'ptx', version: 1, text: '.version 8.0\n' });
    svc.close('file:///y.ptx');
    svc.validateSoon({ uri: 'file:///z.ptx', languageId: 'ptx', version: 3, text: '.version 8.0\n.target sm_80\n' });
    await pollUntil('z published', () => (published.some((p) => p.uri === 'file:///z.ptx') ? true : undefined));
    assert.deepEqual(
      published.map((p) => p.uri),
      ['file:///z.ptx'],
    );
  } finally {
    svc.dispose();
  }
});

test('a missing compiler is logged once per document with the reason, not on every save', async () => {
  const svc = new ValidationService({
    logger,
    validators,
    debounceMs: 0,
    contextFor: () => ({ env: { PATH: '' } }),
    publish: () => undefined,
  });
  try {
    const before = logged.length;
    for (let version = 1; version <= 3; version++) {
      const outcome = await svc.validate({
        uri: 'file:///d.ptx',
        languageId: 'ptx',
        version,
        text: '.version 8.0\n.target sm_80\n',
      });
      assert.match(outcome?.skipped ?? '', /ptxas not found/);
    }
    const said = logged.slice(before).filter((line) => line.startsWith('info ') && line.includes('ptxas not found'));
    assert.equal(said.length, 1, said.join('\n'));
  } finally {
    svc.dispose();
  }
});
