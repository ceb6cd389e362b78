import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseLinkSpeed, parseLinkWidth, parseNumaNode, readPciSysfs } from '../../../server/src/probe/child/sysfs';
import { sysfsSource } from '../../../server/src/probe/child/hardwareProbe';

/** A sysfs tree like Linux's: devices under /sys/devices/pci…/<port>/<gpu>, linked from /sys/bus/pci/devices. */
function fakeSysfs(
  devices: Record<string, { files: Record<string, string>; port?: { id: string; maxSpeed: string } }>,
): string {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-sysfs-'));
  const bus = join(root, 'bus', 'pci', 'devices');
  mkdirSync(bus, { recursive: true });
  for (const [id, { files, port }] of Object.entries(devices)) {
    const parent = port ? join(root, 'devices', 'pci0000:00', port.id) : join(root, 'devices', 'pci0000:00');
    mkdirSync(parent, { recursive: true });
    if (port) writeFileSync(join(parent, 'max_link_speed'), `${port.maxSpeed}\n`);
    const folder = join(parent, id);
    mkdirSync(folder, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
    symlinkSync(folder, join(bus, id));
  }
  return root;
}

describe('sysfs PCI facts', () => {
  test('parses link speeds of every generation, widths and NUMA nodes as the kernel prints them', () => {
    assert.deepEqual(
      [
        '2.5 GT/s PCIe',
        '5.0 GT/s PCIe',
        '8.0 GT/s PCIe',
        '16.0 GT/s PCIe',
        '32.0 GT/s PCIe',
        '64.0 GT/s PCIe',
        '8 GT/s\n',
      ].map(parseLinkSpeed),
      [1, 2, 3, 4, 5, 6, 3],
    );
    assert.equal(parseLinkSpeed('Unknown'), undefined);
    assert.equal(parseLinkSpeed('3.3 GT/s'), undefined);
    assert.equal(parseLinkWidth('16\n'), 16);
    assert.equal(parseLinkWidth('0'), undefined);
    assert.equal(parseLinkWidth('wide'), undefined);
    assert.equal(parseNumaNode('1\n'), 1);
    assert.equal(parseNumaNode('-1\n'), undefined);
    assert.equal(parseNumaNode(''), undefined);
  });

  test("reads the NUMA node and link of a device by its bus id, in NVML's 8-digit form too", () => {
    const root = fakeSysfs({
      '0000:18:00.0': {
        files: {
          numa_node: '1\n',
          current_link_speed: '32.0 GT/s PCIe\n',
          current_link_width: '16\n',
          max_link_speed: '32.0 GT/s PCIe\n',
        },
      },
    });
    assert.deepEqual(readPciSysfs('00000000:18:00.0', root), {
      numaNode: 1,
      link: { generation: 5, width: 16 },
      problems: [],
    });
  });

  test('numa_node -1 means unknown, not node -1', () => {
    const root = fakeSysfs({
      '0000:18:00.0': {
        files: { numa_node: '-1\n', current_link_speed: '16.0 GT/s PCIe\n', current_link_width: '8\n' },
      },
    });
    const info = readPciSysfs('0000:18:00.0', root);
    assert.equal(info.numaNode, undefined);
    assert.deepEqual(info.link, { generation: 4, width: 8 });
  });

  test('a GPU idling at Gen1 counts at the speed both ends of its link support', () => {
    const root = fakeSysfs({
      '0000:18:00.0': {
        files: {
          numa_node: '0\n',
          current_link_speed: '2.5 GT/s PCIe\n',
          current_link_width: '16\n',
          max_link_speed: '32.0 GT/s PCIe\n',
        },
        port: { id: '0000:00:01.0', maxSpeed: '16.0 GT/s PCIe' },
      },
    });
    const info = readPciSysfs('0000:18:00.0', root);
    assert.deepEqual(info.link, { generation: 4, width: 16 }, 'a Gen5 GPU in a Gen4 slot trains at Gen4');
    assert.equal(info.linkIdle, true);
  });

  test('missing files and devices are problems, never exceptions', () => {
    const root = fakeSysfs({ '0000:18:00.0': { files: { current_link_speed: 'Unknown\n' } } });
    const info = readPciSysfs('0000:18:00.0', root);
    assert.equal(info.link, undefined);
    assert.deepEqual(
      info.problems.map((p) => p.what),
      ['numa', 'link'],
    );
    assert.match(info.problems[1]?.message ?? '', /"Unknown"/);
    const missing = readPciSysfs('0000:99:00.0', root);
    assert.deepEqual(
      missing.problems.map((p) => p.what),
      ['numa', 'link'],
    );
    assert.match(readPciSysfs('not-a-bus-id', root).problems[0]?.message ?? '', /not a PCI bus id/);
  });

  test('a machine without /sys/bus/pci has no sysfs reader, and says why', () => {
    const source = sysfsSource(mkdtempSync(join(tmpdir(), 'ringkernel-nosysfs-')));
    assert.equal(source.sysfs, undefined);
    assert.match(source.sysfsMissingReason ?? '', /bus\/pci\/devices does not exist/);
  });
});
