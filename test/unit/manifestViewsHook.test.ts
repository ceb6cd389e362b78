// The `views` checker hooked into the manifest reader: a kernel's views reach its KernelSpec, a
// region past stateBytes is an error at its position in ringkernel.json, a broken view is left
// out while the kernel still runs, and a views-only change restarts nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifest } from '../../server/src/manifest/manifest';

const SOURCE = '@compute @workgroup_size(64) fn step() {}';
const readSource = (): string => SOURCE;

function manifest(views: unknown, stateBytes = 4096): { text: string; parsed: ReturnType<typeof parseManifest> } {
  const text = JSON.stringify(
    { version: 1, kernels: [{ id: 'heat', source: 'heat.wgsl', entryPoint: 'step', stateBytes, views }] },
    null,
    2,
  );
  return { text, parsed: parseManifest(text, '/ws/ringkernel.json', readSource) };
}

test("a kernel's views reach its KernelSpec, count filled in from shape", () => {
  const { parsed } = manifest([
    { name: 'rod', type: 'f32', offset: 16, count: 1020, plot: 'line' },
    { name: 'field', type: 'f32', offset: 0, shape: [32, 32], plot: 'heatmap', range: [0, 1] },
  ]);
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(parsed.kernels[0]?.views, [
    { name: 'rod', type: 'f32', offset: 16, count: 1020, plot: 'line' },
    { name: 'field', type: 'f32', offset: 0, count: 1024, shape: [32, 32], plot: 'heatmap', range: [0, 1] },
  ]);
  assert.equal(manifest(undefined).parsed.kernels[0]?.views, undefined, 'no views: the spec has none');
});

test('a region past stateBytes is an error at its count in ringkernel.json; the kernel still runs with its other views', () => {
  const { text, parsed } = manifest([
    { name: 'rod', type: 'f32', offset: 16, count: 1021, plot: 'line' },
    { name: 'head', type: 'u32', offset: 0, count: 4, plot: 'table' },
  ]);
  const errors = parsed.problems.filter((p) => p.severity === 'error');
  assert.equal(errors.length, 1);
  const [error] = errors;
  assert.equal(
    error?.message,
    'kernel "heat": view "rod": the region ends at byte 4,100 (offset 16 + 1,021 elements x 4 bytes), past the state\'s 4,096 bytes; shrink it or raise "stateBytes"',
  );
  assert.equal(error?.kernelId, 'heat');
  assert.equal(error?.kind, 'semantic');
  assert.equal(
    text.slice(error?.offset, (error?.offset ?? 0) + (error?.length ?? 0)),
    '1021',
    'the error points at the count',
  );
  assert.equal(parsed.kernels.length, 1, 'the kernel is not left out for a broken view');
  assert.deepEqual(
    parsed.kernels[0]?.views?.map((v) => v.name),
    ['head'],
  );
});

test("views are checked against the kernel's own stateBytes, and not at all when stateBytes is broken", () => {
  assert.equal(
    manifest([{ name: 'rod', type: 'f32', offset: 0, count: 2048, plot: 'line' }], 8192).parsed.problems.length,
    0,
  );
  const broken = manifest([{ name: 'rod', type: 'f32', offset: 0, count: 2048, plot: 'line' }], 4094).parsed;
  assert.deepEqual(
    broken.problems.map((p) => p.message),
    ['kernel "heat": stateBytes must be a multiple of 4 (got 4094); the state is read and written as 32-bit words'],
  );
});

test('"views" is a known kernel property and a wrong one is reported at its place', () => {
  const { text, parsed } = manifest({ name: 'rod' });
  assert.equal(
    parsed.problems.some((p) => /unknown property "views"/.test(p.message)),
    false,
  );
  const [problem] = parsed.problems;
  assert.match(problem?.message ?? '', /^kernel "heat": "views" must be an array of views/);
  assert.equal(text.slice(problem?.offset, (problem?.offset ?? 0) + 1), '{');
  assert.equal(parsed.kernels.length, 1);
});
