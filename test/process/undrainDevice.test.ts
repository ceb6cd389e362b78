// A drained device comes back with ringkernel/undrainDevice, through the real server over stdio.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { drainDeviceRequest, topologyRequest, undrainDeviceRequest } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { withServerProcess } from '../support/serverProcess';

test(
  'drain then undrain: the device is registered again and takes kernels; undraining one that is not drained says so',
  { timeout: 120_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-undrain-'));
    writeFileSync(join(root, 'ringkernel.json'), JSON.stringify({ version: 1, kernels: [] }));
    await withServerProcess(root, {}, async (server) => {
      const info = await pollUntil(
        'a registered device',
        async () => {
          const current = await server.connection.sendRequest(topologyRequest);
          return !current.probing && current.devices.length > 0 ? current : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const device = info.devices[0]?.key ?? '';
      await server.connection.sendRequest(drainDeviceRequest, { device });
      const drained = await server.connection.sendRequest(topologyRequest);
      assert.deepEqual(drained.drained, [device]);
      assert.equal(
        drained.devices.some((d) => d.key === device),
        false,
      );

      const answer = await server.connection.sendRequest(undrainDeviceRequest, { device });
      assert.equal(answer.device, device);
      assert.match(answer.message, /back in service/);
      const back = await server.connection.sendRequest(topologyRequest);
      assert.deepEqual(back.drained, []);
      assert.equal(back.devices.find((d) => d.key === device)?.available, true);
      await assert.rejects(
        server.connection.sendRequest(undrainDeviceRequest, { device }),
        /is not drained \(drained: none\)/,
      );
    });
  },
);
