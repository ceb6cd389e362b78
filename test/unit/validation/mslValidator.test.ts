// MSL without a Metal compiler: the pre-pass keeps every position, tree-sitter's C++ grammar finds
// syntax errors, and the entry-signature checks find what C++ cannot.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LineIndex } from '../../../server/src/validation/diagnostic';
import { cppParser } from '../../../server/src/validation/msl/cppParser';
import { parseClangLog } from '../../../server/src/validation/msl/metalCompiler';
import { functionFollows, mslPrepass } from '../../../server/src/validation/msl/mslPrepass';
import { syntaxDiagnostics } from '../../../server/src/validation/msl/mslSyntax';
import { validateMslWithParser } from '../../../server/src/validation/msl/mslValidator';
import { hugeSource, randomText } from '../../support/badInput';
import { fixture } from '../../support/repo';

const read = (name: string): string => readFileSync(fixture('validation', 'msl', name), 'utf8');

test('the pre-pass blanks MSL-only words with spaces of the same length, and nothing else', () => {
  const source = [
    'kernel void k(device float* a [[buffer(0)]], constant uint& n [[buffer(1)]],',
    '              threadgroup float* t [[threadgroup(0)]]) { float vertex = a.device; }',
    'vertex VertexOut vs(uint id [[vertex_id]]) { return {}; } // kernel void in a comment',
  ].join('\n');
  const { text, stages, addressSpaces } = mslPrepass(source);
  assert.equal(text.length, source.length);
  assert.deepEqual(text.split('\n'), [
    '       void k(       float* a [[buffer(0)]],          uint& n [[buffer(1)]],',
    '                          float* t [[threadgroup(0)]]) { float vertex = a.device; }',
    '       VertexOut vs(uint id [[vertex_id]]) { return {}; } // kernel void in a comment',
  ]);
  assert.deepEqual(
    stages.map((s) => s.word),
    ['kernel', 'vertex'],
  );
  assert.deepEqual(
    addressSpaces.map((s) => s.word),
    ['device', 'constant', 'threadgroup'],
  );
});

test('valid real-world MSL (compute, image, render, templates) produces no diagnostics', async () => {
  const broken = new Set(['errors.metal', 'cascade.metal']);
  const files = readdirSync(fixture('validation', 'msl')).filter((f) => f.endsWith('.metal') && !broken.has(f));
  assert.ok(files.length >= 5 && files.includes('cross_compiled.metal'));
  for (const file of files) {
    const result = await validateMslWithParser(read(file));
    assert.equal(result.skipped, undefined);
    assert.deepEqual(
      result.diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`),
      [],
      file,
    );
  }
  const example = await validateMslWithParser(
    readFileSync(fixture('..', '..', 'examples', 'kernels', 'saxpy.metal'), 'utf8'),
  );
  assert.deepEqual(example.diagnostics, []);
});

test('syntax errors and signature mistakes are reported at their exact line and column', async () => {
  const result = await validateMslWithParser(read('errors.metal'));
  assert.equal(result.validator, 'ringkernel-msl');
  const shown = result.diagnostics
    .sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character)
    .map(
      (d) =>
        `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1} ${d.code ?? ''} ${d.message}`,
    );
  assert.deepEqual(shown, [
    "5:8-5:13 kernel-return-type kernel function 'bad_return' must return void, not 'float'",
    "12:49-12:58 duplicate-index [[buffer(0)]] is already used by parameter 'a' on line 11: each buffer index may appear once in 'duplicate_indices'",
    "14:53-14:63 duplicate-index [[texture(1)]] is already used by parameter 't0' on line 13: each texture index may appear once in 'duplicate_indices'",
    "15:31-15:36 missing-address-space parameter 'raw' of kernel function 'duplicate_indices' is a pointer without an address space: write device, constant, threadgroup or thread before its type",
    "21:22-21:23 syntax syntax error: unexpected ';'",
    "26:15-26:19 missing-semicolon syntax error: expected ';' after '1.0f' at the end of line 26",
  ]);
});

test("the C++ grammar's gaps are bridged: a statement macro without ';', an assignment in a comma expression, short(...) in a braced list", async () => {
  // Each form alone, so a failure names the one that regressed.
  const forms = [
    '#define ASSUME(x) __builtin_assume(x);\nkernel void k(device uint* a [[buffer(0)]], uint i [[thread_position_in_grid]]) {\n  ASSUME(i < 1024)\n  a[i] = 1;\n}\n',
    'fragment float4 fs(float4 p [[position]]) {\n  bool h = false;\n  !h ? (h = true, discard_fragment()) : (void)0;\n  return p;\n}\n',
    'kernel void k(device short* o [[buffer(0)]]) {\n  auto t = T{ A<short, 2>({ short(1), short(2) }), A<short, 2>({ short(3), short(-4) }) };\n  o[0] = t.a[0];\n}\n',
  ];
  for (const form of forms)
    assert.deepEqual(
      (await validateMslWithParser(form)).diagnostics.map((d) => d.message),
      [],
      form,
    );
  // The rewrites keep positions and do not hide real mistakes next to them; messages quote the user's text.
  const broken = await validateMslWithParser(
    'kernel void k(device short* o [[buffer(0)]]) {\n  auto t = A<short, 2>({ short(1) short(2) });\n  x = (h = , f());\n}\n',
  );
  assert.deepEqual(
    broken.diagnostics.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`),
    ["2:26 syntax error: unexpected 'short(1)'", "3:10 syntax error: unexpected '='"],
  );
});

test('an error cascade is reported by its first error only, and the rest of the file is still checked', async () => {
  const result = await validateMslWithParser(read('cascade.metal'));
  assert.deepEqual(
    result.diagnostics.map(
      (d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.code ?? ''} ${d.message}`,
    ),
    [
      "7:57 syntax syntax error: unexpected ']'",
      "16:25 missing-semicolon syntax error: expected ';' after '2.0f' at the end of line 16",
    ],
  );
});

test('clang-style Metal compiler output is read with UTF-8 columns, notes attached', () => {
  const text = '// é\nkernel void k() {\n  int 😀 = x;\n}\n';
  const log = [
    "/tmp/ringkernel-metal-1/input.metal:3:14: error: use of undeclared identifier 'x'",
    '  int 😀 = x;',
    '             ^',
    '/tmp/ringkernel-metal-1/input.metal:2:13: note: in this function',
    'other.metal:1:1: error: not ours',
    '1 error generated.',
  ].join('\n');
  const diagnostics = parseClangLog(log, 'input.metal', text);
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0]?.message, "use of undeclared identifier 'x'");
  // Byte column 14 is the x after `  int 😀 = ` (the emoji is 4 bytes but 2 code units): character 11.
  assert.deepEqual(diagnostics[0]?.range, { start: { line: 2, character: 11 }, end: { line: 2, character: 12 } });
  assert.equal(diagnostics[0]?.related?.[0]?.message, 'in this function');
});

test('random bytes, an empty file and invalid UTF-8 never throw', async () => {
  assert.deepEqual((await validateMslWithParser('')).diagnostics, []);
  for (let i = 0; i < 10; i++) {
    const result = await validateMslWithParser(randomText(4096));
    assert.equal(result.skipped, undefined);
    assert.ok(result.diagnostics.length > 0);
  }
});

test('a file too large for the parse budget is skipped with the reason, quickly', async () => {
  const started = performance.now();
  const result = await validateMslWithParser(hugeSource('msl', 10), { parseBudgetMs: 300 });
  assert.ok(performance.now() - started < 3000);
  assert.match(result.skipped ?? '', /stopped after 300 ms/);
});

// Found by fuzzing (test/fuzz): a million '(' or '<' parse quickly into one node with a million
// children, and the walk for errors read them all, 8 s in the server's thread after a 2 s budget.
test('the walk for errors keeps to the budget too: pathological nesting is answered about on time, saying so', async () => {
  // A budget the parse itself keeps to (about 0.5 s here), so the walk is what runs long. (A
  // million '(' now stop at the nesting limit before the parse; ')' and '<' do not nest.)
  for (const text of [')'.repeat(1_000_000), '<'.repeat(1_000_000)]) {
    const started = performance.now();
    const result = await validateMslWithParser(text, { parseBudgetMs: 1500 });
    const ms = performance.now() - started;
    assert.ok(ms < 3500, `${JSON.stringify(text.slice(0, 3))}...: ${ms.toFixed(0)} ms for a 1500 ms budget`);
    // On a fast machine the walk may finish inside the budget; either way it is on time, and a walk
    // that ran out says so.
    if (result.skipped !== undefined) assert.match(result.skipped, /stopped after 1500 ms/);
    else assert.ok(ms < 1500 + 500, `finished without saying it stopped, but took ${ms.toFixed(0)} ms`);
    if (result.diagnostics.length === 0) assert.equal(result.unchecked, true, 'nothing found must not look clean');
  }
});

test('the walk for errors asks for time between nodes and stops at once when it runs out', async () => {
  const parser = await cppParser();
  const text = 'void f() { int x = ; }\n'.repeat(200);
  const tree = parser.parse(text);
  assert.ok(tree);
  try {
    const index = new LineIndex(text);
    assert.equal(syntaxDiagnostics(tree.rootNode, index).length, 200);
    let asked = 0;
    const found = syntaxDiagnostics(tree.rootNode, index, Infinity, () => ++asked > 50);
    assert.ok(found.length > 0 && found.length < 200, `${found.length} found`);
    assert.equal(asked, 51, 'it went on asking after the answer was yes');
  } finally {
    tree.delete();
  }
});

// Found by fuzzing (test/fuzz/validators): about 300 nested '(' inside a function overflowed
// tree-sitter's WebAssembly stack during the walk for errors ("memory access out of bounds"),
// and the corrupt instance then failed every later MSL file until the server restarted.
test('brackets nested past the limit are not parsed, saying so, and later files still validate', async () => {
  const deep = `kernel void k(device float* a [[buffer(0)]]) {\n  if (a[0] >= p${'('.repeat(1420)}${')'.repeat(1420)}arams) return;\n}\n`;
  const result = await validateMslWithParser(deep);
  assert.match(result.skipped ?? '', /nests brackets 1422 deep, more than the 100 the MSL parser reads; not validated/);
  assert.equal(result.unchecked, true);
  const clean = await validateMslWithParser(read('reduction.metal'));
  assert.equal(clean.skipped, undefined);
  assert.deepEqual(
    clean.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
});

test('a function after a stage word is recognised in its usual forms, and nothing else is', () => {
  const follows = (after: string): boolean => functionFollows(`kernel${after}`, 'kernel'.length);
  for (const form of [
    ' void k(',
    ' VertexOut vs(',
    ' half4 fs (',
    ' [[max_total_threads_per_threadgroup(64)]] void k(',
    ' metal::vec<float, 4> f(',
    ' vec<vec<float, 4>, 2> f(',
    ' void reduce<float>(',
    ' void reduce <float> (',
    ' const device float* f(',
    ' float & f(',
    ' void ns::f(',
    '\n  void\n  k\n  (',
  ])
    assert.equal(follows(form), true, JSON.stringify(form));
  for (const form of [
    '(',
    ' k(',
    'void k(',
    ' void k',
    ' void k;',
    ' * void k(',
    ' void * (',
    ' void k<int(',
    ' void k = f(',
    ' [[attr void k(',
    ` void ${'x'.repeat(400)}(`,
    ' float. f(',
  ])
    assert.equal(follows(form), false, JSON.stringify(form));
});

// Found by fuzzing (test/fuzz/validators, seed 20250601): a huge line pasted after `kernel voi`
// hung the server's thread for good. The pre-pass tested the text after each stage word with a
// regular expression whose nested repetition tried every split of a long word into pieces:
// 24 letters took 10 s, the 400 it looked at, for ever.
test('a stage word before a huge word is pre-passed at once (it hung the pre-pass)', async () => {
  const shapes = [
    `// A Metal tapace metal;\n\nkernel voikernel with a syn${'x1_'.repeat(150_000)}`,
    `kernel void ${'x'.repeat(400)}`,
    `vertex ${'a '.repeat(200)}`,
    `kernel void ${'a::'.repeat(130)}`,
    `kernel void f${'<'.repeat(300)}`,
    `kernel ${'[['.repeat(200)}`,
  ];
  for (const text of shapes) {
    const started = performance.now();
    mslPrepass(text);
    const ms = performance.now() - started;
    assert.ok(ms < 1000, `${JSON.stringify(text.slice(0, 40))}...: the pre-pass took ${ms.toFixed(0)} ms`);
  }
  const started = performance.now();
  const result = await validateMslWithParser(shapes[0] ?? '');
  const ms = performance.now() - started;
  assert.ok(ms < 5000, `validation took ${ms.toFixed(0)} ms for a 2000 ms budget`);
  if (result.diagnostics.length === 0) assert.equal(result.unchecked, true);
});

// Found while fixing the hang above: comments were taken out of a `#define` with a lazy regular
// expression that rescanned to the end for each '/*' that never closes (4 s for 120,000 characters).
test("a #define full of unclosed '/*' is pre-passed in linear time, and closed comments still go", async () => {
  const text = `#define X ${'/*a'.repeat(200_000)};\nkernel void k(device float* a [[buffer(0)]]) { X }\n`;
  const started = performance.now();
  mslPrepass(text);
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `the pre-pass took ${ms.toFixed(0)} ms`);
  // A statement macro with a closed comment in its body is still recognised: its use without ';' is blanked.
  const macro =
    '#define STEP(x) /* one step */ x = x + 1;\nkernel void k(device int* a [[buffer(0)]]) { int y = 0; STEP(y) }\n';
  const result = await validateMslWithParser(macro);
  assert.deepEqual(
    result.diagnostics.map((d) => d.message),
    [],
  );
});

// Found by fuzzing (test/fuzz/validators, seed 20250601, once the pre-pass no longer hung): 8,000
// nested `#if` (the tree as deep) made the signature checks quadratic in the depth, 150 s in the
// server's thread; while fixing it, 20,000 `else if`s or `-`s overflowed the JavaScript stack of
// the walk for errors, and 1,000 `-` before a missing operand tree-sitter's WebAssembly stack.
test('deep trees without deep brackets are answered on time, with a reason when not validated', async () => {
  const body = (statement: string): string => `kernel void k(device int* a [[buffer(0)]]) { ${statement} }\n`;
  const cases: [string, string, RegExp | undefined][] = [
    [
      '#if',
      `${'#if 1\n'.repeat(8000)}${body('a[0] = 1;')}${'#endif\n'.repeat(8000)}`,
      /nests #if 8000 deep, more than the 100/,
    ],
    ['#ifdef unclosed', `${'  #  ifdef X\n'.repeat(200)}${body('a[0] = 1;')}`, /nests #if 200 deep/],
    ['- before a missing operand', body(`a[0] = ${'-'.repeat(1000)};`), /1000 operators in a row, more than the 200/],
    ['! ! !', body(`a[0] = ${'! '.repeat(5000)}a[1];`), /5000 operators in a row/],
    ['else if', body(`${'if (a[0]) a[0] = 1; else '.repeat(20_000)} a[0] = 2`), /20000 `else` branches in one block/],
    // Below the limit the chain is parsed, walked and freed.
    ['else if, 150', body(`${'if (a[0]) a[0] = 1; else '.repeat(150)} a[0] = 2`), undefined],
  ];
  for (const [name, text, reason] of cases) {
    const started = performance.now();
    const result = await validateMslWithParser(text);
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `${name}: ${ms.toFixed(0)} ms for a 2000 ms budget`);
    if (reason !== undefined) {
      assert.match(result.skipped ?? '', reason, name);
      assert.equal(result.unchecked, true, name);
    } else if (result.diagnostics.length === 0)
      assert.equal(result.unchecked, true, `${name}: nothing found must not look clean`);
  }
  // Nesting real code has, and comment banners, are still validated.
  const banner = `// ${'-'.repeat(150)}\n/${'*'.repeat(300)}/\n`;
  const nested = `${'#if 1\n'.repeat(20)}${read('reduction.metal')}${'#endif\n'.repeat(20)}`;
  for (const text of [banner + read('reduction.metal'), nested]) {
    const result = await validateMslWithParser(text);
    assert.equal(result.skipped, undefined);
    assert.deepEqual(
      result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
      [],
    );
  }
});
