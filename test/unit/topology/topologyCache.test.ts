import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildTopology } from '../../../server/src/topology/buildTopology';
import { machineKey } from '../../../server/src/topology/machineKey';
import type { MeasuredLinkProbe } from '../../../server/src/probe/probeRecords';
import { TopologyCache, withCachedMeasurements } from '../../../server/src/topology/topologyCache';
import { machineProbes } from './machines';

const folder = (): string => mkdtempSync(join(tmpdir(), 'ringkernel-topology-cache-'));
const measured = (from: string, to: string, bandwidthGBps: number): MeasuredLinkProbe => ({
  from,
  to,
  bandwidthGBps,
  latencyUs: 2.1,
  measured: true,
  measuredAt: '2025-01-15T10:00:00.000Z',
  bytes: 268435456,
});

describe('topology cache', () => {
  test('saves atomically and loads back what was saved, leaving no temporary file', async () => {
    const dir = folder();
    const path = join(dir, 'nested', 'topology-cache.json');
    const cache = TopologyCache.empty();
    cache.set('abc123', {
      links: [measured('cuda:0', 'cuda:1', 47.9)],
      hostLinks: [{ device: 'cuda:0', direction: 'hostToDevice', bandwidthGBps: 11.9, latencyUs: 9, measured: true }],
      savedAt: '2025-01-15T10:00:00.000Z',
    });
    const saved = await cache.save(path);
    assert.deepEqual(saved, { ok: true, path });
    assert.deepEqual(readdirSync(join(dir, 'nested')), ['topology-cache.json']);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /"format": "ringkernel-topology-cache"/);
    assert.match(text, /"version": 1/);
    const loaded = await TopologyCache.load(path);
    assert.equal(loaded.error, undefined);
    assert.equal(loaded.missing, false);
    assert.deepEqual(loaded.cache.get('abc123'), {
      savedAt: '2025-01-15T10:00:00.000Z',
      devices: ['cuda:0', 'cuda:1'],
      links: [measured('cuda:0', 'cuda:1', 47.9)],
      hostLinks: [{ device: 'cuda:0', direction: 'hostToDevice', bandwidthGBps: 11.9, latencyUs: 9, measured: true }],
    });
  });

  test('a missing file is an empty cache, not an error', async () => {
    const loaded = await TopologyCache.load(join(folder(), 'none.json'));
    assert.equal(loaded.missing, true);
    assert.equal(loaded.error, undefined);
    assert.deepEqual(loaded.cache.machineKeys(), []);
  });

  for (const [what, text, code, message] of [
    [
      'truncated JSON',
      '{"format": "ringkernel-topology-cache", "version": 1, "machines": {',
      'NOT_JSON',
      /is not JSON/,
    ],
    ['another file', '{"name": "package"}', 'NOT_A_CACHE', /not a RingKernel topology cache/],
    [
      'a future version',
      '{"format": "ringkernel-topology-cache", "version": 7, "machines": {}}',
      'UNSUPPORTED_VERSION',
      /has version 7; this RingKernel reads version 1/,
    ],
    [
      'a wrong field',
      '{"format": "ringkernel-topology-cache", "version": 1, "machines": {"k": {"savedAt": "x", "devices": [], "links": [{"from": "cuda:0", "to": "cuda:1", "bandwidthGBps": -3, "latencyUs": 1, "measured": true}], "hostLinks": []}}}',
      'CORRUPT',
      /machines\.k\.links\[0\]\.bandwidthGBps: expected a positive number/,
    ],
    ['binary garbage', '\u0000\u0001\u0002garbage', 'NOT_JSON', /is not JSON/],
  ] as const) {
    test(`a corrupt cache (${what}) is an empty cache and a clear error, never a throw`, async () => {
      const path = join(folder(), 'topology-cache.json');
      writeFileSync(path, text);
      const loaded = await TopologyCache.load(path);
      assert.equal(loaded.error?.code, code);
      assert.match(loaded.error?.message ?? '', message);
      assert.match(loaded.error?.message ?? '', /using estimates until the topology is measured again$/);
      assert.ok(loaded.error?.message.startsWith(path));
      assert.deepEqual(loaded.cache.machineKeys(), []);
      // The topology still builds, from estimates.
      const topology = buildTopology(withCachedMeasurements(machineProbes('v100-nvlink-ring'), loaded.cache));
      assert.ok(topology.links.every((l) => l.basis === 'estimated'));
    });
  }

  test('a cache that cannot be written is an error result, not a throw', async () => {
    const dir = folder();
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'not a folder');
    const saved = await TopologyCache.empty().save(join(blocker, 'topology-cache.json'));
    assert.equal(saved.ok, false);
    assert.equal(saved.ok ? '' : saved.error.code, 'WRITE_FAILED');
    const unreadable = join(dir, 'folder.json');
    mkdirSync(unreadable);
    const loaded = await TopologyCache.load(unreadable);
    assert.equal(loaded.error?.code, 'UNREADABLE');
  });

  test('measurements apply only to the machine they were taken on; fresh ones win', () => {
    const probes = machineProbes('v100-nvlink-ring');
    const cache = TopologyCache.empty();
    cache.set(machineKey(probes.devices), {
      links: [measured('cuda:0', 'cuda:1', 47.9), measured('cuda:1', 'cuda:2', 46.2)],
    });
    cache.set(machineKey(machineProbes('two-socket-pcie').devices), { links: [measured('cuda:0', 'cuda:2', 1)] });
    const topology = buildTopology(
      withCachedMeasurements({ ...probes, measured: [measured('cuda:1', 'cuda:2', 49.5)] }, cache),
    );
    assert.equal(topology.link('cuda:0', 'cuda:1')?.bandwidthGBps, 47.9);
    assert.equal(topology.link('cuda:1', 'cuda:2')?.bandwidthGBps, 49.5);
    assert.equal(topology.link('cuda:0', 'cuda:2')?.basis, 'estimated');
    const other = buildTopology(withCachedMeasurements(machineProbes('dgx-h100'), cache));
    assert.ok(other.links.every((l) => l.basis === 'estimated'));
  });
});
