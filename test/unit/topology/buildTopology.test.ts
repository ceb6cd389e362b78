import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTopology } from '../../../server/src/topology/buildTopology';
import type { TopologyLink } from '../../../server/src/topology/topologyModel';
import { parseTopologyProbes } from '../../../server/src/topology/probeParser';
import type { DeviceProbe, TopologyProbes } from '../../../server/src/probe/probeRecords';
import { cloneProbes, machine, machineProbes } from './machines';

function must<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} is missing`);
  return value;
}

describe('an 8-GPU NVSwitch box (DGX H100)', () => {
  const topology = machine('dgx-h100');

  test('joins every pair through NVSwitch with all 18 NVLink4 links: 450 GB/s per direction, from NVML', () => {
    assert.equal(topology.devices.length, 8);
    assert.equal(topology.links.length, 8 * 7);
    for (const link of topology.links) {
      assert.deepEqual(link.interconnect, { kind: 'nvswitch', links: 18, generation: 4 });
      assert.equal(link.bandwidthGBps, 450);
      assert.equal(link.source, 'nvml');
      assert.equal(link.basis, 'estimated');
      assert.equal(link.peer?.nativeAtomicSupported, true);
    }
    assert.deepEqual(topology.notes, []);
  });

  test('is fully connected, every GPU a neighbour of every other, NUMA split by socket', () => {
    assert.equal(topology.isFullyConnected(), true);
    assert.deepEqual(topology.neighbors('cuda:0'), [
      'cuda:1',
      'cuda:2',
      'cuda:3',
      'cuda:4',
      'cuda:5',
      'cuda:6',
      'cuda:7',
    ]);
    assert.deepEqual(topology.numaNeighbors('cuda:0'), ['cuda:1', 'cuda:2', 'cuda:3']);
    assert.deepEqual(topology.numaNeighbors('cuda:6'), ['cuda:4', 'cuda:5', 'cuda:7']);
  });

  test("bisection counts each GPU's switch ports once: 4 × 450 = 1800 GB/s, not the 16 pair links summed", () => {
    const bisection = topology.bisectionBandwidth();
    assert.equal(bisection.bandwidthGBps, 1800);
    assert.equal(bisection.exact, true);
    assert.equal(bisection.halves[0].length, 4);
    assert.equal(bisection.halves[1].length, 4);
  });

  test('best path between any two GPUs is the one switch hop', () => {
    const path = must(topology.bestPath('cuda:0', 'cuda:7'), 'path');
    assert.deepEqual(path.devices, ['cuda:0', 'cuda:7']);
    assert.equal(path.hops, 1);
    assert.equal(path.bottleneckGBps, 450);
  });

  test('prints NV18 everywhere like nvidia-smi topo -m, with the NUMA affinity column', () => {
    const text = topology.toMatrixText();
    const rows = text.split('\n');
    assert.match(rows[0] ?? '', /^\s+cuda:0\s+cuda:1.*cuda:7\s+NUMA Affinity\s+GPU$/);
    assert.match(rows[1] ?? '', /^cuda:0\s+X\s+NV18\s+NV18\s+NV18\s+NV18\s+NV18\s+NV18\s+NV18\s+0\s+gpu0$/);
    assert.match(rows[8] ?? '', /^cuda:7(\s+NV18){7}\s+X\s+1\s+gpu7$/);
    assert.match(text, /Bisection \(peer links\): 1800 GB\/s per direction/);
    assert.match(text, /fully connected: yes/);
  });
});

describe('a 4-GPU NVLink ring (V100 SXM2: 0-1 NV2, 1-2 NV2, 2-3 NV1, 3-0 NV1)', () => {
  const topology = machine('v100-nvlink-ring');

  test('counts NVLinks per pair from NVML and leaves the diagonals to the host', () => {
    const kind = (a: string, b: string): TopologyLink['interconnect'] | undefined => topology.link(a, b)?.interconnect;
    assert.deepEqual(kind('cuda:0', 'cuda:1'), { kind: 'nvlink', links: 2, generation: 2 });
    assert.deepEqual(kind('cuda:1', 'cuda:2'), { kind: 'nvlink', links: 2, generation: 2 });
    assert.deepEqual(kind('cuda:2', 'cuda:3'), { kind: 'nvlink', links: 1, generation: 2 });
    assert.deepEqual(kind('cuda:0', 'cuda:3'), { kind: 'nvlink', links: 1, generation: 2 });
    assert.deepEqual(kind('cuda:0', 'cuda:2'), { kind: 'host', level: 'SYSTEM' });
    assert.equal(topology.link('cuda:0', 'cuda:2')?.source, 'cuda-p2p');
    assert.equal(topology.link('cuda:0', 'cuda:1')?.bandwidthGBps, 50);
    assert.equal(topology.link('cuda:0', 'cuda:3')?.bandwidthGBps, 25);
    // Host-staged over PCIe Gen3 x16 (~12.6 GB/s practical).
    assert.equal(topology.link('cuda:0', 'cuda:2')?.bandwidthGBps, 12.61);
  });

  test('takes two NVLink hops when they are wider than the direct host route (the seed looked one hop deep)', () => {
    const path = must(topology.bestPath('cuda:0', 'cuda:2'), 'path');
    assert.deepEqual(path.devices, ['cuda:0', 'cuda:1', 'cuda:2']);
    assert.equal(path.bottleneckGBps, 50);
    assert.equal(path.hops, 2);
    assert.equal(path.latencyUs, 4);
  });

  test('keeps the direct link when a longer route is no wider', () => {
    // 0→3 direct is NV1 (25 GB/s); 0→1→2→3 bottlenecks on 2-3's NV1 as well.
    const path = must(topology.bestPath('cuda:0', 'cuda:3'), 'path');
    assert.deepEqual(path.devices, ['cuda:0', 'cuda:3']);
  });

  test('breaks exact ties deterministically', () => {
    const first = must(topology.bestPath('cuda:1', 'cuda:3'), 'path');
    assert.equal(first.hops, 2);
    assert.equal(first.bottleneckGBps, 25);
    assert.deepEqual(topology.bestPath('cuda:1', 'cuda:3')?.devices, first.devices);
  });

  test('with peer access off, only the host route remains', () => {
    const path = must(topology.bestPath('cuda:0', 'cuda:2', { allowPeer: false }), 'path');
    assert.deepEqual(path.devices, ['cuda:0', 'cuda:2']);
    assert.equal(path.links[0]?.interconnect.kind, 'host');
  });

  test('a path can be kept away from a device being drained', () => {
    const path = must(topology.bestPath('cuda:0', 'cuda:2', { avoid: ['cuda:1'] }), 'path');
    assert.deepEqual(path.devices, ['cuda:0', 'cuda:3', 'cuda:2']);
    assert.equal(path.bottleneckGBps, 25);
  });

  test('neighbours are the NVLink peers; not fully connected; bisection is the narrowest cut (75 GB/s)', () => {
    assert.deepEqual(topology.neighbors('cuda:0'), ['cuda:1', 'cuda:3']);
    assert.deepEqual(topology.neighbors('cuda:1'), ['cuda:0', 'cuda:2']);
    assert.equal(topology.isFullyConnected(), false);
    assert.equal(topology.isFullyConnected(['cuda:0', 'cuda:1']), true);
    const bisection = topology.bisectionBandwidth();
    assert.equal(bisection.bandwidthGBps, 75);
    const halves = bisection.halves.map((h) => [...h].sort().join(',')).sort();
    assert.ok(
      ['cuda:0,cuda:1|cuda:2,cuda:3', 'cuda:0,cuda:3|cuda:1,cuda:2'].includes(halves.join('|')),
      halves.join('|'),
    );
  });

  test('prints NV#, HOST and the NUMA nodes', () => {
    const rows = topology.toMatrixText().split('\n');
    assert.match(rows[1] ?? '', /^cuda:0\s+X\s+NV2\s+HOST\s+NV1\s+0\s+gpu0$/);
    assert.match(rows[3] ?? '', /^cuda:2\s+HOST\s+NV2\s+X\s+NV1\s+1\s+gpu2$/);
  });
});

describe('a two-socket PCIe box (4× L40S, no NVLink)', () => {
  const topology = machine('two-socket-pcie');

  test('PCIe peer-to-peer within a socket (PIX, PXB), the host across (SYS)', () => {
    assert.deepEqual(topology.link('cuda:0', 'cuda:1')?.interconnect, { kind: 'pcie', level: 'SINGLE' });
    assert.deepEqual(topology.link('cuda:2', 'cuda:3')?.interconnect, { kind: 'pcie', level: 'MULTIPLE' });
    assert.deepEqual(topology.link('cuda:1', 'cuda:2')?.interconnect, { kind: 'host', level: 'SYSTEM' });
    assert.equal(topology.link('cuda:0', 'cuda:1')?.source, 'cuda-p2p');
    assert.ok(
      (topology.link('cuda:0', 'cuda:1')?.latencyUs ?? 0) < (topology.link('cuda:0', 'cuda:2')?.latencyUs ?? 0),
    );
  });

  test('neighbours and NUMA neighbours stay within the socket', () => {
    assert.deepEqual(topology.neighbors('cuda:0'), ['cuda:1']);
    assert.deepEqual(topology.numaNeighbors('cuda:2'), ['cuda:3']);
    assert.equal(topology.isFullyConnected(), false);
  });

  test('bisection: no peer route across the sockets; with host staging, the four host links', () => {
    const peerOnly = topology.bisectionBandwidth();
    assert.equal(peerOnly.bandwidthGBps, 0);
    assert.deepEqual(peerOnly.halves.map((h) => [...h].sort().join(',')).sort(), ['cuda:0,cuda:1', 'cuda:2,cuda:3']);
    assert.equal(topology.bisectionBandwidth({ includeHost: true }).bandwidthGBps, 50.4);
    assert.match(topology.toMatrixText(), /no peer route between these halves/);
  });

  test('prints PIX, PXB and HOST', () => {
    const rows = topology.toMatrixText().split('\n');
    assert.match(rows[1] ?? '', /^cuda:0\s+X\s+PIX\s+HOST\s+HOST\s+0\s+gpu0$/);
    assert.match(rows[4] ?? '', /^cuda:3\s+HOST\s+HOST\s+PXB\s+X\s+1\s+gpu3$/);
  });
});

describe('a mixed CUDA + WebGPU machine (one H100 through both, plus lavapipe)', () => {
  const topology = machine('mixed-cuda-webgpu');

  test('recognises the H100 behind CUDA and Dawn as one physical GPU, and says how', () => {
    const gpus = topology.physicalGpus();
    assert.equal(gpus.length, 2);
    assert.deepEqual(gpus[0], {
      id: 'gpu0',
      name: 'NVIDIA H100 80GB HBM3',
      devices: ['cuda:0', 'webgpu:0'],
      method: 'pciDeviceId',
    });
    assert.deepEqual(gpus[1]?.devices, ['webgpu:1']);
    assert.deepEqual(topology.link('cuda:0', 'webgpu:0')?.interconnect, {
      kind: 'samePhysicalGpu',
      method: 'pciDeviceId',
    });
    assert.equal(topology.link('cuda:0', 'webgpu:0')?.source, 'identity');
    assert.deepEqual(topology.aliases('webgpu:0'), ['cuda:0']);
  });

  test('joins the software adapter through the host and marks it', () => {
    assert.equal(topology.device('webgpu:1')?.software, true);
    assert.deepEqual(topology.link('webgpu:0', 'webgpu:1')?.interconnect, { kind: 'host' });
    assert.deepEqual(topology.neighbors('cuda:0'), []);
    assert.deepEqual(topology.physicalRepresentatives(), ['cuda:0']);
    assert.deepEqual(topology.physicalRepresentatives({ includeSoftware: true }), ['cuda:0', 'webgpu:1']);
  });

  test('uses the measured host links and says the NUMA probe was unavailable', () => {
    const host = topology.device('cuda:0')?.hostLink;
    assert.equal(host?.basis, 'measured');
    assert.equal(host?.toDeviceGBps, 54.8);
    assert.equal(host?.toHostGBps, 54.9);
    assert.equal(topology.device('cuda:0')?.numaNode, undefined);
    assert.ok(
      topology.notes.some((n) => n.startsWith('numa probe unavailable')),
      topology.notes.join('\n'),
    );
    // Staged from CUDA to host (measured 54.9) then into the WebGPU adapter (a quarter of Gen5 x16).
    assert.equal(topology.link('cuda:0', 'webgpu:0')?.bandwidthGBps, 12.6);
  });

  test('prints SAME for the two faces of the GPU', () => {
    const rows = topology.toMatrixText().split('\n');
    assert.match(rows[1] ?? '', /^cuda:0\s+X\s+SAME\s+HOST\s+N\/A\s+gpu0$/);
    assert.match(rows[3] ?? '', /^webgpu:1\s+HOST\s+HOST\s+X\s+N\/A\s+gpu1 \(software\)$/);
  });

  test('recognises the GPU by UUID where both backends give one, and by name as a last resort', () => {
    const probes = cloneProbes(machineProbes('mixed-cuda-webgpu'));
    const webgpu = must(probes.devices[1], 'webgpu:0');
    webgpu.uuid = '7f3c2a915b8e4d07a1c69e2f4b8d3a15';
    assert.deepEqual(buildTopology(probes).physicalGpus()[0]?.method, 'uuid');
    delete webgpu.uuid;
    delete webgpu.pciDeviceId;
    assert.deepEqual(buildTopology(probes).physicalGpus()[0]?.method, 'name');
  });

  test('does not guess which of two identical CUDA GPUs a Dawn adapter is', () => {
    const probes = cloneProbes(machineProbes('mixed-cuda-webgpu'));
    const second: DeviceProbe = {
      ...must(probes.devices[0], 'cuda:0'),
      key: 'cuda:1',
      index: 1,
      pciBusId: '0000:00:07.0',
      uuid: 'GPU-11111111-2222-3333-4444-555555555555',
    };
    probes.devices.push(second);
    const topology2 = buildTopology(probes);
    assert.equal(topology2.link('cuda:0', 'webgpu:0')?.interconnect.kind, 'host');
    assert.equal(topology2.physicalGpus().length, 4);
    assert.ok(
      topology2.notes.some((n) => /webgpu:0 may be the same GPU as one of cuda:0, cuda:1/.test(n)),
      topology2.notes.join('\n'),
    );
  });
});

describe('when probes are missing or wrong', () => {
  test('without NVML, CUDA peers are estimated as PCIe, marked fallback, and a note says why', () => {
    const probes = cloneProbes(machineProbes('v100-nvlink-ring'));
    delete probes.nvml;
    probes.unavailable = [{ probe: 'nvml', reason: 'libnvidia-ml.so.1 not found' }];
    const topology = buildTopology(probes);
    assert.deepEqual(topology.link('cuda:0', 'cuda:1')?.interconnect, { kind: 'pcie', level: 'SINGLE' });
    assert.equal(topology.link('cuda:0', 'cuda:1')?.source, 'fallback');
    assert.ok(topology.notes.includes('nvml probe unavailable: libnvidia-ml.so.1 not found'));
    assert.ok(topology.notes.some((n) => n.startsWith('NVML unavailable: NVLink cannot be told from PCIe')));
    assert.ok(topology.notes.some((n) => /native atomics, which usually means NVLink/.test(n)));
  });

  test('without CUDA peer records, non-NVLink pairs are host-mediated fallbacks; NVLinks still come from NVML', () => {
    const probes = cloneProbes(machineProbes('two-socket-pcie'));
    delete probes.cudaPeers;
    const topology = buildTopology(probes);
    assert.deepEqual(topology.link('cuda:0', 'cuda:1')?.interconnect, { kind: 'host', level: 'SINGLE' });
    assert.equal(topology.link('cuda:0', 'cuda:1')?.source, 'fallback');
    assert.ok(topology.notes.some((n) => n.startsWith('CUDA peer access not probed')));
    const ring = cloneProbes(machineProbes('v100-nvlink-ring'));
    delete ring.cudaPeers;
    assert.equal(buildTopology(ring).link('cuda:0', 'cuda:1')?.interconnect.kind, 'nvlink');
  });

  test('records about a device that vanished during discovery are ignored with a note, never a throw', () => {
    const probes = cloneProbes(machineProbes('v100-nvlink-ring'));
    // cuda:3 vanished after NVML and CUDA peer access were probed.
    probes.devices = probes.devices.filter((d) => d.key !== 'cuda:3');
    const topology = buildTopology(probes);
    assert.equal(topology.devices.length, 3);
    assert.equal(topology.links.length, 6);
    assert.ok(
      topology.notes.some((n) => /NVML record names cuda:3, which is not among the devices/.test(n)),
      topology.notes.join('\n'),
    );
    assert.ok(
      topology.notes.some((n) =>
        /cuda:0 NVLink \d goes to a GPU at 00000000:86:00.0 that is not among the devices/.test(n),
      ),
      topology.notes.join('\n'),
    );
    assert.ok(topology.notes.some((n) => /CUDA peer record names cuda:3/.test(n)));
  });

  test('NVLink counts that the two ends disagree on use the smaller, with a note', () => {
    const probes = cloneProbes(machineProbes('v100-nvlink-ring'));
    const links = must(probes.nvml?.[1], 'nvml cuda:1').links;
    const toZero = links.find((l) => l.active && l.remotePciBusId === '00000000:06:00.0');
    assert.ok(toZero);
    toZero.active = false;
    const topology = buildTopology(probes);
    assert.equal(topology.link('cuda:0', 'cuda:1')?.interconnect.kind, 'nvlink');
    assert.deepEqual(topology.link('cuda:0', 'cuda:1')?.interconnect, { kind: 'nvlink', links: 1, generation: 2 });
    assert.ok(topology.notes.some((n) => /cuda:0 reports 2 NVLinks to cuda:1 but cuda:1 reports 1/.test(n)));
  });

  test('NVLink present but peer access denied is routed through the host and said so', () => {
    const probes = cloneProbes(machineProbes('dgx-h100'));
    for (const peer of probes.cudaPeers ?? [])
      if (peer.from === 'cuda:0' && peer.to === 'cuda:1') peer.canAccessPeer = false;
    const topology = buildTopology(probes);
    assert.equal(topology.link('cuda:0', 'cuda:1')?.interconnect.kind, 'host');
    assert.equal(topology.link('cuda:1', 'cuda:0')?.interconnect.kind, 'nvswitch');
    assert.ok(topology.notes.some((n) => /cuda:0→cuda:1: NVLink is present but CUDA denies peer access/.test(n)));
    // The widest route now goes through a third GPU.
    assert.equal(topology.bestPath('cuda:0', 'cuda:1')?.hops, 2);
  });

  test('a device reported twice and malformed ids are dropped with notes', () => {
    const probes = cloneProbes(machineProbes('two-socket-pcie'));
    probes.devices.push({ ...must(probes.devices[0], 'cuda:0') });
    must(probes.devices[1], 'cuda:1').pciBusId = 'bus one';
    const topology = buildTopology(probes);
    assert.equal(topology.devices.length, 4);
    assert.ok(topology.notes.includes('device cuda:0 is reported twice; the second report is ignored'));
    assert.ok(topology.notes.some((n) => n.startsWith('cuda:1: PCI bus id "bus one" is malformed')));
  });

  test('without PCIe link or architecture, the host link is assumed Gen4 x16 and said so', () => {
    const probes: TopologyProbes = {
      devices: [{ key: 'webgpu:0', backend: 'webgpu', index: 0, name: 'AMD Radeon RX 7900 XTX' }],
    };
    const topology = buildTopology(probes);
    assert.match(topology.device('webgpu:0')?.hostLink.source ?? '', /Gen4 x16 \(assumed\)/);
    assert.ok(topology.notes.includes('webgpu:0: PCIe link and architecture unknown; Gen4 x16 assumed'));
  });

  test('measurements replace estimates for their pair and direction only, and mark them', () => {
    const probes = cloneProbes(machineProbes('v100-nvlink-ring'));
    probes.measured = [{ from: 'cuda:0', to: 'cuda:1', bandwidthGBps: 48.3, latencyUs: 1.8, measured: true }];
    const topology = buildTopology(probes);
    assert.equal(topology.link('cuda:0', 'cuda:1')?.basis, 'measured');
    assert.equal(topology.link('cuda:0', 'cuda:1')?.bandwidthGBps, 48.3);
    assert.equal(topology.link('cuda:1', 'cuda:0')?.basis, 'estimated');
    assert.equal(topology.bestPath('cuda:0', 'cuda:1')?.basis, 'measured');
    assert.equal(topology.bestPath('cuda:0', 'cuda:2')?.basis, 'estimated');
    assert.match(topology.toMatrixText(), /cuda:0\s+X\s+48\.3\*/);
  });

  test('malformed probe JSON is a clear error naming the field', () => {
    const probes = cloneProbes(machineProbes('dgx-h100')) as unknown as { devices: { index: unknown }[] };
    const device = probes.devices[2];
    assert.ok(device);
    device.index = -1;
    const parsed = parseTopologyProbes(probes, 'dgx-h100.json');
    assert.equal(parsed.ok, false);
    assert.equal(
      parsed.ok ? '' : parsed.error,
      'dgx-h100.json: devices[2].index: expected a non negative integer number, found number -1',
    );
    const measured = parseTopologyProbes({
      devices: [],
      measured: [{ from: 'cuda:0', to: 'cuda:1', bandwidthGBps: 10, latencyUs: 1 }],
    });
    assert.match(measured.ok ? '' : measured.error, /measured\[0\]\.measured: expected true/);
  });
});
