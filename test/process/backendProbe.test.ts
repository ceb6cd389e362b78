import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { probeBackends } from '../../server/src/probe/machineProbe';
import { describeBackend } from '../../server/src/backends/backendReport';
import { loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';
import { distFile } from '../support/repo';

// What the probe must find follows from what the CUDA driver says in this process, not from an
// environment variable: a developer's machine with an NVIDIA GPU expects the devices.
const loaded = loadCudaAddon();
const gpuMachine = loaded.ok && loaded.addon.driverStatus().available && loaded.addon.deviceCount() > 0;

function script(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ringkernel-probe-')), 'probe.js');
  writeFileSync(file, body);
  return file;
}

test(
  'finds WebGPU through Dawn (software Vulkan here, the GPU on a GPU machine)',
  { skip: process.platform !== 'linux' && 'Vulkan is checked on Linux' },
  async () => {
    const reports = await probeBackends({ probeScript: distFile('probe.js') });
    const webgpu = reports.find((r) => r.backend === 'webgpu');
    assert.ok(webgpu?.available, `WebGPU unavailable: ${webgpu ? describeBackend(webgpu) : 'no report'}`);
    assert.ok(webgpu.devices.length > 0);
    assert.ok(webgpu.devices.every((d) => d.name.length > 0));
  },
);

test(gpuMachine ? 'finds the CUDA devices' : 'reports CUDA unavailable with a reason naming the driver', async () => {
  const reports = await probeBackends({ probeScript: distFile('probe.js') });
  const cuda = reports.find((r) => r.backend === 'cuda');
  assert.ok(cuda);
  if (gpuMachine) {
    assert.ok(cuda.available, describeBackend(cuda));
    assert.ok(cuda.devices.every((d) => /^compute \d+\.\d+$/.test(d.detail)));
  } else {
    assert.equal(cuda.available, false);
    assert.match(cuda.reason ?? '', /libcuda|driver|addon/i);
  }
});

test('a probe that hangs makes every backend unavailable with a timeout reason, and is killed', async () => {
  const started = Date.now();
  const reports = await probeBackends({ probeScript: script('setInterval(() => {}, 1000);'), timeoutMs: 500 });
  assert.ok(Date.now() - started < 10_000);
  assert.equal(reports.length, 2);
  for (const report of reports) {
    assert.equal(report.available, false);
    assert.match(report.reason ?? '', /did not answer within 500 ms/);
  }
});

test('a probe that crashes makes every backend unavailable with the exit reason', async () => {
  const output: string[] = [];
  const reports = await probeBackends({
    probeScript: script('console.error("driver exploded"); process.exit(3);'),
    onOutput: (line) => output.push(line),
  });
  for (const report of reports) {
    assert.equal(report.available, false);
    assert.match(report.reason ?? '', /exited \(code 3\) before reporting/);
  }
  assert.ok(output.includes('driver exploded'), 'the child output reaches the log');
});
