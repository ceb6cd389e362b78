// `ringkernel run --snapshot` end to end, on this machine's WebGPU device (lavapipe without a
// GPU): the PNG's cells and the CSV's numbers are those of the state at the step asked for, which
// the kernel's rule gives exactly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { decodePng } from '../../server/src/views/snapshotFiles';
import { heatColour, heatmapScale } from '../../server/src/views/snapshotImage';
import { distFile } from '../support/repo';
import { WGSL_ABI } from '../support/kernelSources';

const run = promisify(execFile);
const SIDE = 16;

/** Cell i after `steps` steps: ((steps + i) mod 64) / 63, as an f32. */
const cell = (steps: number, i: number): number => Math.fround(((steps + i) % 64) / 63);

test(
  'a heatmap snapshot has the colour of every cell of the state at its step, and the CSV its numbers',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringkernel-snapshot-'));
    // The state is u32 words for the ABI; the kernel writes the f32 bits.
    writeFileSync(
      join(dir, 'ramp.wgsl'),
      `${WGSL_ABI}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i < ${SIDE * SIDE}u) { state[i] = bitcast<u32>(f32((control.step + 1u + i) % 64u) / 63.0); }
}`,
    );
    writeFileSync(
      join(dir, 'ringkernel.json'),
      JSON.stringify({
        version: 1,
        kernels: [
          {
            id: 'ramp',
            source: 'ramp.wgsl',
            entryPoint: 'main',
            backend: 'webgpu',
            stateBytes: SIDE * SIDE * 4,
            grid: [(SIDE * SIDE) / 64, 1, 1],
            rateHz: 0,
            views: [{ name: 'field', type: 'f32', offset: 0, shape: [SIDE, SIDE], plot: 'heatmap', range: [0, 1] }],
          },
        ],
      }),
    );
    const png = join(dir, 'out', 'field.png');
    const csv = join(dir, 'field.csv');
    const { stdout, stderr } = await run(process.execPath, [
      distFile('cli.js'),
      'run',
      join(dir, 'ringkernel.json'),
      '--steps',
      '40',
      '--json',
      '--snapshot',
      `ramp.field@17=${png}`,
      '--snapshot',
      `ramp.field@30=${csv}`,
    ]);
    const result = JSON.parse(stdout) as {
      kernels: {
        id: string;
        step: number;
        error?: string;
        snapshots?: { view: string; step: number; file: string }[];
      }[];
    };
    const ramp = result.kernels[0];
    assert.ok(ramp && ramp.error === undefined, `${ramp?.error ?? 'no kernel'}\n${stderr}`);
    assert.equal(ramp.step, 40, 'the run goes on to --steps after the snapshots');
    assert.deepEqual(ramp.snapshots, [
      { view: 'ramp.field', step: 17, file: png },
      { view: 'ramp.field', step: 30, file: csv },
    ]);
    assert.match(stderr, /wrote ramp\.field at step 17 to .*field\.png/);

    const image = decodePng(readFileSync(png));
    const scale = heatmapScale([SIDE, SIDE]);
    assert.deepEqual([image.width, image.height], [SIDE * scale, SIDE * scale]);
    for (let i = 0; i < SIDE * SIDE; i++) {
      const [x, y] = [(i % SIDE) * scale + Math.floor(scale / 2), Math.floor(i / SIDE) * scale + Math.floor(scale / 2)];
      const at = (y * image.width + x) * 4;
      assert.deepEqual(
        Array.from(image.rgba.subarray(at, at + 4)),
        [...(heatColour(cell(17, i), [0, 1]) ?? []), 255],
        `cell ${i} at step 17`,
      );
    }

    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'step,row,column,value');
    assert.equal(lines.length, SIDE * SIDE + 1);
    lines.slice(1).forEach((line, i) => {
      assert.equal(line, `30,${Math.floor(i / SIDE)},${i % SIDE},${cell(30, i)}`);
    });
  },
);

test('a view the manifest does not have is a usage error naming the views it has', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringkernel-snapshot-'));
  writeFileSync(join(dir, 'k.wgsl'), `${WGSL_ABI}\n@compute @workgroup_size(1) fn main() { state[0] = control.step; }`);
  writeFileSync(
    join(dir, 'ringkernel.json'),
    JSON.stringify({
      version: 1,
      kernels: [
        {
          id: 'k',
          source: 'k.wgsl',
          entryPoint: 'main',
          stateBytes: 16,
          views: [{ name: 'head', type: 'u32', offset: 0, count: 4, plot: 'table' }],
        },
      ],
    }),
  );
  const failed = await run(process.execPath, [
    distFile('cli.js'),
    'run',
    join(dir, 'ringkernel.json'),
    '--snapshot',
    'k.tail@1=x.csv',
  ]).then(
    () => undefined,
    (error: unknown) => error as { code: number; stderr: string },
  );
  assert.equal(failed?.code, 2);
  assert.match(failed.stderr, /ringkernel run: --snapshot k\.tail: kernel "k" has no view "tail" \(its views: head\)/);
});
