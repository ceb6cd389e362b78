// The topology on a machine with an NVIDIA GPU (RINGKERNEL_TEST_GPU=1): the real probe child and real
// device hosts. The GPU seen through CUDA and through Dawn's Vulkan adapter is one physical GPU, and
// measured host↔device bandwidth is in a sane range (pageable copies through a device host: several
// GB/s; pinned would be ~50 GB/s on Gen5 x16).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { MachineTopology } from '../../server/src/topology/machineTopology';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';

describe('topology on a GPU machine', { skip, timeout: 300_000 }, () => {
  test('the GPU appears once as a physical GPU with a CUDA and a WebGPU face, and measured host links are fast', async () => {
    const probe = await probeMachine({ timeoutMs: 60_000 });
    const machine = new MachineTopology({
      cachePath: join(mkdtempSync(join(tmpdir(), 'ringkernel-gpu-topology-')), 'topology.json'),
    });
    const topology = await machine.update(probe);
    console.log(topology.toMatrixText());
    const cuda = topology.devices.filter((d) => d.backend === 'cuda');
    assert.ok(cuda.length >= 1, `no CUDA device: ${JSON.stringify(probe.topology.unavailable)}`);
    const first = cuda[0];
    assert.ok(
      first?.numaNode !== undefined || topology.notes.some((n) => /numa/.test(n)),
      'a NUMA node from sysfs, or a note saying why not',
    );
    const gpu = topology.physicalGpus().find((g) => g.devices.includes(first?.key ?? ''));
    assert.ok(gpu, 'the CUDA device is a physical GPU');
    const backends = gpu.devices.map((key) => topology.device(key)?.backend).sort();
    assert.deepEqual(
      backends,
      ['cuda', 'webgpu'],
      `the GPU's faces: ${gpu.devices.join(', ')} (recognised by ${gpu.method ?? 'nothing'})`,
    );
    assert.equal(
      topology.physicalGpus().filter((g) => !g.devices.every((key) => topology.device(key)?.software)).length,
      cuda.length,
      'each GPU appears once',
    );

    const outcome = await machine.measure({
      onProgress: ({ done, total, what }) => console.log(`measuring ${what} (${done}/${total})`),
    });
    assert.deepEqual(outcome.result.failures, []);
    for (const host of outcome.result.hostLinks)
      console.log(
        `${host.device} ${host.direction}: ${host.bandwidthGBps} GB/s, ${host.latencyUs} µs (${host.bytes ?? 0} bytes)`,
      );
    for (const link of outcome.result.links)
      console.log(`${link.from} → ${link.to}: ${link.bandwidthGBps} GB/s, ${link.latencyUs} µs`);
    const measured = outcome.topology.device(first?.key ?? '')?.hostLink;
    assert.equal(measured?.basis, 'measured');
    assert.ok((measured?.toDeviceGBps ?? 0) > 2, `host → ${first?.key ?? ''}: ${measured?.toDeviceGBps ?? 0} GB/s`);
    assert.ok((measured?.toHostGBps ?? 0) > 2, `${first?.key ?? ''} → host: ${measured?.toHostGBps ?? 0} GB/s`);
    assert.ok((measured?.toDeviceGBps ?? 0) < 200, 'not faster than any PCIe or C2C link');
  });
});
