// ptxas found and run (or missing, hanging, lying), its log read without pinning unlocated lines
// to line 1, the JIT hook, the fallback to our parser, and the device warning.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import {
  chooseArch,
  findPtxas,
  parseAllowedArches,
  ptxasDeadlineMs,
  type PtxasTool,
} from '../../../server/src/validation/ptxas';
import { parsePtxasLog, ptxasLogToDiagnostics } from '../../../server/src/validation/ptxasLog';
import { validatePtx } from '../../../server/src/validation/ptxValidator';
import { fixture } from '../../support/repo';

const read = (name: string): string => readFileSync(fixture('validation', 'ptx', name), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'ringkernel-ptxas-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in ptxas: a shell script answering --version, then doing `body` for real runs. */
function fakePtxas(name: string, body: string): string {
  const dir = join(scratch, name, 'bin');
  const path = join(dir, 'ptxas');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Cuda compilation tools, release 99.1, V99.1.0"; exit 0; fi\nif [ "$1" = "--help" ]; then exit 0; fi\n${body}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

const ptxasOnPath = (process.env.PATH ?? '')
  .split(delimiter)
  .some((dir) => dir !== '' && existsSync(join(dir, 'ptxas')));
const skipReal = ptxasOnPath ? false : 'ptxas is not on PATH here (no CUDA toolkit)';

test('reads located, unlocated and continuation lines of a ptxas log', () => {
  const entries = parsePtxasLog(
    [
      "ptxas /tmp/x/input.ptx, line 20; error   : Not a name of any known instruction: 'madd'",
      "ptxas application ptx input, line 7; warning : Instruction 'vote' without '.sync' is deprecated",
      'ptxas fatal   : Ptx assembly aborted due to errors',
      'ptxas info    : 0 bytes gmem',
    ].join('\n'),
  );
  assert.deepEqual(entries, [
    { line: 20, kind: 'error', message: "Not a name of any known instruction: 'madd'" },
    { line: 7, kind: 'warning', message: "Instruction 'vote' without '.sync' is deprecated" },
    { kind: 'fatal', message: 'Ptx assembly aborted due to errors' },
    { kind: 'info', message: '0 bytes gmem' },
  ]);
});

test('unlocated log lines are never pinned to line 1', () => {
  const text = '// header\n.version 8.0\n.target sm_100\n.address_size 64\n';
  const located = ptxasLogToDiagnostics(
    "ptxas x, line 3; error   : bad thing 'sm_100'\nptxas fatal   : Ptx assembly aborted due to errors\nptxas fatal   : Out of memory",
    text,
    'ptxas 13.0',
  );
  assert.equal(located.length, 1, 'the abort notice is dropped when a located error exists');
  assert.deepEqual(located[0]?.range, { start: { line: 2, character: 8 }, end: { line: 2, character: 14 } });
  assert.deepEqual(
    located[0]?.related?.map((r) => r.message),
    ['ptxas fatal: Out of memory'],
  );

  const unlocated = ptxasLogToDiagnostics(
    'ptxas fatal   : SM version specified by .target is higher than default SM version assumed\nptxas fatal   : Ptx assembly aborted due to errors',
    text,
    'ptxas 13.0',
  );
  assert.equal(unlocated.length, 1);
  assert.equal(unlocated[0]?.fileLevel, true);
  // Anchored at the .target directive it is about, not at line 1.
  assert.deepEqual(unlocated[0]?.range, { start: { line: 2, character: 0 }, end: { line: 2, character: 14 } });
  assert.deepEqual(ptxasLogToDiagnostics('ptxas info    : Used 8 registers', text, 'ptxas'), []);
  // A quoted name anchors the message at the name's first appearance.
  const extern = ptxasLogToDiagnostics(
    "ptxas fatal   : Unresolved extern function 'helper'",
    `${text}.extern .func helper();\n`,
    'ptxas',
  );
  assert.deepEqual(
    extern.map((d) => [d.range, d.fileLevel]),
    [[{ start: { line: 4, character: 14 }, end: { line: 4, character: 20 } }, true]],
  );
});

test('reads the -arch values ptxas accepts from its --help', () => {
  const help =
    "--gpu-name <gpu name>   (-arch)\n        Allowed values for this option:  'compute_75','sm_100a','sm_75',\n        'sm_80','sm_90','sm_90a'.\n        Default value:  'sm_75'.\n";
  const arches = parseAllowedArches(help);
  assert.deepEqual(arches, ['sm_100a', 'sm_75', 'sm_80', 'sm_90', 'sm_90a']);
  const tool: PtxasTool = { path: 'ptxas', origin: 'PATH', source: 'ptxas', arches };
  assert.equal(chooseArch('sm_90a', tool), 'sm_90a');
  assert.equal(chooseArch('compute_80', tool), 'sm_80');
  assert.equal(chooseArch('sm_52', tool), 'sm_75', 'an old target assembles for the oldest arch this ptxas has');
  assert.equal(chooseArch('sm_90', tool, 'sm_100a'), 'sm_100a');
});

test('finds ptxas by the setting, then CUDA_HOME, then CUDA_PATH, then PATH, and says what it tried', async () => {
  const fromSetting = fakePtxas('setting', 'exit 0');
  const home = join(scratch, 'setting');
  const bySetting = await findPtxas({ explicitPath: fromSetting, env: { PATH: '' } });
  assert.ok(bySetting.found);
  assert.equal(bySetting.tool.origin, 'setting');
  assert.equal(bySetting.tool.source, 'ptxas 99.1');
  const byHome = await findPtxas({ env: { CUDA_HOME: home, PATH: '' } });
  assert.ok(byHome.found && byHome.tool.origin === 'CUDA_HOME');
  const byPath = await findPtxas({ env: { PATH: ['/nonexistent', join(home, 'bin')].join(delimiter) } });
  assert.ok(byPath.found && byPath.tool.origin === 'PATH');
  const missing = await findPtxas({ env: { CUDA_HOME: '/nowhere/cuda', PATH: '/nonexistent' } });
  assert.equal(missing.found, false);
  assert.match(
    missing.found ? '' : missing.reason,
    /ptxas not found \(tried CUDA_HOME: \/nowhere\/cuda\/bin\/ptxas, PATH\)/,
  );
  assert.match(missing.notes.join('\n'), /CUDA_HOME \(\/nowhere\/cuda\/bin\/ptxas\) is missing/);
});

test('an explicit ptxas that does not work is reported, and no other ptxas is used in its place', async () => {
  // A working ptxas on PATH that leaves a mark when it assembles: it must not be run.
  const mark = join(scratch, 'path-ptxas-ran');
  const onPath = fakePtxas('on-path', `touch ${mark}; exit 0`);
  const env = { PATH: join(onPath, '..') };
  const missing = await findPtxas({ explicitPath: '/nonexistent/ptxas', env });
  assert.equal(missing.found, false);
  assert.deepEqual(missing.found ? undefined : missing.explicit, {
    path: '/nonexistent/ptxas',
    problem: 'does not exist',
  });
  const broken = join(scratch, 'broken-ptxas');
  writeFileSync(broken, '#!/bin/sh\necho "not a ptxas" >&2\nexit 3\n');
  chmodSync(broken, 0o755);
  const notWorking = await findPtxas({ explicitPath: broken, env });
  assert.match(
    notWorking.found ? '' : notWorking.reason,
    /does not work: `.*broken-ptxas --version` exited with 3: not a ptxas/,
  );

  const result = await validatePtx(read('abi_counter.ptx'), { ptxasPath: '/nonexistent/ptxas', env });
  assert.equal(existsSync(mark), false, 'the ptxas on PATH was not used');
  assert.equal(result.validator, 'ringkernel-ptx');
  assert.deepEqual(
    result.diagnostics.map((d) => [d.severity, d.code, d.range.start.line, d.fileLevel]),
    [['warning', 'ptxas-path', 0, true]],
  );
  assert.match(
    result.diagnostics[0]?.message ?? '',
    /^ringkernel\.ptxas\.path is \/nonexistent\/ptxas, which does not exist: no ptxas checked this file\. Fix the setting/,
  );
});

test(
  'the real ptxas reports each known mistake on its line, with the token when the message quotes it',
  { skip: skipReal },
  async () => {
    const result = await validatePtx(read('errors.ptx'));
    assert.match(result.validator, /^ptxas \d+\.\d+$/);
    const lines = result.diagnostics.map(
      (d) => `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.character + 1} ${d.message}`,
    );
    assert.ok(lines.includes("20:2-6 Not a name of any known instruction: 'madd'"), lines.join('\n'));
    assert.ok(lines.includes("19:12-22 Unknown symbol '$L_missing'"), lines.join('\n'));
    assert.ok(lines.includes("21:11-14 Unknown symbol '%r5'"), lines.join('\n'));
    assert.ok(result.diagnostics.every((d) => d.source === result.validator && d.range.start.line >= 18));
    assert.ok(!lines.some((l) => l.startsWith('1:')), 'nothing pinned to line 1');
    // ptxas blames the line after a missing ';'; our parser's finding rides along as related information.
    const syntax = result.diagnostics.find((d) => d.message.includes('syntax error'));
    assert.equal(syntax?.range.start.line, 33);
    assert.deepEqual(
      syntax?.related?.map((r) => [r.range.start.line, r.range.start.character]),
      [[32, 16]],
    );
  },
);

test('the real ptxas finds no error in nvcc output and takes -arch from .target', { skip: skipReal }, async () => {
  const forms = await validatePtx(read('declaration_forms.ptx'));
  assert.deepEqual(forms.diagnostics, [], 'hand-written register ranges without % and the other declaration forms');
  for (const name of ['hopper_tma.sm_90a.ptx', 'reduction.sm_80.ptx']) {
    const result = await validatePtx(readFileSync(fixture('ptx', 'nvcc', name), 'utf8'));
    assert.deepEqual(
      result.diagnostics.filter((d) => d.severity === 'error'),
      [],
      name,
    );
    assert.ok(
      result.notes?.some((n) => n.includes(`-arch ${name.includes('90a') ? 'sm_90a' : 'sm_80'}`)),
      result.notes?.join('; '),
    );
  }
  const mismatch = await validatePtx(read('target_version.ptx'));
  assert.deepEqual(
    mismatch.diagnostics.map((d) => [d.range.start.line, d.message]),
    [[2, 'PTX .version 7.0 does not support .target sm_90a']],
  );
});

test('a ptxas that hangs is killed at the deadline, and the fallback to the parser is an information diagnostic', async () => {
  const hanging = fakePtxas('hanging', 'sleep 60');
  const started = performance.now();
  const result = await validatePtx(read('errors.ptx'), {
    ptxasPath: hanging,
    timeoutMs: 500,
    env: { PATH: '' },
    displayName: 'kernels/errors.ptx',
  });
  assert.ok(performance.now() - started < 5000, 'not waiting for the sleep');
  assert.equal(result.validator, 'ringkernel-ptx');
  assert.match(
    result.skipped ?? '',
    /did not finish within 50\d ms on kernels\/errors\.ptx .* and was killed\. Checked with RingKernel's own PTX parser instead\.$/,
  );
  const fallback = result.diagnostics.filter((d) => d.code === 'compiler-fallback');
  assert.deepEqual(
    fallback.map((d) => [d.severity, d.range.start.line, d.range.start.character, d.fileLevel]),
    [['information', 0, 0, true]],
  );
  assert.match(
    fallback[0]?.message ?? '',
    /did not finish within 50\d ms .*Checked with RingKernel's own PTX parser instead, which finds fewer problems than the compiler\.$/,
  );
  assert.equal(
    result.diagnostics.filter((d) => d.severity === 'error').length,
    8,
    "the parser's findings are all there",
  );
});

test('the ptxas deadline grows with the file: a big file that takes longer than a small one may is not cut off', async () => {
  assert.equal(ptxasDeadlineMs(0), 10_000);
  assert.ok(
    ptxasDeadlineMs(1_200_000) >= 30_000,
    'a 1.2 MB file gets at least 30 s (it takes up to 12 s on a loaded machine)',
  );
  assert.ok(ptxasDeadlineMs(4_000_000) > ptxasDeadlineMs(1_200_000));
  // A ptxas that takes 1 s, with a small-file deadline of 600 ms, on a 1.2 MB module: it finishes.
  const slow = fakePtxas('slow', 'sleep 1; exit 0');
  const kernel =
    '.visible .entry k{N}(.param .u64 p)\n{\n\t.reg .b32 %r<4>;\n\t.reg .b64 %rd<2>;\n\tld.param.u64 %rd1, [p];\n\tld.global.u32 %r1, [%rd1];\n\tadd.s32 %r2, %r1, 1;\n\tst.global.u32 [%rd1], %r2;\n\tret;\n}\n';
  let big = '.version 8.0\n.target sm_80\n.address_size 64\n';
  for (let i = 0; big.length < 1_200_000; i++) big += kernel.replace('{N}', String(i));
  const result = await validatePtx(big, { ptxasPath: slow, timeoutMs: 600, env: { PATH: '' } });
  assert.equal(result.skipped, undefined, result.skipped);
  assert.equal(result.validator, 'ptxas 99.1');
  assert.deepEqual(result.diagnostics, []);
});

test('a validation cancelled while ptxas runs stops it at once', async () => {
  const hanging = fakePtxas('hanging2', 'sleep 60');
  const controller = new AbortController();
  const pending = validatePtx(read('abi_counter.ptx'), {
    ptxasPath: hanging,
    timeoutMs: 30_000,
    signal: controller.signal,
    env: { PATH: '' },
  });
  setTimeout(() => controller.abort(), 100);
  const result = await pending;
  assert.equal(result.skipped, 'cancelled');
});

test('a missing ptxas falls back to the JIT hook, whose log is read the same way', async () => {
  const seen: string[] = [];
  const result = await validatePtx(read('errors.ptx'), {
    env: { PATH: '' },
    jitCompile: (ptx) => {
      seen.push(ptx);
      return Promise.resolve({
        errorLog:
          "ptxas application ptx input, line 20; error   : Not a name of any known instruction: 'madd'\nptxas fatal   : Ptx assembly aborted due to errors",
        infoLog: '',
      });
    },
  });
  assert.equal(seen.length, 1);
  assert.equal(result.validator, 'cuda-jit');
  assert.deepEqual(
    result.diagnostics.map((d) => [d.range.start.line, d.range.start.character, d.source]),
    [[19, 1, 'cuda-jit']],
  );
  assert.equal(result.skipped, undefined, 'the JIT is a real compiler');
  assert.match(result.notes?.join('\n') ?? '', /ptxas not found/);
});

test('with no compiler at all, our parser answers, and says why in one well-formed sentence', async () => {
  const result = await validatePtx(read('errors.ptx'), { env: { PATH: '' } });
  assert.equal(result.validator, 'ringkernel-ptx');
  assert.equal(result.diagnostics.length, 8, 'no fallback diagnostic: there is no compiler that failed');
  assert.equal(
    result.skipped,
    "ptxas not found (tried PATH). Install the CUDA toolkit, or set ringkernel.ptxas.path or CUDA_HOME. Checked with RingKernel's own PTX parser instead.",
  );
});

test('a ptxas that prints nonsense and fails is a skip with its output, then the parser answers', async () => {
  const liar = fakePtxas('liar', 'echo "segmentation fault (core dumped)" >&2; exit 139');
  const result = await validatePtx(read('abi_counter.ptx'), { ptxasPath: liar, env: { PATH: '' } });
  assert.equal(result.validator, 'ringkernel-ptx');
  assert.match(result.skipped ?? '', /exited with 139 and no message we could read: segmentation fault/);
  assert.deepEqual(
    result.diagnostics.map((d) => [d.severity, d.code]),
    [['information', 'compiler-fallback']],
  );
});

test("an empty .ptx is reported against the user's file, never a temporary path", { skip: skipReal }, async () => {
  const named = await validatePtx('', { displayName: 'kernels/empty.ptx' });
  assert.match(named.validator, /^ptxas /);
  assert.ok(named.diagnostics.length > 0);
  for (const d of named.diagnostics) {
    assert.doesNotMatch(d.message, /ringkernel-ptxas-|input\.ptx/, d.message);
    assert.equal(d.range.start.line, 0);
  }
  assert.match(named.diagnostics.map((d) => d.message).join('\n'), /kernels\/empty\.ptx/);
  const unnamed = await validatePtx('');
  assert.ok(
    unnamed.diagnostics.every((d) => !/ringkernel-ptxas-|input\.ptx/.test(d.message)),
    unnamed.diagnostics.map((d) => d.message).join('\n'),
  );
});

test('a .target newer than every device present is a warning naming the devices', async () => {
  const devices = [
    { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0' },
    { name: 'NVIDIA A100', computeCapability: [8, 0] as const },
  ];
  const result = await validatePtx(read('newer_target.ptx'), { parserOnly: true, devices });
  assert.equal(result.diagnostics.length, 1);
  const [warning] = result.diagnostics;
  assert.equal(warning?.severity, 'warning');
  assert.deepEqual(warning?.range, { start: { line: 2, character: 8 }, end: { line: 2, character: 14 } });
  assert.equal(
    warning?.message,
    '.target sm_100 is newer than every CUDA device present: NVIDIA H100 80GB HBM3 (sm_90), NVIDIA A100 (sm_80). ' +
      'The driver will refuse to load this module there; lower .target (and -arch) to one they support.',
  );
  const fine = await validatePtx(read('abi_counter.ptx'), { parserOnly: true, devices });
  assert.deepEqual(fine.diagnostics, []);
});
