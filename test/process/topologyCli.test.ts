// `ringkernel topology` on this machine, through its bin. Without a GPU: one lavapipe WebGPU
// device and CUDA unavailable; on a GPU machine, the same shape with more devices.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { TopologyJson } from '../../server/src/topology/topologyJson';
import { repoRoot } from '../support/repo';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin', 'ringkernel.js');

async function ringkernel(
  cacheDir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, RINGKERNEL_CACHE_DIR: cacheDir };
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      timeout: 120_000,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const cacheDir = (): string => mkdtempSync(join(tmpdir(), 'ringkernel-cli-cache-'));

describe('ringkernel topology', () => {
  test('--json prints the devices and links, every figure marked estimated before anything is measured', async () => {
    const result = await ringkernel(cacheDir(), 'topology', '--json');
    assert.equal(result.code, 0, result.stderr);
    const topology = JSON.parse(result.stdout) as TopologyJson;
    assert.equal(topology.version, 1);
    assert.match(topology.machineKey, /^[0-9a-f]{16}$/);
    assert.ok(topology.devices.length >= 1, 'at least the WebGPU adapter (lavapipe without a GPU)');
    for (const device of topology.devices) {
      assert.match(device.key, /^(cuda|webgpu):\d+$/);
      assert.equal(device.hostLink.basis, 'estimated');
      assert.ok(device.hostLink.toDeviceGBps > 0 && device.hostLink.latencyUs > 0);
      assert.ok(device.physicalGpu.startsWith('gpu'));
    }
    for (const link of topology.links) {
      assert.equal(link.basis, 'estimated');
      assert.ok(link.label.length > 0 && link.bandwidthGBps > 0);
    }
    assert.ok(
      Array.isArray(topology.paths) &&
        Array.isArray(topology.physicalGpus) &&
        typeof topology.fullyConnected === 'boolean',
    );
    const cudaFound = topology.devices.some((d) => d.backend === 'cuda');
    if (!cudaFound) {
      assert.ok(topology.devices.some((d) => d.key === 'webgpu:0'));
      assert.ok(
        topology.notes.some((n) => /^cuda probe unavailable: /.test(n)),
        topology.notes.join('\n'),
      );
    }
  });

  test('the text form is a matrix like nvidia-smi topo -m, then host links and links', async () => {
    const result = await ringkernel(cacheDir(), 'topology');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /NUMA Affinity/);
    assert.match(result.stdout, /Legend:/);
    assert.match(
      result.stdout,
      /Host links \(system memory ↔ device\):\n {2}\S+: to device .* GB\/s, to host .* GB\/s, latency .* µs, estimated/,
    );
    assert.match(result.stdout, /\nLinks:\n/);
  });

  test('--measure measures the host links, caches them, and a later run reads them back', async () => {
    const dir = cacheDir();
    const measured = await ringkernel(dir, 'topology', '--json', '--measure');
    assert.equal(measured.code, 0, measured.stderr);
    assert.match(measured.stderr, /measuring host ↔ /);
    const topology = JSON.parse(measured.stdout) as TopologyJson;
    for (const device of topology.devices) assert.equal(device.hostLink.basis, 'measured', device.key);
    assert.ok(existsSync(join(dir, 'topology.json')));
    const again = JSON.parse((await ringkernel(dir, 'topology', '--json')).stdout) as TopologyJson;
    for (const device of again.devices) assert.equal(device.hostLink.basis, 'measured', device.key);
  });

  test('a corrupt cache is a warning on stderr and estimates, never a failure', async () => {
    const dir = cacheDir();
    writeFileSync(join(dir, 'topology.json'), '{ not json');
    const result = await ringkernel(dir, 'topology', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: .*topology\.json: the topology cache is not JSON .*using estimates/);
    const topology = JSON.parse(result.stdout) as TopologyJson;
    assert.ok(topology.devices.every((d) => d.hostLink.basis === 'estimated'));
  });

  test('an unknown option exits 2 and names the options', async () => {
    const result = await ringkernel(cacheDir(), 'topology', '--fast');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option --fast.*--json and --measure/);
  });
});
