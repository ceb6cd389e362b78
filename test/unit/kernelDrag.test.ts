import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dropPlan, kernelDragPayload, parseKernelDrag } from '../../client/src/kernelDrag';
import type { TopologyNode } from '../../client/src/topologyTree';

function node(kind: TopologyNode['kind'], change: Partial<TopologyNode> = {}): TopologyNode {
  return { id: `${kind}/x`, kind, label: kind, tooltip: '', icon: 'chip', children: [], ...change };
}

const heatRow = node('kernel', { id: 'webgpu:0/kernel/heat', label: 'heat', kernel: 'heat', device: 'webgpu:0' });
const device1 = node('device', { id: 'device/webgpu:1', device: 'webgpu:1' });

describe('dragging a kernel in the GPU Topology view', () => {
  test('a kernel row carries its id and device; other rows carry nothing', () => {
    const text = kernelDragPayload([heatRow]);
    assert.ok(text !== undefined);
    assert.deepEqual(parseKernelDrag(text), { kernelId: 'heat', from: 'webgpu:0' });
    assert.equal(kernelDragPayload([device1, node('link', { device: 'webgpu:0' })]), undefined);
    assert.equal(kernelDragPayload([]), undefined);
  });

  test('rejects payloads that are not a kernel, saying what is wrong', () => {
    assert.match((parseKernelDrag('not json') as Error).message, /not JSON/);
    assert.match((parseKernelDrag('42') as Error).message, /not an object/);
    assert.match((parseKernelDrag('null') as Error).message, /not an object/);
    assert.match((parseKernelDrag('{"from":"webgpu:0"}') as Error).message, /names no kernel/);
    assert.match((parseKernelDrag('{"kernelId":"","from":"webgpu:0"}') as Error).message, /names no kernel/);
    assert.match(
      (parseKernelDrag('{"kernelId":"heat","from":"../etc"}') as Error).message,
      /heat has no valid device key/,
    );
    assert.match((parseKernelDrag('{"kernelId":"heat"}') as Error).message, /no valid device key/);
  });

  test('a drop on another device, or on a kernel row of another device, moves the kernel there', () => {
    const payload = { kernelId: 'heat', from: 'webgpu:0' };
    assert.deepEqual(dropPlan(payload, device1), {
      action: 'migrate',
      kernelId: 'heat',
      from: 'webgpu:0',
      to: 'webgpu:1',
    });
    const sibling = node('kernel', { kernel: 'wave', device: 'webgpu:1' });
    assert.deepEqual(dropPlan(payload, sibling), {
      action: 'migrate',
      kernelId: 'heat',
      from: 'webgpu:0',
      to: 'webgpu:1',
    });
  });

  test('a drop on its own device, on a link, on a note or on empty space explains instead of moving', () => {
    const payload = { kernelId: 'heat', from: 'webgpu:0' };
    assert.deepEqual(dropPlan(payload, node('device', { device: 'webgpu:0' })), {
      action: 'explain',
      message: 'heat already runs on webgpu:0.',
    });
    assert.deepEqual(dropPlan(payload, heatRow), { action: 'explain', message: 'heat already runs on webgpu:0.' });
    // A link row names its far end, but dropping there would be a guess: say where to drop.
    for (const target of [node('link', { device: 'webgpu:1' }), node('hostLink'), node('note'), undefined]) {
      assert.deepEqual(dropPlan(payload, target), {
        action: 'explain',
        message: 'Drop heat onto a device (a chip row) to move it there.',
      });
    }
  });
});
