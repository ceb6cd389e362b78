import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { BufferHandle, DeviceInfo, Timing } from '../../../server/src/backends/backend';
import type { BackendName } from '../../../server/src/backends/backendReport';
import type { MachineProbe } from '../../../server/src/probe/machineProbe';
import type { Logger } from '../../../server/src/logger';
import { topologyCachePath } from '../../../server/src/topology/cacheLocation';
import { devicesFromReports } from '../../../server/src/probe/child/hardwareProbe';
import { MachineTopology, type DisposableMeasureHost } from '../../../server/src/topology/machineTopology';
import { measureBytes } from '../../../server/src/topology/measureTopology';

const limits = {
  maxBufferBytes: 2 ** 30,
  maxBindingBytes: 2 ** 30,
  maxWorkgroupsPerDimension: 65535,
  maxThreadsPerWorkgroup: 1024,
};
const gpu = (index: number): DeviceInfo => ({
  backend: 'cuda',
  index,
  name: 'NVIDIA H100 80GB HBM3',
  vendor: 'NVIDIA',
  detail: 'compute 9.0',
  pciBusId: `0000:1${index}:00.0`,
  computeCapability: { major: 9, minor: 0 },
  memoryFreeBytes: 8e10,
  peerCapable: true,
  limits,
});
const lavapipe: DeviceInfo = {
  backend: 'webgpu',
  index: 0,
  name: 'llvmpipe',
  vendor: 'mesa',
  detail: 'software Vulkan (llvmpipe)',
  peerCapable: false,
  limits,
};

function probe(cuda: DeviceInfo[]): MachineProbe {
  const reports = [
    { backend: 'webgpu' as const, available: true, devices: [lavapipe], probeMs: 1 },
    cuda.length > 0
      ? { backend: 'cuda' as const, available: true, devices: cuda, probeMs: 1 }
      : { backend: 'cuda' as const, available: false, reason: 'no driver', devices: [], probeMs: 1 },
  ];
  return { reports, topology: { devices: devicesFromReports(reports), cudaPeers: [] } };
}

/** A device host whose transfers take a fixed time per byte: 10 GB/s for hardware, 2 GB/s for copies from the CPU adapter. */
class FakeHost implements DisposableMeasureHost {
  disposed = false;
  ops: string[] = [];
  private next = 1;
  constructor(readonly backend: BackendName) {}
  allocate(device: number, bytes: number): Promise<BufferHandle> {
    this.ops.push(`allocate ${device} ${bytes}`);
    return Promise.resolve({ id: this.next++, device, bytes });
  }
  free(): Promise<null> {
    return Promise.resolve(null);
  }
  private timing(bytes: number): Timing {
    const gbps = this.backend === 'cuda' ? 10 : 2;
    return { hostMs: 0.005 + bytes / (gbps * 1e6) };
  }
  write(buffer: BufferHandle, _offset: number, data: Uint8Array): Promise<Timing> {
    this.ops.push(`write ${buffer.device} ${data.byteLength}`);
    return Promise.resolve(this.timing(data.byteLength));
  }
  read(_buffer: BufferHandle, _offset: number, bytes: number): Promise<{ data: Uint8Array; timing: Timing }> {
    return Promise.resolve({ data: new Uint8Array(bytes), timing: this.timing(bytes) });
  }
  copy(source: BufferHandle, target: BufferHandle, bytes: number): Promise<Timing> {
    this.ops.push(`copy ${source.device}→${target.device}`);
    return Promise.resolve({ hostMs: 1, deviceMs: bytes / 100e6 });
  }
  dispose(): void {
    this.disposed = true;
  }
}

function logger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    error: (m) => warnings.push(m),
    warn: (m) => warnings.push(m),
    info: () => undefined,
    debug: () => undefined,
  };
}

describe('machine topology: measure, cache, apply', () => {
  test('the cache lives under $RINGKERNEL_CACHE_DIR, else $XDG_CACHE_HOME/ringkernel, else ~/.cache/ringkernel', () => {
    assert.equal(
      topologyCachePath({ RINGKERNEL_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' }, '/home/u'),
      '/c/topology.json',
    );
    assert.equal(topologyCachePath({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/ringkernel/topology.json');
    assert.equal(topologyCachePath({}, '/home/u'), '/home/u/.cache/ringkernel/topology.json');
  });

  test('software adapters are measured with small buffers, GPUs with large ones, within their limits', () => {
    assert.equal(measureBytes({ key: 'webgpu:0', backend: 'webgpu', index: 0, software: true }), 16 * 2 ** 20);
    assert.equal(measureBytes({ key: 'cuda:0', backend: 'cuda', index: 0, software: false }), 256 * 2 ** 20);
    assert.equal(
      measureBytes({ key: 'cuda:0', backend: 'cuda', index: 0, software: false, maxBufferBytes: 1000 }),
      1000,
    );
    assert.equal(
      measureBytes({ key: 'cuda:0', backend: 'cuda', index: 0, software: false, memoryFreeBytes: 4002 }),
      1000,
    );
  });

  test('measures host links and every pair (peer copies within CUDA, staged otherwise), caches them, and marks them measured', async () => {
    const cachePath = join(mkdtempSync(join(tmpdir(), 'ringkernel-measure-')), 'topology.json');
    const hosts = new Map<BackendName, FakeHost>();
    const log = logger();
    const machine = new MachineTopology({
      cachePath,
      log,
      hostFactory: (backend) => {
        const host = new FakeHost(backend);
        hosts.set(backend, host);
        return host;
      },
    });
    const before = await machine.update(probe([gpu(0), gpu(1)]));
    assert.ok(before.devices.every((d) => d.hostLink.basis === 'estimated'));
    const progress: string[] = [];
    const outcome = await machine.measure({
      hardwareBytes: 1 << 20,
      softwareBytes: 1 << 16,
      latencySamples: 3,
      bandwidthRepeats: 1,
      onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.what}`),
    });
    assert.deepEqual(outcome.result.failures, []);
    assert.equal(outcome.result.hostLinks.length, 6);
    assert.equal(outcome.result.links.length, 6);
    assert.deepEqual(progress.slice(0, 4), [
      '0/9 host ↔ cuda:0',
      '1/9 host ↔ cuda:1',
      '2/9 host ↔ webgpu:0',
      '3/9 cuda:0 → cuda:1',
    ]);
    assert.equal(progress.at(-1), '9/9 done');
    assert.ok(hosts.get('cuda')?.ops.includes('copy 0→1'), 'CUDA pairs are peer copies inside the CUDA host');
    assert.ok(hosts.get('webgpu')?.ops.includes('allocate 0 65536'), 'the software adapter gets the small size');
    assert.ok(
      [...hosts.values()].every((h) => h.disposed),
      'the measuring hosts are shut down',
    );

    const topology = outcome.topology;
    for (const device of topology.devices) assert.equal(device.hostLink.basis, 'measured', device.key);
    assert.equal(topology.device('cuda:0')?.hostLink.toDeviceGBps, 9.545, '1 MiB in 0.105 ms plus 5 µs of latency');
    assert.equal(topology.link('cuda:0', 'cuda:1')?.basis, 'measured');
    assert.equal(topology.link('cuda:0', 'cuda:1')?.bandwidthGBps, 100);
    assert.equal(topology.link('webgpu:0', 'cuda:0')?.basis, 'measured');

    // A fresh start on the same machine reads the figures back from the cache.
    const again = await new MachineTopology({ cachePath }).update(probe([gpu(0), gpu(1)]));
    assert.equal(again.link('cuda:0', 'cuda:1')?.basis, 'measured');
    assert.ok(JSON.parse(readFileSync(cachePath, 'utf8')) as unknown);
    // Another machine (a GPU swapped) gets nothing from it.
    const other = await new MachineTopology({ cachePath }).update(probe([gpu(0)]));
    assert.equal(other.device('cuda:0')?.hostLink.basis, 'estimated');
    assert.deepEqual(log.warnings, []);
  });

  test('a corrupt cache is a clear warning and estimates; measuring again replaces it', async () => {
    const cachePath = join(mkdtempSync(join(tmpdir(), 'ringkernel-corrupt-')), 'topology.json');
    writeFileSync(
      cachePath,
      '{"format": "ringkernel-topology-cache", "version": 1, "machines": {"x": {"savedAt": 3}}}',
    );
    const log = logger();
    const machine = new MachineTopology({ cachePath, log, hostFactory: (backend) => new FakeHost(backend) });
    const topology = await machine.update(probe([]));
    assert.equal(topology.device('webgpu:0')?.hostLink.basis, 'estimated');
    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0] ?? '', /topology cache is corrupt.*using estimates/);
    const outcome = await machine.measure({ softwareBytes: 1 << 12, latencySamples: 1, bandwidthRepeats: 1 });
    assert.ok(outcome.save.ok);
    assert.equal(outcome.topology.device('webgpu:0')?.hostLink.basis, 'measured');
    const reloaded = await new MachineTopology({ cachePath, log: logger() }).update(probe([]));
    assert.equal(reloaded.device('webgpu:0')?.hostLink.basis, 'measured');
  });

  test('a device that fails to measure is named, the rest are measured, and its pairs are skipped with the reason', async () => {
    const cachePath = join(mkdtempSync(join(tmpdir(), 'ringkernel-fail-')), 'topology.json');
    const log = logger();
    const machine = new MachineTopology({
      cachePath,
      log,
      hostFactory: (backend) => {
        const host = new FakeHost(backend);
        if (backend === 'cuda')
          host.allocate = (): Promise<BufferHandle> => Promise.reject(new Error('CUDA_ERROR_OUT_OF_MEMORY'));
        return host;
      },
    });
    await machine.update(probe([gpu(0)]));
    const outcome = await machine.measure({ softwareBytes: 1 << 12, latencySamples: 1, bandwidthRepeats: 1 });
    assert.deepEqual(outcome.result.failures, [
      'host ↔ cuda:0: CUDA_ERROR_OUT_OF_MEMORY',
      'cuda:0 → webgpu:0: not measured, because cuda:0 could not be measured',
      'webgpu:0 → cuda:0: not measured, because cuda:0 could not be measured',
    ]);
    assert.equal(outcome.topology.device('webgpu:0')?.hostLink.basis, 'measured');
    assert.equal(outcome.topology.device('cuda:0')?.hostLink.basis, 'estimated');
    assert.equal(log.warnings.length, 3);
  });
});
