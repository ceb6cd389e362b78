import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo';

const run = promisify(execFile);

// The coordinator takes 64 kernels per device by default; `run` runs kernels one after the other,
// so a finished kernel must give its place back for the 65th to run.
const KERNELS = 66;

test(
  `ringkernel run runs a manifest of ${KERNELS} kernels on one device: a finished kernel leaves the coordinator`,
  { timeout: 240_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-cli-many-'));
    writeFileSync(
      join(root, 'count.wgsl'),
      `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn step() { state[0] = control.step + 1u; }
`,
    );
    const kernels = Array.from({ length: KERNELS }, (_, i) => ({
      id: `k${i}`,
      source: 'count.wgsl',
      entryPoint: 'step',
      stateBytes: 4,
      device: 0,
    }));
    writeFileSync(join(root, 'ringkernel.json'), JSON.stringify({ version: 1, kernels }));
    let stdout: string;
    try {
      ({ stdout } = await run(
        process.execPath,
        [join(repoRoot, 'bin', 'ringkernel.js'), 'run', join(root, 'ringkernel.json'), '--steps', '1', '--json'],
        { timeout: 220_000 },
      ));
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      const lines = failed.stdout
        .split('\n')
        .filter((line) => line.includes('"error"'))
        .slice(0, 3);
      assert.fail(`exit ${failed.code}: ${lines.join(' | ')} ${failed.stderr.slice(-500)}`);
    }
    const { kernels: runs } = JSON.parse(stdout) as {
      kernels: { id: string; device?: string; step: number; error?: string }[];
    };
    assert.equal(runs.length, KERNELS);
    for (const kernel of runs) {
      assert.equal(kernel.error, undefined, `${kernel.id}: ${kernel.error ?? ''}`);
      assert.equal(kernel.device, 'webgpu:0');
      assert.equal(kernel.step, 1);
    }
  },
);

test('ringkernel run runs nothing from a manifest of another version, and says why', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-cli-version-'));
  writeFileSync(
    join(root, 'count.wgsl'),
    '@group(0) @binding(1) var<storage, read_write> state: array<u32>;\n@compute @workgroup_size(1) fn step() { state[0] = state[0] + 1u; }\n',
  );
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify({ version: 2, kernels: [{ id: 'count', source: 'count.wgsl', entryPoint: 'step', stateBytes: 4 }] }),
  );
  const failed = await run(
    process.execPath,
    [join(repoRoot, 'bin', 'ringkernel.js'), 'run', join(root, 'ringkernel.json'), '--steps', '1'],
    { timeout: 50_000 },
  ).then(
    () => assert.fail('it should exit 1'),
    (error: unknown) => error as { code: number; stdout: string; stderr: string },
  );
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, '', 'no kernel ran');
  assert.match(
    failed.stderr,
    /ringkernel\.json:1:\d+: error: "version" must be 1 \(got 2\).*no kernel of this manifest runs/,
  );
  assert.match(failed.stderr, /declares no kernel that can run/);
});
