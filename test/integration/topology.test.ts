import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingKernelApi, TopologyNode } from '../../client/src/api';
import type { DrainOutcome, MeasureTopologyResult } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';

const EXTENSION_ID = 'ringkernel.ringkernel';

async function readyApi(): Promise<RingKernelApi> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the integration tests need the fixture workspace open');
  // Opening a kernel activates the extension (a no-op when an earlier suite did).
  await vscode.window.showTextDocument(
    await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder.uri.fsPath, 'kernel.wgsl'))),
  );
  const extension = vscode.extensions.getExtension<RingKernelApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is not installed in this VS Code`);
  const api = await pollUntil('the extension to activate', () => (extension.isActive ? extension.exports : undefined));
  await pollUntil('the language server to be ready', () => (api.status.state === 'ready' ? true : undefined), {
    timeoutMs: 30_000,
  });
  return api;
}

async function deviceItems(
  api: RingKernelApi,
  what: string,
  accept: (devices: TopologyNode[]) => boolean = () => true,
): Promise<TopologyNode[]> {
  return pollUntil(
    what,
    async () => {
      const devices = (await api.topologyItems()).filter((node) => node.kind === 'device');
      return devices.length > 0 && accept(devices) ? devices : undefined;
    },
    { timeoutMs: 45_000 },
  );
}

describe('GPU Topology view', function () {
  this.timeout(120_000);

  it('shows every device the backends found, each with its host link', async () => {
    const api = await readyApi();
    await vscode.commands.executeCommand('workbench.view.extension.ringkernel');
    const devices = await deviceItems(api, 'the topology view to list the devices');
    const info = await api.serverInfo();
    const expected = info.backends
      .filter((b) => b.available)
      .flatMap((b) => b.devices.map((d) => ({ key: `${d.backend}:${d.index}`, name: d.name })))
      .sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(
      devices.map((d) => ({ key: d.device, name: d.label })).sort((a, b) => (a.key ?? '').localeCompare(b.key ?? '')),
      expected,
    );
    for (const device of devices) {
      assert.match(device.description ?? '', /^(CUDA|WebGPU) · .*\d+ kernels?$/);
      const host = device.children[0];
      assert.equal(host?.kind, 'hostLink');
      assert.match(host?.description ?? '', /GB\/s .* (measured|estimated)$/);
    }
    if (!info.backends.some((b) => b.backend === 'cuda' && b.available)) {
      const items = await api.topologyItems();
      const notes = items.find((node) => node.kind === 'notes');
      assert.ok(
        notes?.children.some((note) => /cuda probe unavailable/.test(note.label)),
        'the view says CUDA could not be probed',
      );
    }
  });

  it('RingKernel: Measure Topology completes and marks the host links measured', async () => {
    const api = await readyApi();
    const result = await vscode.commands.executeCommand<MeasureTopologyResult | undefined>(
      'ringkernel.measureTopology',
    );
    assert.ok(result, 'the command reported a failure (see the RingKernel log)');
    assert.deepEqual(result.failures, []);
    assert.equal(result.cancelled, false);
    assert.ok(result.hostLinks >= 2);
    const devices = await deviceItems(api, 'host links marked measured', (list) =>
      list.every((d) => d.children[0]?.basis === 'measured'),
    );
    for (const device of devices) assert.match(device.children[0]?.description ?? '', /measured$/);
  });

  it('a custom selector set through the API decides placements, and one that throws falls back to LeastLoaded', async () => {
    const api = await readyApi();
    const settings = vscode.workspace.getConfiguration('ringkernel');
    await settings.update('loadBalancing', 'custom', vscode.ConfigurationTarget.Global);
    let selector = api.setDeviceSelector((candidates) => candidates[candidates.length - 1]?.key);
    try {
      const chosen = await pollUntil('the custom selector to decide', async () => {
        const placement = await api.previewPlacement();
        return placement.ok && placement.decidedBy === 'custom' ? placement : undefined;
      });
      assert.ok(chosen.ok);
      selector.dispose();
      selector = api.setDeviceSelector(() => {
        throw new Error('this selector fails on purpose');
      });
      const fallback = await pollUntil('LeastLoaded to stand in for the failing selector', async () => {
        const placement = await api.previewPlacement();
        return placement.ok && placement.selectorFallback?.code === 'SELECTOR_THREW' ? placement : undefined;
      });
      assert.ok(fallback.ok);
      assert.equal(fallback.decidedBy, 'leastLoaded');
      assert.match(fallback.selectorFallback?.message ?? '', /fails on purpose/);
    } finally {
      selector.dispose();
      await settings.update('loadBalancing', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('draining a device from its context menu accounts for every kernel on it and the view marks it drained', async () => {
    const api = await readyApi();
    // Whether the workspace's kernels auto-started (and are still starting) depends on the suites
    // before: take the kernels on the device once none is starting and the view shows exactly
    // what the server says runs there, so a kernel that lands mid-test cannot make it disagree.
    const [device, onIt] = await pollUntil(
      'the kernels to settle and the view to agree with them',
      async () => {
        const kernels = (await api.kernels()).kernels;
        if (kernels.some((k) => k.state === 'starting')) return undefined;
        const [first] = (await api.topologyItems()).filter((node) => node.kind === 'device');
        if (!first?.device) return undefined;
        const inView = first.children
          .filter((c) => c.kind === 'kernel')
          .map((c) => c.kernel ?? '')
          .sort();
        const inServer = kernels
          .filter((k) => k.device === first.device && k.state !== 'stopped' && k.state !== 'failed')
          .map((k) => k.id)
          .sort();
        return inView.join() === inServer.join() ? ([first, inView] as const) : undefined;
      },
      { timeoutMs: 45_000 },
    );
    const result = await vscode.commands.executeCommand<DrainOutcome | undefined>('ringkernel.drainDevice', device);
    assert.ok(result, 'the command reported a failure (see the RingKernel log)');
    assert.equal(result.device, device.device);
    // Each kernel either moved or kept running there, with why; none is lost.
    assert.deepEqual(
      [...result.migrations.map((m) => m.kernelId), ...result.stayed.map((s) => s.kernelId)].sort(),
      onIt,
    );
    for (const stayed of result.stayed)
      assert.ok(stayed.reason.length > 0, `${stayed.kernelId} stayed without a reason`);
    await deviceItems(api, 'the device to show as drained', (list) =>
      list.some(
        (d) =>
          d.device === device.device &&
          d.drained === true &&
          /drained( · \d+ kernels? still running)?$/.test(d.description ?? ''),
      ),
    );
    const unknown = await vscode.commands.executeCommand<DrainOutcome | undefined>('ringkernel.drainDevice', 'cuda:42');
    assert.equal(unknown, undefined, 'an unknown device is an error shown to the user, not an outcome');
  });
});
