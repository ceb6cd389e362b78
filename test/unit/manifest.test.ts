// The workspace manifest: defaults, every problem at its place with a message that says what to
// do, the other kernels unharmed, no throw on any text, and the JSON schema in step with the parser.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  createProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  KERNEL_DEFAULTS,
  KERNEL_PROPERTIES,
  LIMITS,
  REQUIRED_KERNEL_PROPERTIES,
  TOP_LEVEL_PROPERTIES,
  loadManifest,
  parseManifest,
  problemRange,
  type Manifest,
  type ManifestProblem,
} from '../../server/src/manifest/manifest';
import { declaredEntryPoints } from '../../server/src/manifest/manifestEntryPoints';
import { VIEWS_PROPERTY } from '../../server/src/manifest/views';
import { wireManifestDiagnostics } from '../../server/src/lsp/manifestWiring';
import { repoRoot } from '../support/repo';

const ROOT = resolve('/ws');
const MANIFEST = join(ROOT, 'ringkernel.json');
const WGSL = `// @compute fn commented() {}
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
fn helper() {}
@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) { s[id.x] = 1.0; }
@compute @workgroup_size(1) fn init() {}
`;
const PTX = `.version 8.0
.target sm_80
.address_size 64
// .visible .entry commented(
.func (.param .b32 r) helper(.param .b32 a) { ret; }
.visible .entry wave(.param .u64 control, .param .u64 state) { ret; }
`;
const MSL = '#include <metal_stdlib>\n/* kernel void old() */\nkernel void blur(device float* s [[buffer(1)]]) {}\n';
const FILES: Record<string, string> = {
  [join(ROOT, 'kernels/heat.wgsl')]: WGSL,
  [join(ROOT, 'kernels/wave.ptx')]: PTX,
  [join(ROOT, 'kernels/blur.metal')]: MSL,
  [join(ROOT, 'kernels/notes.cu')]: '',
};
const readSource = (path: string): string | undefined => FILES[path];
const parse = (text: string): Manifest => parseManifest(text, MANIFEST, readSource);

const HEAT = { id: 'heat', source: 'kernels/heat.wgsl', entryPoint: 'step', stateBytes: 4096 };
const WAVE = { id: 'wave', source: 'kernels/wave.ptx', entryPoint: 'wave', stateBytes: 1024 };
/** A manifest in the usual layout (one property per line), so lines in messages are easy to check. */
const manifestText = (...kernels: unknown[]): string => JSON.stringify({ version: 1, kernels }, null, 2);

/** The one problem whose message matches, with the text it points at. */
function problem(manifest: Manifest, text: string, pattern: RegExp): ManifestProblem & { at: string } {
  const found = manifest.problems.filter((p) => pattern.test(p.message));
  assert.equal(
    found.length,
    1,
    `one problem matching ${String(pattern)}, got: ${JSON.stringify(manifest.problems, null, 1)}`,
  );
  const p = found[0] as ManifestProblem;
  return { ...p, at: text.slice(p.offset, p.offset + p.length) };
}

const ids = (manifest: Manifest): string[] => manifest.kernels.map((k) => k.id);

test('a valid manifest gives every kernel with its defaults applied and paths resolved', () => {
  const text = manifestText(HEAT, {
    ...WAVE,
    backend: 'cuda',
    device: 1,
    grid: [128, 2],
    block: 256,
    inboxCapacity: 0,
    outboxCapacity: 1024,
    rateHz: 0,
  });
  const manifest = parse(text);
  assert.deepEqual(manifest.problems, []);
  assert.equal(manifest.path, MANIFEST);
  assert.deepEqual(manifest.kernels, [
    {
      id: 'heat',
      source: join(ROOT, 'kernels/heat.wgsl'),
      language: 'wgsl',
      entryPoint: 'step',
      backend: 'auto',
      device: 'auto',
      stateBytes: 4096,
      grid: [1, 1, 1],
      block: [64, 1, 1],
      inboxCapacity: 16,
      outboxCapacity: 16,
      rateHz: 60,
    },
    {
      id: 'wave',
      source: join(ROOT, 'kernels/wave.ptx'),
      language: 'ptx',
      entryPoint: 'wave',
      backend: 'cuda',
      device: 1,
      stateBytes: 1024,
      grid: [128, 2, 1],
      block: [256, 1, 1],
      inboxCapacity: 0,
      outboxCapacity: 1024,
      rateHz: 0,
    },
  ]);
  const withSchema = parse(
    JSON.stringify({
      $schema: './media/schemas/ringkernel.schema.json',
      kernels: [{ ...HEAT, grid: 7, stateBytes: 4294967296 }],
    }),
  );
  assert.deepEqual(withSchema.problems, []);
  assert.deepEqual(withSchema.kernels[0]?.grid, [7, 1, 1]);
});

test('a missing source file names the resolved path; the other kernels still run', () => {
  const text = manifestText(HEAT, { ...WAVE, source: 'kernels/gone.ptx' });
  const manifest = parse(text);
  const p = problem(manifest, text, /source file not found/);
  assert.equal(p.at, '"kernels/gone.ptx"');
  assert.equal(p.severity, 'error');
  assert.equal(p.kind, 'semantic');
  assert.equal(p.kernelId, 'wave');
  assert.ok(p.message.startsWith('kernel "wave": '), p.message);
  assert.ok(p.message.includes(join(ROOT, 'kernels/gone.ptx')), p.message);
  assert.deepEqual(ids(manifest), ['heat']);
});

test("a duplicate id is an error on the second one, naming the first one's line", () => {
  const text = manifestText(HEAT, { ...WAVE, id: 'heat' }, WAVE);
  const manifest = parse(text);
  const p = problem(manifest, text, /already used/);
  assert.equal(p.at, '"heat"');
  assert.match(p.message, /id "heat" is already used by the kernel on line 5; ids must be unique/);
  assert.equal(text.split('\n')[4]?.trim(), '"id": "heat",');
  assert.ok(problemRange(text, p).start.line > 4);
  assert.deepEqual(ids(manifest), ['heat', 'wave']);
});

test('zero, huge and unaligned state sizes are errors that name the limit', () => {
  for (const [stateBytes, pattern, kind] of [
    [0, /"stateBytes" must be at least 4, one 32-bit word \(got 0\)/, 'schema'],
    [8 * 1024 ** 3, /"stateBytes" must be at most 4294967296 \(4 GiB\).*\(got 8589934592\)/, 'schema'],
    [
      10,
      /kernel "wave": stateBytes must be a multiple of 4 \(got 10\); the state is read and written as 32-bit words/,
      'semantic',
    ],
  ] as const) {
    const text = manifestText(HEAT, { ...WAVE, stateBytes });
    const manifest = parse(text);
    const p = problem(manifest, text, pattern);
    assert.equal(p.at, String(stateBytes));
    assert.equal(p.kind, kind);
    assert.deepEqual(ids(manifest), ['heat']);
  }
});

test('an entry point the source lacks is an error that lists the entry points it has', () => {
  const text = manifestText(
    { ...HEAT, entryPoint: 'main' },
    { ...HEAT, id: 'h2', entryPoint: 'helper' },
    { ...HEAT, id: 'h3', entryPoint: 'commented' },
    { ...WAVE, id: 'w2', entryPoint: 'helper' },
    WAVE,
  );
  const manifest = parse(text);
  const main = problem(manifest, text, /"main" not found/);
  assert.equal(main.at, '"main"');
  assert.match(
    main.message,
    /kernel "heat": entry point "main" not found in kernels\/heat\.wgsl: there is no @compute function named "main" \(its @compute functions: step, init\)/,
  );
  assert.match(
    problem(manifest, text, /"helper" not found in kernels\/heat/).message,
    /"helper" is a function without @compute/,
  );
  problem(manifest, text, /"commented" not found/);
  assert.match(
    problem(manifest, text, /"helper" not found in kernels\/wave/).message,
    /a \.func \(a device function\), not an \.entry \(its \.entrys: wave\)/,
  );
  assert.deepEqual(ids(manifest), ['wave']);
  // The editor still needs the broken ones: that is where validation shows them.
  assert.deepEqual(
    manifest.declared.map((k) => k.entryPoint),
    ['main', 'helper', 'commented', 'helper', 'wave'],
  );
});

test('a truncated manifest reports where it ends and keeps the complete kernels', () => {
  const full = manifestText(HEAT, WAVE);
  const text = full.slice(0, full.indexOf('"wave"') + 10);
  const manifest = parse(text);
  const p = problem(manifest, text, /the file ends before the JSON is complete/);
  assert.equal(p.offset, text.length);
  assert.equal(p.kind, 'schema');
  assert.deepEqual(ids(manifest), ['heat']);
  assert.deepEqual(
    parse('').problems.map((q) => q.message),
    [
      'JSON syntax error: the file ends before the JSON is complete: expected a value',
      'ringkernel.json is empty; it needs an object such as { "version": 1, "kernels": [ ... ] }',
    ],
  );
});

test('trailing commas and comments are errors at their place, and the values around them still count', () => {
  const text =
    '{\n  "kernels": [\n    { "id": "heat", "source": "kernels/heat.wgsl", "entryPoint": "step", "stateBytes": 4096, },\n    // the PTX one\n    { "id": "wave", "source": "kernels/wave.ptx", "entryPoint": "wave", "stateBytes": 1024 },\n  ]\n}\n';
  const manifest = parse(text);
  const commas = manifest.problems.filter((p) => /trailing comma/.test(p.message));
  assert.equal(commas.length, 2);
  assert.deepEqual(
    commas.map((p) => text.slice(p.offset, p.offset + p.length)),
    [',', ','],
  );
  const lines = text.split('\n');
  assert.deepEqual(
    commas.map((p) => problemRange(text, p).start),
    [
      { line: 2, character: lines[2]?.indexOf(', }') },
      { line: 4, character: lines[4]?.lastIndexOf(',') },
    ],
  );
  assert.equal(problem(manifest, text, /comments are not allowed/).at, '// the PTX one');
  assert.deepEqual(ids(manifest), ['heat', 'wave']);
});

test('broken JSON inside a kernel leaves that kernel out and keeps the rest', () => {
  const text = manifestText(HEAT, WAVE).replace('"entryPoint": "wave",', '"entryPoint": "wave"');
  const manifest = parse(text);
  const p = problem(manifest, text, /expected "," between the items/);
  assert.equal(p.kernelId, 'wave');
  assert.deepEqual(ids(manifest), ['heat']);
});

test('wrong types say what was expected and what was found', () => {
  const cases: [Record<string, unknown>, RegExp, string][] = [
    [{ stateBytes: '4096' }, /"stateBytes" must be an integer \(got "4096"\)/, '"4096"'],
    [{ stateBytes: 4096.5 }, /"stateBytes" must be an integer \(got 4096\.5\)/, '4096.5'],
    [{ grid: 'big' }, /"grid" must be an integer or an array of 1 to 3 integers \[x, y, z\] \(got "big"\)/, '"big"'],
    [
      { grid: [1, 2, 3, 4] },
      /"grid" must have 1 to 3 dimensions/,
      '[\n        1,\n        2,\n        3,\n        4\n      ]',
    ],
    [{ grid: [1, 70000] }, /"grid" y must be between 1 and 65535 \(got 70000\)/, '70000'],
    [{ block: [8, 8, 128] }, /"block" z must be between 1 and 64 \(got 128\)/, '128'],
    [{ backend: 3 }, /"backend" must be "auto", "webgpu" or "cuda" \(got 3\)/, '3'],
    [{ backend: 'vulkan' }, /"backend" must be "auto", "webgpu" or "cuda" \(got "vulkan"\)/, '"vulkan"'],
    [{ device: -1 }, /"device" must be "auto" or a device index/, '-1'],
    [{ device: 'gpu0' }, /"device" must be "auto" or a device index/, '"gpu0"'],
    [{ rateHz: 'fast' }, /"rateHz" must be a number \(got "fast"\)/, '"fast"'],
    [{ rateHz: 1e6 }, /"rateHz" must be between 0 and 100000 \(got 1000000\)/, '1000000'],
    [{ inboxCapacity: 70000 }, /"inboxCapacity" must be between 0 and 65536/, '70000'],
    [{ id: 7 }, /"id" must be a string \(got 7\)/, '7'],
    [{ id: '9lives' }, /"id" must start with a letter/, '"9lives"'],
    [{ entryPoint: '' }, /"entryPoint" must be a function name/, '""'],
    [{ source: 42 }, /"source" must be a path relative to ringkernel\.json \(got 42\)/, '42'],
    [
      { source: 'kernels/notes.cu' },
      /"source" must be a \.wgsl, \.ptx or \.metal file \(got "kernels\/notes\.cu"\)/,
      '"kernels/notes.cu"',
    ],
  ];
  for (const [change, pattern, at] of cases) {
    const text = manifestText(HEAT, { ...WAVE, ...change });
    const manifest = parse(text);
    const p = problem(manifest, text, pattern);
    assert.equal(p.at, at, String(pattern));
    assert.equal(p.severity, 'error');
    assert.deepEqual(ids(manifest), ['heat'], String(pattern));
  }
  const notObject = parse('[1]');
  assert.match(notObject.problems[0]?.message ?? '', /must be an object with a "kernels" array \(got an array\)/);
  const kernelNotObject = manifestText('heat', HEAT);
  assert.equal(problem(parse(kernelNotObject), kernelNotObject, /kernel #1 must be an object/).at, '"heat"');
  const noKernels = parse('{ "version": 1 }');
  assert.match(noKernels.problems[0]?.message ?? '', /has no "kernels" array/);
});

test("missing required properties are named, at the kernel's opening brace", () => {
  const text = manifestText(HEAT, { id: 'wave', source: 'kernels/wave.ptx' });
  const manifest = parse(text);
  assert.equal(problem(manifest, text, /missing required property "entryPoint"/).at, '{');
  assert.match(
    problem(manifest, text, /missing required property "stateBytes"/).message,
    /^kernel "wave": .*a multiple of 4/,
  );
  assert.deepEqual(ids(manifest), ['heat']);
});

test('unknown properties are warnings with a suggestion; the kernel still runs with its defaults', () => {
  const text = JSON.stringify({ version: 1, kernel: [], kernels: [{ ...HEAT, ratehz: 5, gird: [2] }] }, null, 2);
  const manifest = parse(text);
  const rate = problem(manifest, text, /"ratehz"/);
  assert.equal(rate.at, '"ratehz"');
  assert.equal(rate.severity, 'warning');
  assert.equal(rate.kind, 'schema');
  assert.match(rate.message, /kernel "heat": unknown property "ratehz" is ignored; did you mean "rateHz"\?/);
  assert.match(problem(manifest, text, /"gird"/).message, /did you mean "grid"\?/);
  assert.match(
    problem(manifest, text, /unknown property "kernel"/).message,
    /^ringkernel\.json: .*did you mean "kernels"\?/,
  );
  assert.deepEqual(ids(manifest), ['heat']);
  assert.equal(manifest.kernels[0]?.rateHz, 60);
});

test('a Metal kernel is checked but left out with a warning', () => {
  const text = manifestText(
    HEAT,
    { id: 'blur', source: 'kernels/blur.metal', entryPoint: 'blur', stateBytes: 64 },
    { id: 'old', source: 'kernels/blur.metal', entryPoint: 'old', stateBytes: 64 },
  );
  const manifest = parse(text);
  const warnings = manifest.problems.filter((p) =>
    /Metal kernels are validated but cannot run here: no Metal device/.test(p.message),
  );
  assert.deepEqual(
    warnings.map((p) => [p.severity, p.kernelId, text.slice(p.offset, p.offset + p.length)]),
    [
      ['warning', 'blur', '"kernels/blur.metal"'],
      ['warning', 'old', '"kernels/blur.metal"'],
    ],
  );
  assert.match(problem(manifest, text, /"old" not found/).message, /its kernel functions: blur/);
  assert.deepEqual(ids(manifest), ['heat']);
});

test('backends that cannot run the language, too many threads, and block on WGSL', () => {
  const text = manifestText(
    { ...HEAT, backend: 'cuda' },
    { ...WAVE, id: 'w1', backend: 'webgpu' },
    { ...WAVE, id: 'w2', block: [32, 32, 2] },
    { ...HEAT, id: 'h2', block: 128, grid: [70000] },
    WAVE,
  );
  const manifest = parse(text);
  const cuda = problem(manifest, text, /backend "cuda" cannot run WGSL/);
  assert.equal(cuda.at, '"cuda"');
  assert.match(cuda.message, /WGSL runs on "webgpu": set that or "auto"/);
  assert.equal(problem(manifest, text, /backend "webgpu" cannot run PTX/).kernelId, 'w1');
  const threads = problem(manifest, text, /threads per block/);
  assert.match(threads.message, /kernel "w2": block has 2048 threads \(32 x 32 x 2\); CUDA allows at most 1024/);
  const block = problem(manifest, text, /"block" is ignored for a WGSL kernel/);
  assert.equal(block.at, '"block"');
  assert.equal(block.severity, 'warning');
  assert.equal(problem(manifest, text, /WebGPU guarantees/).severity, 'warning');
  assert.deepEqual(ids(manifest), ['h2', 'wave']);
});

test('a version other than 1 is an error and no kernel of that manifest runs', () => {
  for (const version of [2, '1', 0]) {
    const text = JSON.stringify({ version, kernels: [HEAT, WAVE] });
    const manifest = parse(text);
    const p = problem(manifest, text, /"version" must be 1 \(got /);
    assert.equal(p.at, JSON.stringify(version));
    assert.equal(p.severity, 'error');
    assert.match(p.message, /no kernel of this manifest runs/);
    assert.deepEqual(ids(manifest), [], `version ${JSON.stringify(version)}`);
  }
  assert.deepEqual(ids(parse(JSON.stringify({ version: 1, kernels: [HEAT] }))), ['heat']);
  assert.deepEqual(ids(parse(JSON.stringify({ kernels: [HEAT] }))), ['heat'], 'no version is version 1');
});

test("a source outside the manifest's folder is an error naming where it leads, and is never read", () => {
  const base = mkdtempSync(join(tmpdir(), 'ringkernel-outside-'));
  const workspace = join(base, 'workspace');
  mkdirSync(join(workspace, 'kernels'), { recursive: true });
  writeFileSync(join(base, 'outside.wgsl'), WGSL);
  writeFileSync(join(workspace, 'kernels', 'heat.wgsl'), WGSL);
  symlinkSync(join(base, 'outside.wgsl'), join(workspace, 'kernels', 'leaves.wgsl'));
  symlinkSync(base, join(workspace, 'up'));
  symlinkSync(join(workspace, 'kernels', 'heat.wgsl'), join(workspace, 'stays.wgsl'));
  const read: string[] = [];
  const readSpy = (path: string): string | undefined => {
    read.push(path);
    return readFileSync(path, 'utf8');
  };
  const cases = [
    {
      id: 'up',
      source: '../outside.wgsl',
      leads: join(base, 'outside.wgsl'),
      says: /resolves to .*outside the workspace folder/,
    },
    {
      id: 'abs',
      source: join(base, 'outside.wgsl'),
      leads: join(base, 'outside.wgsl'),
      says: /must be a path relative to ringkernel\.json, not the absolute path/,
    },
    {
      id: 'link',
      source: 'kernels/leaves.wgsl',
      leads: realpathSync(join(base, 'outside.wgsl')),
      says: /leads through a symbolic link to .*outside the workspace folder/,
    },
    {
      id: 'dirlink',
      source: 'up/outside.wgsl',
      leads: realpathSync(join(base, 'outside.wgsl')),
      says: /leads through a symbolic link to/,
    },
  ];
  const text = manifestText(
    ...cases.map(({ id, source }) => ({ ...HEAT, id, source })),
    { ...HEAT, id: 'inside', source: 'stays.wgsl' },
    HEAT,
  );
  const manifest = parseManifest(text, join(workspace, 'ringkernel.json'), readSpy);
  for (const { id, source, leads, says } of cases) {
    const p = problem(manifest, text, new RegExp(`^kernel "${id}": `));
    assert.equal(p.at, JSON.stringify(source), id);
    assert.equal(p.severity, 'error', id);
    assert.match(p.message, says, id);
    assert.ok(p.message.includes(leads), `${id} names ${leads}: ${p.message}`);
  }
  // A link that stays inside is fine; only the two inside files were read.
  assert.deepEqual(ids(manifest), ['inside', 'heat']);
  assert.deepEqual(read.sort(), [join(workspace, 'kernels', 'heat.wgsl'), join(workspace, 'stays.wgsl')]);
  // The workspace may itself be reached through a link.
  symlinkSync(workspace, join(base, 'alias'));
  const throughAlias = parseManifest(manifestText(HEAT), join(base, 'alias', 'ringkernel.json'));
  assert.deepEqual(throughAlias.problems, []);
  assert.deepEqual(ids(throughAlias), ['heat']);
});

test('a manifest nested 100,000 deep is one clear error where the nesting limit is passed, not a stack overflow', () => {
  for (const [text, at] of [
    [`{"kernels": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, '{"kernels": '.length + LIMITS.nesting - 1],
    [
      `{"version": 1, "kernels": [{"id": "deep", "x": ${'{"a": '.repeat(100_000)}1${'}'.repeat(100_000)}}]}`,
      '{"version": 1, "kernels": [{"id": "deep", "x": '.length + '{"a": '.length * (LIMITS.nesting - 3),
    ],
    [`${'['.repeat(100_000)}`, LIMITS.nesting],
  ] as const) {
    const manifest = parse(text);
    assert.equal(manifest.problems.length, 1, JSON.stringify(manifest.problems.map((p) => p.message)));
    const [p] = manifest.problems;
    assert.match(
      p?.message ?? '',
      new RegExp(`nests objects and arrays more than ${LIMITS.nesting} deep here, so it was not read`),
    );
    assert.doesNotMatch(p?.message ?? '', /internal error/);
    assert.equal(p?.offset, at);
    assert.equal(p?.severity, 'error');
    assert.deepEqual(manifest.kernels, []);
  }
  // Nesting up to the limit reads as usual (the unknown property is only a warning).
  const deepest = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;
  const fits = parse(
    JSON.stringify({ kernels: [{ ...HEAT, notes: 'NEST' }] }).replace('"NEST"', deepest(LIMITS.nesting - 3)),
  );
  assert.deepEqual(
    fits.problems.map((p) => p.severity),
    ['warning'],
  );
  assert.deepEqual(ids(fits), ['heat']);
  const over = parse(
    JSON.stringify({ kernels: [{ ...HEAT, notes: 'NEST' }] }).replace('"NEST"', deepest(LIMITS.nesting - 2)),
  );
  assert.match(over.problems[0]?.message ?? '', /nests objects and arrays/);
});

test('past the limit on kernels, one error on the first kernel too many; the kernels before it still run', () => {
  const kernels = Array.from({ length: LIMITS.kernels + 5 }, (_, i) => ({ ...HEAT, id: `k${i}` }));
  const text = manifestText(...kernels);
  const manifest = parse(text);
  const p = problem(manifest, text, /kernels, more than the/);
  assert.equal(p.severity, 'error');
  assert.match(
    p.message,
    new RegExp(
      `declares ${LIMITS.kernels + 5} kernels, more than the ${LIMITS.kernels} one manifest may have: this kernel \\(#${LIMITS.kernels + 1}\\) and the 4 after it are left out`,
    ),
  );
  assert.ok(p.at.startsWith('{') && p.at.includes(`"k${LIMITS.kernels}"`), p.at.slice(0, 40));
  assert.equal(manifest.problems.length, 1);
  assert.equal(manifest.kernels.length, LIMITS.kernels);
  assert.equal(manifest.kernels.at(-1)?.id, `k${LIMITS.kernels - 1}`);
  assert.equal(manifest.declared.length, LIMITS.kernels);
  const exactly = parse(manifestText(...kernels.slice(0, LIMITS.kernels)));
  assert.deepEqual(exactly.problems, []);
});

test('problemRange counts UTF-16 code units and any line break', () => {
  const text = '{\r\n"a😀": 1,\r"x": 2}';
  const at = text.indexOf('"x"');
  assert.deepEqual(problemRange(text, { severity: 'error', kind: 'schema', message: '', offset: at, length: 3 }), {
    start: { line: 2, character: 0 },
    end: { line: 2, character: 3 },
  });
  const emoji = text.indexOf(':');
  assert.deepEqual(
    problemRange(text, { severity: 'error', kind: 'schema', message: '', offset: emoji, length: 1 }).start,
    { line: 1, character: 5 },
  );
});

test('parseManifest never throws, on truncations, mutations and noise', () => {
  const valid = manifestText(
    HEAT,
    { ...WAVE, grid: [4, 2], block: [16, 4], backend: 'cuda', device: 0, rateHz: 30.5 },
    { id: 'blur', source: 'kernels/blur.metal', entryPoint: 'blur', stateBytes: 64 },
  );
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pieces = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '\\',
    '/*',
    '//',
    'null',
    '-1',
    '1e999',
    '0.5',
    '"auto"',
    '\uFEFF',
    '\u2028',
    '\ud800',
    ' ',
    '\n',
    '"kernels"',
    '"id"',
    'true',
  ];
  for (let i = 0; i < 2000; i++) {
    let text: string;
    switch (i % 4) {
      case 0:
        text = valid.slice(0, random(valid.length + 1));
        break;
      case 1: {
        const at = random(valid.length);
        text = valid.slice(0, at) + (pieces[random(pieces.length)] ?? '') + valid.slice(at + random(4));
        break;
      }
      case 2: {
        const a = random(valid.length);
        const b = random(valid.length);
        text = valid.slice(0, Math.min(a, b)) + valid.slice(Math.max(a, b));
        break;
      }
      default:
        text = Array.from({ length: random(60) }, () => pieces[random(pieces.length)] ?? '').join('');
    }
    let manifest: Manifest | undefined;
    assert.doesNotThrow(
      () => {
        manifest = parse(text);
      },
      `input: ${JSON.stringify(text)}`,
    );
    for (const p of manifest?.problems ?? []) {
      assert.ok(
        p.offset >= 0 && p.offset + p.length <= text.length,
        `problem outside the text: ${JSON.stringify(p)} in ${JSON.stringify(text)}`,
      );
      assert.ok(!/internal error/.test(p.message), `${p.message} for ${JSON.stringify(text)}`);
      problemRange(text, p);
    }
  }
});

test('loadManifest reads the file and the sources next to it, and says when there is none', () => {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-manifest-'));
  writeFileSync(join(root, 'heat.wgsl'), WGSL);
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify({
      kernels: [
        { ...HEAT, source: 'heat.wgsl' },
        { ...HEAT, id: 'x', source: 'heat.wgsl', entryPoint: 'nope' },
      ],
    }),
  );
  const manifest = loadManifest(join(root, 'ringkernel.json'));
  assert.deepEqual(ids(manifest), ['heat']);
  assert.equal(manifest.kernels[0]?.source, join(root, 'heat.wgsl'));
  assert.equal(manifest.problems.length, 1);
  // The WGSL file's validation needs the broken kernel's entry point too.
  assert.deepEqual(declaredEntryPoints(join(root, 'ringkernel.json')).get(join(root, 'heat.wgsl')), [
    { name: 'step', kernelId: 'heat' },
    { name: 'nope', kernelId: 'x' },
  ]);
  const missing = loadManifest(join(root, 'nothing', 'ringkernel.json'));
  assert.equal(missing.problems.length, 1);
  assert.match(missing.problems[0]?.message ?? '', /ringkernel\.json not found at .*nothing.*ringkernel\.json/);
  assert.deepEqual(missing.kernels, []);
});

test('"sources": one file per backend, resolved; each mistake is its own problem and the kernel still runs from "source"', () => {
  const good = parse(manifestText({ ...HEAT, sources: { webgpu: 'kernels/heat.wgsl', cuda: 'kernels/wave.ptx' } }));
  assert.deepEqual(good.problems, []);
  assert.deepEqual(good.kernels[0]?.sources, {
    webgpu: join(ROOT, 'kernels/heat.wgsl'),
    cuda: join(ROOT, 'kernels/wave.ptx'),
  });
  assert.equal(parse(manifestText(HEAT)).kernels[0]?.sources, undefined);

  const cases: [unknown, RegExp, 'error' | 'warning'][] = [
    ['kernels/wave.ptx', /"sources" must be an object of one file per backend/, 'error'],
    [{ cuda: 'kernels/heat.wgsl' }, /"sources"."cuda" must be a \.ptx file/, 'error'],
    [{ cuda: 7 }, /"sources"."cuda" must be the path of a \.ptx file/, 'error'],
    [{ cuda: '../elsewhere/wave.ptx' }, /"sources"."cuda": .*outside the workspace folder/, 'error'],
    [
      { webgpu: 'kernels/other.wgsl' },
      /"sources"."webgpu" names kernels\/other.wgsl, but "source" \(kernels\/heat.wgsl\) is the kernel's WebGPU file/,
      'error',
    ],
    [
      { cuda: 'kernels/missing.ptx' },
      /"sources"."cuda" names kernels\/missing.ptx, which cannot be read; the kernel runs, but cannot move to a CUDA device/,
      'warning',
    ],
    [{ metal: 'kernels/blur.metal' }, /unknown property "metal"/, 'warning'],
  ];
  for (const [sources, pattern, severity] of cases) {
    const text = manifestText({ ...HEAT, sources });
    const manifest = parse(text);
    const found = problem(manifest, text, pattern);
    assert.equal(found.severity, severity, String(pattern));
    assert.equal(found.kernelId, 'heat');
    assert.deepEqual(
      ids(manifest),
      severity === 'error' ? [] : ['heat'],
      `${String(pattern)}: an error leaves the kernel out, a warning does not`,
    );
  }
});

// ---- The schema and the parser must not drift apart. ----

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  items?: SchemaNode | SchemaNode[];
  anyOf?: SchemaNode[];
  additionalProperties?: boolean;
  definitions?: Record<string, SchemaNode>;
  description?: string;
}

const schema = JSON.parse(
  readFileSync(join(repoRoot, 'media', 'schemas', 'ringkernel.schema.json'), 'utf8'),
) as SchemaNode;
const kernelSchema = schema.definitions?.kernel as SchemaNode;
const kernelProperty = (name: string): SchemaNode => kernelSchema.properties?.[name] as SchemaNode;

test('the schema names exactly the properties the parser knows, each described', () => {
  assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), [...TOP_LEVEL_PROPERTIES].sort());
  // `views` is checked by manifest/views.ts; the set keeps this true before and after the reader names it.
  assert.deepEqual(
    Object.keys(kernelSchema.properties ?? {}).sort(),
    [...new Set<string>([...KERNEL_PROPERTIES, VIEWS_PROPERTY])].sort(),
  );
  assert.deepEqual([...(kernelSchema.required ?? [])].sort(), [...REQUIRED_KERNEL_PROPERTIES].sort());
  assert.equal(schema.additionalProperties, false);
  assert.equal(kernelSchema.additionalProperties, false);
  for (const [name, node] of [
    ...Object.entries(schema.properties ?? {}),
    ...Object.entries(kernelSchema.properties ?? {}),
  ]) {
    assert.ok(node.description, `${name} has a description`);
  }
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    contributes: { jsonValidation?: { fileMatch: string; url: string }[] };
  };
  assert.deepEqual(pkg.contributes.jsonValidation, [
    { fileMatch: 'ringkernel.json', url: './media/schemas/ringkernel.schema.json' },
  ]);
});

test("the schema's defaults and limits are the parser's", () => {
  for (const [name, value] of Object.entries(KERNEL_DEFAULTS))
    assert.deepEqual(kernelProperty(name).default, value, name);
  for (const name of KERNEL_PROPERTIES) {
    if (!(name in KERNEL_DEFAULTS))
      assert.equal(kernelProperty(name).default, undefined, `${name} is required, no default`);
  }
  assert.equal(schema.properties?.version?.const, 1);
  // The limit on kernels is ours (semantic), so the schema only states it in words.
  assert.match(schema.properties?.kernels?.description ?? '', new RegExp(`at most ${LIMITS.kernels}\\b`));
  assert.equal(kernelProperty('id').pattern, LIMITS.id.source);
  assert.equal(kernelProperty('entryPoint').pattern, LIMITS.entryPoint.source);
  assert.deepEqual(kernelProperty('backend').enum, ['auto', 'webgpu', 'cuda']);
  assert.deepEqual(
    [kernelProperty('stateBytes').minimum, kernelProperty('stateBytes').maximum],
    [LIMITS.stateBytes.min, LIMITS.stateBytes.max],
  );
  for (const name of ['inboxCapacity', 'outboxCapacity'] as const) {
    assert.deepEqual(
      [kernelProperty(name).type, kernelProperty(name).minimum, kernelProperty(name).maximum],
      ['integer', LIMITS.capacity.min, LIMITS.capacity.max],
    );
  }
  assert.deepEqual(
    [kernelProperty('rateHz').type, kernelProperty('rateHz').minimum, kernelProperty('rateHz').maximum],
    ['number', LIMITS.rateHz.min, LIMITS.rateHz.max],
  );
  for (const [name, limits] of [
    ['grid', LIMITS.grid],
    ['block', LIMITS.block],
  ] as const) {
    const [single, list] = kernelProperty(name).anyOf ?? [];
    assert.deepEqual([single?.minimum, single?.maximum], [limits.min, limits.max[0]], name);
    assert.deepEqual(
      (list?.items as SchemaNode[]).map((item) => [item.minimum, item.maximum]),
      limits.max.map((max) => [limits.min, max]),
      name,
    );
  }
  const [auto, index] = kernelProperty('device').anyOf ?? [];
  assert.deepEqual([auto?.enum, index?.type, index?.minimum], [['auto'], 'integer', 0]);
});

// ---- The LSP wiring, over a real connection in this process. ----

test("the wiring publishes the manifest's problems from disk, the editor, typing (debounced) and kernel file saves", async () => {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-wiring-'));
  const manifestPath = join(root, 'ringkernel.json');
  const manifestUri = pathToFileURL(manifestPath).href;
  const wgslPath = join(root, 'heat.wgsl');
  writeFileSync(wgslPath, WGSL);
  writeFileSync(
    manifestPath,
    JSON.stringify({ kernels: [{ ...HEAT, source: 'heat.wgsl', entryPoint: 'main', ratehz: 1 }] }, null, 2),
  );

  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  const client = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  const documents = new TextDocuments(TextDocument);
  let schemaByClient = true;
  const parsed: Manifest[] = [];
  const wiring = wireManifestDiagnostics(server, documents, () => [root], {
    clientValidatesSchema: () => schemaByClient,
    onManifestChanged: (m) => parsed.push(m),
  });
  server.onInitialize(() => ({
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
    },
  }));
  documents.listen(server);
  server.listen();
  const published: PublishDiagnosticsParams[] = [];
  const waiters: (() => void)[] = [];
  client.onNotification(PublishDiagnosticsNotification.type, (params) => {
    if (params.uri !== manifestUri) return;
    published.push(params);
    waiters.splice(0).forEach((wake) => wake());
  });
  client.listen();
  const next = async (): Promise<string[]> => {
    const count = published.length;
    while (published.length === count) await new Promise<void>((wake) => waiters.push(wake));
    return (published.at(-1)?.diagnostics ?? []).map((d) => d.message);
  };
  try {
    await client.sendRequest('initialize', { processId: null, rootUri: pathToFileURL(root).href, capabilities: {} });
    // At start, from disk; VS Code checks the schema itself, so only what it cannot see.
    let messages = next();
    wiring.refresh();
    assert.deepEqual(await messages, [
      'kernel "heat": entry point "main" not found in heat.wgsl: there is no @compute function named "main" (its @compute functions: step, init)',
    ]);
    assert.deepEqual(wiring.manifestFor(root)?.kernels, []);

    // Opened with other text: the editor's text counts.
    const edited = (stateBytes: number): string =>
      JSON.stringify({ kernels: [{ ...HEAT, source: 'heat.wgsl', stateBytes }] }, null, 2);
    messages = next();
    await client.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: manifestUri, languageId: 'json', version: 1, text: edited(10) },
    });
    assert.deepEqual(await messages, [
      'kernel "heat": stateBytes must be a multiple of 4 (got 10); the state is read and written as 32-bit words',
    ]);
    assert.equal(published.at(-1)?.version, 1);

    // Typing: one check for a burst of changes, with the last text.
    const before = parsed.length;
    messages = next();
    for (const [version, stateBytes] of [
      [2, 11],
      [3, 12],
      [4, 4096],
    ] as const) {
      await client.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri: manifestUri, version },
        contentChanges: [{ text: edited(stateBytes) }],
      });
    }
    assert.deepEqual(await messages, []);
    assert.equal(parsed.length, before + 1);
    assert.deepEqual(
      wiring.manifestFor(root)?.kernels.map((k) => k.stateBytes),
      [4096],
    );

    // A kernel file the manifest names is saved (TextDocuments reports saves of open files only):
    // re-checked, with the manifest's text from the editor (a WGSL file without `step` now).
    const wgslUri = pathToFileURL(wgslPath).href;
    await client.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: wgslUri, languageId: 'wgsl', version: 1, text: WGSL },
    });
    writeFileSync(wgslPath, WGSL.replace('fn step', 'fn stepped'));
    messages = next();
    await client.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri: wgslUri } });
    assert.match((await messages)[0] ?? '', /entry point "step" not found/);

    // Another editor gets the schema's problems too.
    schemaByClient = false;
    writeFileSync(manifestPath, '{ "kernels": [ ], "extra": 1, }');
    messages = next();
    await client.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri: manifestUri } });
    assert.deepEqual(await messages, [
      'ringkernel.json: unknown property "extra" is ignored; known properties: $schema, version, kernels',
      'JSON syntax error: trailing comma before "}"; JSON allows no comma after the last item, remove it',
    ]);
  } finally {
    wiring.dispose();
    client.dispose();
    server.dispose();
  }
});
