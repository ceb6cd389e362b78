// Fuzzing ringkernel.json's parser and checker (server/src/manifest/) and its one security rule: no
// source path, however written, is read or run from outside the manifest's folder. Inputs: manifests
// of random kernels (hostile ids and paths, values of every JSON type) written out and then damaged
// the ways editing damages JSON, plus deep nesting and raw noise. Each must be read in bounded time
// with no internal error, every problem inside the text, and only files inside the folder read.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseManifest, type Manifest } from '../../server/src/manifest/manifest';
import { fuzz, somewhere } from './fuzzRun';

const root = mkdtempSync(join(tmpdir(), 'ringkernel-fuzz-manifest-'));
const workspace = join(root, 'workspace');
const outside = join(root, 'outside');
mkdirSync(join(workspace, 'sub'), { recursive: true });
mkdirSync(outside);
const KERNEL =
  '@group(0) @binding(1) var<storage, read_write> state: array<u32>;\n@compute @workgroup_size(1) fn main() { state[0] = 1u; }\n';
writeFileSync(join(workspace, 'kernel.wgsl'), KERNEL);
writeFileSync(join(workspace, 'sub', 'k.wgsl'), KERNEL);
writeFileSync(
  join(workspace, 'k.ptx'),
  '.version 8.0\n.target sm_80\n.address_size 64\n.visible .entry main() { ret; }\n',
);
writeFileSync(join(outside, 'secret.wgsl'), KERNEL);
// Links that lead out of the folder, to a file and to a folder.
symlinkSync(join(outside, 'secret.wgsl'), join(workspace, 'link.wgsl'));
symlinkSync(outside, join(workspace, 'away'));
after(() => rmSync(root, { recursive: true, force: true }));

const realWorkspace = realpathSync(workspace);
const inside = (folder: string, path: string): boolean => {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};
const realOrSelf = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/** Paths a manifest may name: inside, outside by `..`, absolute, through links, and odd spellings. */
const PATH_PARTS = [
  '..',
  '.',
  'sub',
  'kernel.wgsl',
  'k.ptx',
  'link.wgsl',
  'away',
  'secret.wgsl',
  'outside',
  'workspace',
  '',
  '~',
  '%2e%2e',
  '..\\',
  '\\..',
  'C:',
  '\0',
  '\u2215..',
  '．．',
  'kernel.WGSL',
  ' ',
  'a'.repeat(300),
];
export const manifestPath: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(fc.constantFrom(...PATH_PARTS), { minLength: 1, maxLength: 8 })
    .chain((parts) => fc.constantFrom('/', '\\', '//').map((s) => parts.join(s))),
  fc.constantFrom(
    join(outside, 'secret.wgsl'),
    join(workspace, 'kernel.wgsl'),
    '/etc/passwd.wgsl',
    '../outside/secret.wgsl',
    'away/secret.wgsl',
    'sub/../../outside/secret.wgsl',
    'sub/../kernel.wgsl',
    'file:///etc/x.wgsl',
    '\\\\server\\share\\x.wgsl',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `${s}.wgsl`),
);

const anyJson = fc.jsonValue({ maxDepth: 3 });
const kernelId = fc.oneof(
  fc.constantFrom('heat', 'a', 'k.1', 'x-y_z', '..', '../../etc', 'CON', 'a/b', '', ' '),
  fc.string({ unit: 'binary', maxLength: 70 }),
  anyJson,
);
const dims = fc.oneof(
  fc.array(fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double(), anyJson), { maxLength: 4 }),
  anyJson,
);
/** A kernel that reads clean, with one to three of its values replaced: the checks behind the schema's get reached. */
const nearlyValidKernel = fc
  .tuple(
    fc.constantFrom('kernel.wgsl', 'sub/k.wgsl', 'k.ptx', './kernel.wgsl'),
    fc.dictionary(
      fc.constantFrom('id', 'source', 'entryPoint', 'stateBytes', 'backend', 'device', 'grid', 'block', 'rateHz'),
      fc.oneof(manifestPath, anyJson),
      { maxKeys: 3 },
    ),
    fc.nat({ max: 1000 }),
  )
  .map(([source, replaced, n]) => ({
    id: `k${n}`,
    source,
    entryPoint: 'main',
    stateBytes: 16,
    backend: source.endsWith('.ptx') ? 'cuda' : 'webgpu',
    grid: [2, 1, 1],
    ...replaced,
  }));
const kernel = fc.record(
  {
    id: kernelId,
    source: fc.oneof({ weight: 4, arbitrary: manifestPath }, { weight: 1, arbitrary: anyJson }),
    entryPoint: fc.oneof(
      fc.constantFrom('main', 'nope', '$x', '%y', '1bad', ''),
      fc.string({ maxLength: 20 }),
      anyJson,
    ),
    stateBytes: fc.oneof(fc.constantFrom(4, 16, 1024, 3, 0, -4, 2 ** 32, 2 ** 32 + 4, 2 ** 53, 1e308, 4.5), anyJson),
    backend: fc.oneof(fc.constantFrom('auto', 'webgpu', 'cuda', 'metal', 'WEBGPU'), anyJson),
    device: fc.oneof(fc.constantFrom('auto', 0, 1, 7, -1, 1.5), anyJson),
    grid: dims,
    block: dims,
    inboxCapacity: fc.oneof(fc.integer({ min: -1, max: 70_000 }), anyJson),
    outboxCapacity: fc.oneof(fc.integer({ min: -1, max: 70_000 }), anyJson),
    rateHz: fc.oneof(fc.double({ min: -1, max: 200_000 }), anyJson),
    extra: anyJson,
  },
  { requiredKeys: [] },
);
const manifestObject = fc.record(
  {
    $schema: fc.oneof(fc.constant('./schema.json'), anyJson),
    version: fc.oneof(fc.constantFrom(1, 2, 0, '1'), anyJson),
    kernels: fc.oneof(
      {
        weight: 6,
        arbitrary: fc.array(
          fc.oneof(
            kernel,
            nearlyValidKernel,
            fc.constant({ id: 'ok', source: 'kernel.wgsl', entryPoint: 'main', stateBytes: 16 }),
          ),
          { maxLength: 8 },
        ),
      },
      { weight: 1, arbitrary: anyJson },
    ),
    unknown: anyJson,
  },
  { requiredKeys: [] },
);

type Edit = (text: string) => string;
const at = somewhere;
const splice = (text: string, w: number, remove: number, insert: string): string => {
  const i = Math.floor(w * text.length);
  return text.slice(0, i) + insert + text.slice(i + remove);
};
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(at, fc.nat({ max: 30 })).map(
    ([w, n]) =>
      (t: string) =>
        splice(t, w, n, ''),
  ),
  fc
    .tuple(
      at,
      fc.constantFrom(
        ',',
        ':',
        '{',
        '}',
        '[',
        ']',
        '"',
        '\\',
        '//',
        '/*',
        '\n',
        'null',
        'true',
        '-',
        '1e999',
        '\u0000',
        '\uFEFF',
        '\uD800',
      ),
    )
    .map(
      ([w, s]) =>
        (t: string) =>
          splice(t, w, 0, s),
    ),
  at.map((w) => (t: string) => t.slice(0, Math.floor(w * t.length))),
  fc.tuple(at, fc.constantFrom('[', '{"a":'), fc.integer({ min: 1, max: 50_000 })).map(
    ([w, open, n]) =>
      (t: string) =>
        splice(t, w, 0, open.repeat(n)),
  ),
);

const manifestText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(manifestObject, fc.constantFrom(0, 2, '\t'))
      .map(([m, indent]) => JSON.stringify(m, null, indent)),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(manifestObject, fc.array(edit, { minLength: 1, maxLength: 5 }))
      .map(([m, edits]) => edits.reduce((t, e) => e(t), JSON.stringify(m, null, 2))),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('utf8')) },
);

/** Reads a manifest the way the server does, recording every file it asks to read. */
function read(text: string): { manifest: Manifest; reads: string[] } {
  const reads: string[] = [];
  const manifest = parseManifest(text, join(workspace, 'ringkernel.json'), (path) => {
    reads.push(path);
    return path === join(workspace, 'kernel.wgsl') || path === join(workspace, 'sub', 'k.wgsl') ? KERNEL : undefined;
  });
  return { manifest, reads };
}

function assertSound(text: string, manifest: Manifest, reads: readonly string[]): void {
  for (const problem of manifest.problems) {
    assert.doesNotMatch(problem.message, /internal error/, 'the reader threw');
    assert.ok(
      problem.offset >= 0 && problem.length >= 0 && problem.offset + problem.length <= Math.max(text.length, 0),
      `problem outside the text: ${JSON.stringify(problem)}`,
    );
    assert.ok(problem.message.trim() !== '');
  }
  for (const path of reads)
    assert.ok(inside(realWorkspace, realOrSelf(path)), `read ${path}, outside the manifest's folder`);
  for (const k of manifest.kernels) {
    assert.ok(
      inside(realWorkspace, realOrSelf(k.source)),
      `kernel ${k.id} runs ${k.source}, outside the manifest's folder`,
    );
    assert.ok(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(k.id), `kernel id ${JSON.stringify(k.id)} is not a plain name`);
  }
}

describe('fuzz: manifest', () => {
  test(
    'any manifest text is read in bounded time, no internal error, problems inside the text, nothing read or run outside its folder',
    { timeout: 600_000 },
    async (t) => {
      let kernels = 0;
      let problems = 0;
      await fuzz(
        t,
        'manifest parser and checker',
        manifestText,
        (text) => {
          const { manifest, reads } = read(text);
          assertSound(text, manifest, reads);
          kernels += manifest.kernels.length;
          problems += manifest.problems.length;
        },
        { perInputMs: 10_000 },
      );
      t.diagnostic(`${kernels} kernels accepted, ${problems} problems reported`);
    },
  );

  test(
    'source paths: any spelling that leaves the folder is refused, by .., absolute path or link (security)',
    { timeout: 600_000 },
    async (t) => {
      let refused = 0;
      await fuzz(
        t,
        'manifest source paths',
        manifestPath,
        (source) => {
          const text = JSON.stringify({
            version: 1,
            kernels: [{ id: 'k', source, entryPoint: 'main', stateBytes: 16 }],
          });
          const { manifest, reads } = read(text);
          assertSound(text, manifest, reads);
          const declared = manifest.declared[0]?.source;
          if (declared !== undefined && !inside(realWorkspace, realOrSelf(declared))) {
            refused++;
            assert.equal(manifest.kernels.length, 0, `${JSON.stringify(source)} leaves the folder but the kernel runs`);
            // Refused with a problem: "outside the folder", or an earlier one (no .wgsl extension) that stops the kernel first.
            assert.ok(
              manifest.problems.some((p) => p.severity === 'error'),
              `${JSON.stringify(source)} leaves the folder without an error`,
            );
          }
        },
        { perInputMs: 5_000, share: 0.5 },
      );
      t.diagnostic(`${refused} paths outside the folder refused`);
    },
  );
});
