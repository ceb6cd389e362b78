// Our PTX parser: clean on real nvcc output, exact positions on known mistakes, robust on junk.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { lexPtx } from '../../../server/src/validation/ptx/lexer';
import { parsePtx } from '../../../server/src/validation/ptx/parser';
import { checkPtxText } from '../../../server/src/validation/ptx/ptxParserCheck';
import { archRunsOn, minimumPtxVersion, parseArch } from '../../../server/src/validation/ptx/targets';
import { hugeSource, randomText } from '../../support/badInput';
import { fixture } from '../../support/repo';

const show = (text: string): string[] =>
  checkPtxText(text).diagnostics.map(
    (d) =>
      `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.character + 1} ${d.severity} ${d.message}`,
  );

test('every nvcc-generated PTX fixture (sm_80, sm_90, sm_90a, -G, -lineinfo) parses with no diagnostic', () => {
  const dir = fixture('ptx', 'nvcc');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ptx'));
  assert.ok(files.length >= 15, `found ${files.length} fixtures`);
  for (const file of files) {
    const result = checkPtxText(readFileSync(`${dir}/${file}`, 'utf8'));
    assert.deepEqual(
      result.diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`),
      [],
      file,
    );
    assert.ok(result.arch, `${file} has a .target`);
    assert.ok(result.module.functions.length > 0, `${file} has functions`);
  }
});

test('the other PTX in the repository parses clean too', () => {
  for (const path of [
    fixture('ptx', 'kernels.ptx'),
    fixture('kernels', 'abi_kernels.ptx'),
    fixture('validation', 'ptx', 'abi_counter.ptx'),
  ]) {
    assert.deepEqual(show(readFileSync(path, 'utf8')), [], path);
  }
});

test('known mistakes are reported at their exact line and column', () => {
  assert.deepEqual(show(readFileSync(fixture('validation', 'ptx', 'errors.ptx'), 'utf8')), [
    '19:12-22 error undefined label $L_missing: no label of that name in this function',
    "20:2-6 error unknown instruction 'madd': did you mean 'mad'?",
    '21:11-14 error register %r5 is outside its declaration %r<5> on line 12, which declares %r0 to %r4',
    "22:21-24 error 'mov' takes 2 operands, found 3",
    '23:25-28 error undeclared register %q1: declare it before this use, for example .reg .b32 %q1;',
    '25:1-8 error duplicate label $L_done (first defined on line 24)',
    '26:23-39 error undefined identifier undefined_symbol: no variable, parameter, function or label of that name',
    "33:17-17 error expected ';' at the end of this instruction (the next line starts with 'mov.u32')",
  ]);
});

test('.version and .target must agree, come first, and name a real architecture', () => {
  assert.deepEqual(show(readFileSync(fixture('validation', 'ptx', 'target_version.ptx'), 'utf8')), [
    '3:9-15 error .target sm_90a needs PTX ISA 8.0 or newer, but this module declares .version 7.0',
  ]);
  assert.deepEqual(show('.target sm_80\n.version 8.0\n'), [
    "2:1-9 error .version must be the first statement of the module (only comments may come before it); the module starts with '.target'",
  ]);
  assert.deepEqual(show('// no header\n.visible .entry k() { ret; }\n'), [
    '2:1-9 error missing .version: a PTX module must start with a .version directive, such as .version 8.0',
  ]);
  assert.deepEqual(show('.version 8.0\n.target sm_9x\n'), [
    "2:9-14 error unknown .target 'sm_9x': expected an architecture such as sm_90 or compute_90, or one of texmode_unified, texmode_independent, debug, map_f64_to_f32",
  ]);
  assert.deepEqual(show('.version 8.0\n.visible .entry k() { ret; }\n'), [
    '1:1-9 error missing .target: add one right after .version, such as .target sm_80',
  ]);
  assert.deepEqual(show('.version 7.8\n.target sm_90, texmode_independent\n.address_size 48\n'), [
    '3:15-17 error .address_size must be 32 or 64, not 48',
  ]);
});

test('unbalanced braces are reported at the brace that is never closed, or the one that closes nothing', () => {
  assert.deepEqual(show(readFileSync(fixture('validation', 'ptx', 'unclosed.ptx'), 'utf8')), [
    "6:1-2 error this '{' is never closed: .visible on line 10 comes first",
  ]);
  assert.deepEqual(show('.version 8.0\n.target sm_80\n.visible .entry k()\n{\n\tret;\n}\n}\n'), [
    "7:1-2 error this '}' closes nothing: there is no open '{' before it",
  ]);
  assert.deepEqual(show('.version 8.0\n.target sm_80\n.visible .entry k()\n{\n\tret;\n'), [
    "4:1-2 error this '{' is never closed: add '}' (the file ended first)",
  ]);
});

test('the lexer knows PTX tokens: hex floats, registers with components, predicates, vectors, modifiers with ::', () => {
  const { tokens, problems } = lexPtx(
    '@!%p1 cp.async.bulk.shared::cluster.global [%rd1+8], {%f1, 0f3F800000}, 0d3FF0000000000000, %tid.x, -1.5e3; // c',
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(
    tokens.map((t) => `${t.kind}:${t.text}`),
    [
      'punct:@',
      'punct:!',
      'word:%p1',
      'word:cp.async.bulk.shared::cluster.global',
      'punct:[',
      'word:%rd1',
      'punct:+',
      'number:8',
      'punct:]',
      'punct:,',
      'punct:{',
      'word:%f1',
      'punct:,',
      'number:0f3F800000',
      'punct:}',
      'punct:,',
      'number:0d3FF0000000000000',
      'punct:,',
      'word:%tid.x',
      'punct:,',
      'punct:-',
      'number:1.5e3',
      'punct:;',
    ],
  );
});

test('scoped declarations: a register declared in a nested block is not visible after it', () => {
  const text =
    '.version 8.0\n.target sm_80\n.visible .entry k()\n{\n\t{\n\t.reg .b32 t;\n\tmov.u32 t, 1;\n\t}\n\tmov.u32 t, 2;\n\tret;\n}\n';
  assert.deepEqual(show(text), [
    '9:10-11 error undefined identifier t: no variable, parameter, function or label of that name',
  ]);
});

test('the target table knows which PTX version each architecture needs and where code can run', () => {
  const sm90a = parseArch('sm_90a');
  assert.ok(sm90a);
  assert.equal(minimumPtxVersion(sm90a), 80);
  assert.equal(minimumPtxVersion(parseArch('sm_80') ?? sm90a), 70);
  assert.equal(minimumPtxVersion(parseArch('compute_89') ?? sm90a), 78);
  assert.equal(minimumPtxVersion(parseArch('sm_120f') ?? sm90a), 88);
  assert.equal(archRunsOn(sm90a, 90), true);
  assert.equal(archRunsOn(sm90a, 100), false);
  assert.equal(archRunsOn(parseArch('sm_80') ?? sm90a, 90), true);
  assert.equal(archRunsOn(parseArch('sm_100') ?? sm90a, 90), false);
  assert.equal(archRunsOn(parseArch('sm_100f') ?? sm90a, 103), true);
  assert.equal(archRunsOn(parseArch('sm_100f') ?? sm90a, 120), false);
});

test('random bytes, invalid UTF-8 and an empty file never throw', () => {
  assert.deepEqual(show(''), [
    '1:1-1 error missing .version: a PTX module must start with a .version directive, such as .version 8.0',
  ]);
  for (let i = 0; i < 20; i++) {
    const text = randomText(8192);
    const result = checkPtxText(text);
    assert.ok(result.diagnostics.length > 0);
    for (const d of result.diagnostics) assert.ok(d.range.start.line <= d.range.end.line);
  }
});

test('a 10 MB module is parsed in one pass, in well under the time a user would notice as a hang', () => {
  const text = `.version 8.0\n.target sm_80\n.visible .entry k()\n{\n.reg .b32 %r<4>;\n${hugeSource('ptx', 10)}ret;\n}\n`;
  const started = performance.now();
  const result = checkPtxText(text);
  const ms = performance.now() - started;
  assert.deepEqual(result.diagnostics, []);
  assert.ok(ms < 5000, `${ms.toFixed(0)} ms`);
  assert.equal(parsePtx(text).functions.length, 1);
});

test('10,000 errors are all found (the cap is applied when publishing)', () => {
  const body = '\tfoo.s32 %r1, %r2, %r3;\n'.repeat(10_000);
  const result = checkPtxText(
    `.version 8.0\n.target sm_80\n.visible .entry k()\n{\n.reg .b32 %r<4>;\n${body}ret;\n}\n`,
  );
  assert.equal(result.diagnostics.length, 10_000);
  assert.ok(result.diagnostics.every((d) => d.code === 'unknown-instruction'));
});

test('register ranges without % (temp<4>, input_<4>) and the other declaration forms of the PTX ISA parse clean', () => {
  assert.deepEqual(show(readFileSync(fixture('validation', 'ptx', 'declaration_forms.ptx'), 'utf8')), []);
});

test('a name past its %-less register range is reported against the range, as for %r<N>', () => {
  const text =
    '.version 8.0\n.target sm_80\n.visible .entry k()\n{\n\t.reg .f32 temp<4>;\n\tmov.f32 temp4, temp0;\n\tret;\n}\n';
  assert.deepEqual(show(text), [
    '6:10-15 error register temp4 is outside its declaration temp<4> on line 5, which declares temp0 to temp3',
  ]);
  // A label that happens to look like a range member is still a label.
  const label =
    '.version 8.0\n.target sm_80\n.visible .entry k()\n{\n\t.reg .b64 temp<2>;\n\tmov.u64 temp0, temp7;\ntemp7:\n\tret;\n}\n';
  assert.deepEqual(show(label), []);
});

test('a character PTX has no use for is named plainly in the message', () => {
  const text =
    '.version 8.0\n.target sm_80\n.visible .entry k()\n{\n\t.reg .f32 %f<2>;\n\tmov.f32 %f1, §;\n\tret;\n}\n§\n';
  const messages = show(text);
  assert.deepEqual(messages, [
    "6:15-16 error unexpected '§' (a character PTX has no use for) in an operand",
    "9:1-2 error unexpected '§' (a character PTX has no use for) at module scope: expected a directive such as .version, .target, .entry, .func or a variable declaration",
  ]);
  assert.ok(messages.every((m) => !m.includes('unexpected the')));
});

// Found by fuzzing (test/fuzz/validators): 10,000 nested '{' exhausted the parser's stack, and the
// file showed only "internal error in the PTX validator".
test('blocks nested past the limit are reported once and skipped, without exhausting the stack', () => {
  for (const [depth, closed] of [
    [10_000, true],
    [10_000, false],
    [300, true],
  ] as const) {
    const text = `.version 8.0\n.target sm_80\n.address_size 64\n.visible .entry main()\n${'{'.repeat(depth)}\nret;\n${closed ? '}'.repeat(depth) : ''}\n`;
    const { diagnostics } = checkPtxText(text);
    assert.equal(
      diagnostics.filter((d) => d.code === 'nesting-too-deep').length,
      1,
      `${depth} ${closed ? 'closed' : 'open'}`,
    );
    assert.match(
      diagnostics.find((d) => d.code === 'nesting-too-deep')?.message ?? '',
      /blocks nested more than 256 deep/,
    );
  }
  const shallow = `.version 8.0\n.target sm_80\n.address_size 64\n.visible .entry main()\n${'{'.repeat(200)}\nret;\n${'}'.repeat(200)}\n`;
  assert.deepEqual(
    checkPtxText(shallow).diagnostics.map((d) => d.message),
    [],
  );
});
