// `ringkernel check` as CI runs it (the real CLI in a child process): valid kernels of every kind
// pass, files that were not checked fail, an explicit ptxas that does not work is refused, PTX
// files are assembled in parallel, and every diagnostic is one parseable line with its details
// indented under it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { hugeSource } from '../../support/badInput';
import { fixture, repoRoot } from '../../support/repo';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin', 'ringkernel.js');
const scratch = mkdtempSync(join(tmpdir(), 'ringkernel-check-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function check(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'check', ...args], {
      timeout: 120_000,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const realPtxas = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '')
  .map((dir) => join(dir, 'ptxas'))
  .find((path) => existsSync(path));
const skipNoPtxas = realPtxas ? false : 'ptxas is not on PATH here (no CUDA toolkit)';
/** A PATH with nothing on it, so no ptxas is found unless named (the CLI starts node by its own path). */
const pathWithoutPtxas = mkdtempSync(join(tmpdir(), 'ringkernel-empty-path-'));
after(() => rmSync(pathWithoutPtxas, { recursive: true, force: true }));

/** Every diagnostic line starts `file:line:col: severity:`; everything else under it is indented. */
function assertParseable(stdout: string): void {
  for (const line of stdout.split('\n').filter((l) => l !== '')) {
    assert.ok(
      /^\S.*:\d+:\d+: (error|warning|note): /.test(line) || line.startsWith('    '),
      `not a diagnostic line nor indented: ${line}`,
    );
  }
}

test('valid kernels of every kind report no error: f16/subgroups/clip-distance WGSL, hand-written PTX, cross-compiled MSL', async () => {
  const valid = [
    ...['boids.wgsl', 'reduction.wgsl', 'f16_softmax.wgsl', 'subgroup_histogram.wgsl', 'clip_and_pick.wgsl'].map((f) =>
      fixture('validation', 'wgsl', f),
    ),
    ...['abi_counter.ptx', 'declaration_forms.ptx'].map((f) => fixture('validation', 'ptx', f)),
    ...readdirSync(fixture('ptx', 'nvcc'))
      .filter((f) => f.endsWith('.ptx'))
      .slice(0, 4)
      .map((f) => fixture('ptx', 'nvcc', f)),
    ...['cross_compiled.metal', 'reduction.metal', 'render.metal'].map((f) => fixture('validation', 'msl', f)),
  ];
  const result = await check(valid);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(result.stdout.split('\n').filter((l) => /: error: /.test(l)).length, 0, result.stdout);
  assert.match(result.stderr, new RegExp(`^${valid.length} file\\(s\\) checked: 0 error\\(s\\)`, 'm'));
});

test('a file that was not checked is an error at 1:1 saying why, unless --allow-unchecked', async () => {
  const big = join(scratch, 'huge.wgsl');
  writeFileSync(big, hugeSource('wgsl', 5));
  const strict = await check([big]);
  assert.equal(strict.code, 1);
  assert.match(
    strict.stdout,
    new RegExp(
      `^${big.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: error: This file was not validated: the file has 5\\.0 M characters, more than the 1\\.0 M characters that WGSL files are validated up to\\. \\(--allow-unchecked accepts files that could not be checked\\) \\[tint\\]$`,
      'm',
    ),
  );
  assert.match(strict.stderr, /0 file\(s\) checked, 1 not checked: 1 error\(s\)/);
  const allowed = await check([big, '--allow-unchecked']);
  assert.equal(allowed.code, 0);
  assert.match(allowed.stdout, /huge\.wgsl:1:1: note: This file was not validated/);
  const json = JSON.parse((await check([big, '--json'])).stdout) as {
    outcome: { unchecked?: true; diagnostics: { severity: string; code?: string }[] };
  }[];
  assert.equal(json[0]?.outcome.unchecked, true);
  assert.deepEqual(
    json[0]?.outcome.diagnostics.map((d) => [d.severity, d.code]),
    [['error', 'not-validated']],
  );
});

test('an explicit --ptxas that does not work is a command-line error, and no other ptxas is used in its place', async () => {
  const result = await check(['--ptxas', '/nonexistent/ptxas', fixture('validation', 'ptx', 'abi_counter.ptx')]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(
    result.stderr,
    /^ringkernel check: --ptxas \/nonexistent\/ptxas does not exist\. Give the path of a working ptxas/,
  );
  const notPtxas = join(scratch, 'not-ptxas');
  writeFileSync(notPtxas, '#!/bin/sh\nexit 1\n');
  chmodSync(notPtxas, 0o755);
  const broken = await check(['--ptxas', notPtxas, fixture('validation', 'ptx', 'abi_counter.ptx')]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /does not work: `.*not-ptxas --version` exited with 1/);
});

test('PTX files are assembled in parallel: --jobs N runs N ptxas at once', { skip: skipNoPtxas }, async () => {
  // A ptxas that registers itself as running; the first two to start wait (up to 20 s, a failsafe
  // only) until another one runs too, then assemble for real. Run one at a time, the first would
  // wait out the 20 s alone and log it. Only the first two wait, so the test does not depend on
  // how the later ones happen to overlap on a loaded machine.
  const state = join(scratch, 'parallel');
  mkdirSync(state, { recursive: true });
  const wrapper = join(scratch, 'ptxas-wrapper');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      `case "$1" in --version|--help) exec "${realPtxas ?? ''}" "$@";; esac`,
      `mkdir "${state}/running.$$"`,
      `touch "${state}/started.$$"`,
      `if [ "$(ls "${state}"/started.* | wc -l)" -le 2 ]; then`,
      '  i=0',
      `  while [ "$(ls -d "${state}"/running.* | wc -l)" -lt 2 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done`,
      `  if [ $i -ge 200 ]; then echo alone >> "${state}/log"; else echo together >> "${state}/log"; fi`,
      'fi',
      `"${realPtxas ?? ''}" "$@"; code=$?`,
      `rmdir "${state}/running.$$"`,
      'exit $code',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  const files = readdirSync(fixture('ptx', 'nvcc'))
    .filter((f) => f.endsWith('.ptx'))
    .slice(0, 4)
    .map((f) => fixture('ptx', 'nvcc', f));
  const result = await check(['--jobs', '2', '--ptxas', wrapper, ...files]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  // The first two ran at the same time; every file was assembled (the command passed).
  assert.deepEqual(readFileSync(join(state, 'log'), 'utf8').trim().split('\n'), ['together', 'together']);
  const badJobs = await check(['--jobs', '0', files[0] ?? '']);
  assert.equal(badJobs.code, 2);
  assert.match(badJobs.stderr, /--jobs needs a whole number/);
});

test('a multi-line compiler message is one diagnostic line with its details indented; --verbose shows them all', async () => {
  const file = join(scratch, 'sample.wgsl');
  writeFileSync(
    file,
    '@group(0) @binding(0) var t: texture_2d<f32>;\n@group(0) @binding(1) var s: sampler;\n@fragment fn fs() -> @location(0) vec4f {\n  return textureSample(t, s, 1.0);\n}\n',
  );
  const short = await check([file]);
  assert.equal(short.code, 1);
  assertParseable(short.stdout);
  const lines = short.stdout.trimEnd().split('\n');
  assert.match(
    lines[0] ?? '',
    /sample\.wgsl:4:10: error: no matching call to 'textureSample\(texture_2d<f32>, sampler, abstract-float\)' \[tint\]$/,
  );
  assert.match(lines[1] ?? '', /^ {4}\d+ candidate functions:$/);
  assert.match(lines[lines.length - 1] ?? '', /^ {4}… \d+ more \(--verbose shows them\)$/);
  const verbose = await check([file, '--verbose']);
  assertParseable(verbose.stdout);
  const candidates = Number(/(\d+) candidate functions/.exec(verbose.stdout)?.[1] ?? NaN);
  assert.equal(
    verbose.stdout
      .trimEnd()
      .split('\n')
      .filter((l) => l.startsWith('    • ')).length,
    candidates,
  );
  const multiline = await check([fixture('validation', 'wgsl', 'multiline.wgsl')]);
  assertParseable(multiline.stdout);
});

test(
  'an empty .ptx is reported against the file the user named, never a temporary path',
  { skip: skipNoPtxas },
  async () => {
    const empty = join(scratch, 'empty.ptx');
    writeFileSync(empty, '');
    const result = await check([empty]);
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stdout + result.stderr, /ringkernel-ptxas-|input\.ptx/);
    assert.match(
      result.stdout,
      /empty\.ptx:1:1: error: Missing \.version directive at start of file '.*empty\.ptx' \[ptxas/,
    );
  },
);

test('without ptxas the note on stderr is one well-formed sentence', async () => {
  const result = await check([fixture('validation', 'ptx', 'abi_counter.ptx')], { PATH: pathWithoutPtxas });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /ptxas not found \(tried PATH\)\. Install the CUDA toolkit, or set ringkernel\.ptxas\.path or CUDA_HOME\. Checked with RingKernel's own PTX parser instead\./,
  );
  assert.doesNotMatch(result.stderr, /\.\./);
});
