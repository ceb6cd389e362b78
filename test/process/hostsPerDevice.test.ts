// ringkernel.kernels.maxHostsPerDevice bounds the device host processes, through the real server.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kernelsRequest, startKernelsRequest } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { tickKernel, withServerProcess } from '../support/serverProcess';

test(
  'three WebGPU kernels on one device with maxHostsPerDevice 2 run in two processes',
  { timeout: 180_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-hosts-'));
    writeFileSync(join(root, 'tick.wgsl'), tickKernel(1));
    const kernels = ['a', 'b', 'c'].map((id) => ({
      id,
      source: 'tick.wgsl',
      entryPoint: 'step',
      stateBytes: 16,
      rateHz: 50,
      device: 0,
    }));
    writeFileSync(join(root, 'ringkernel.json'), JSON.stringify({ version: 1, kernels }));
    await withServerProcess(root, {}, async (server) => {
      await server.configure({ kernels: { autoStart: false, maxHostsPerDevice: 2 } });
      const started = await pollUntil(
        'the probe to finish',
        async () => {
          const result = await server.connection.sendRequest(startKernelsRequest, {});
          return /still being probed/.test(result.error ?? '') ? undefined : result;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.deepEqual(started.started, ['a', 'b', 'c'], JSON.stringify(started));
      const info = await pollUntil(
        'every kernel to step',
        async () => {
          const current = await server.connection.sendRequest(kernelsRequest);
          return current.kernels.every((k) => k.state === 'running' && k.step > 0 && k.hostPid !== undefined)
            ? current
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const pids = new Set(info.kernels.map((k) => k.hostPid));
      assert.equal(pids.size, 2, `host pids: ${info.kernels.map((k) => `${k.id}=${k.hostPid ?? '?'}`).join(', ')}`);
    });
  },
);
