// A CUDA kernel on a machine without CUDA: a warning on its manifest entry, no popup, and the
// WebGPU kernel beside it runs. Through the real server over stdio. (On a CUDA machine the PTX
// kernel runs and there is nothing to say: the test is skipped there.)
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { kernelsRequest, serverInfoRequest } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { fixture } from '../support/repo';
import { tickKernel, withServerProcess } from '../support/serverProcess';

test('a CUDA kernel without CUDA is a warning on its manifest entry, not a popup', { timeout: 120_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-unavailable-'));
  writeFileSync(join(root, 'tick.wgsl'), tickKernel(1));
  copyFileSync(fixture('kernels', 'abi_kernels.ptx'), join(root, 'affine.ptx'));
  const manifest = JSON.stringify(
    {
      version: 1,
      kernels: [
        { id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 50 },
        { id: 'affine', source: 'affine.ptx', entryPoint: 'affine', stateBytes: 16, rateHz: 50 },
      ],
    },
    null,
    2,
  );
  writeFileSync(join(root, 'ringkernel.json'), manifest);
  const uri = pathToFileURL(join(root, 'ringkernel.json')).href;
  await withServerProcess(root, { initializationOptions: { validatesManifestSchema: true } }, async (server) => {
    const first = await server.connection.sendRequest(kernelsRequest);
    assert.equal(first.starting, true, 'while the probe runs, auto-start is pending: "starting", not "stopped"');
    const info = await pollUntil(
      'the kernels to start',
      async () => {
        const current = await server.connection.sendRequest(kernelsRequest);
        return current.kernels.find((k) => k.id === 'tick')?.state === 'running' &&
          current.kernels.find((k) => k.id === 'affine')?.state !== 'stopped'
          ? current
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const cuda = (await server.connection.sendRequest(serverInfoRequest)).backends.find((b) => b.backend === 'cuda');
    if (cuda?.available) {
      t.skip('CUDA is available here: the PTX kernel runs');
      return;
    }
    await pollUntil('auto-start to end', async () =>
      (await server.connection.sendRequest(kernelsRequest)).starting === false ? true : undefined,
    );
    const affine = info.kernels.find((k) => k.id === 'affine');
    assert.equal(affine?.state, 'failed');
    assert.match(affine?.unavailableHere ?? '', /^needs CUDA, unavailable here: .+/);
    assert.ok((affine?.unavailableHere ?? '').length < 140, 'the reason is shortened');
    const warning = await pollUntil(
      'the warning on the manifest',
      () =>
        server.diagnostics
          .filter((d) => d.uri === uri)
          .at(-1)
          ?.diagnostics.find((d) => /does not run on this machine/.test(d.message)),
      { timeoutMs: 30_000 },
    );
    assert.equal(warning.severity, 2);
    const idLine = manifest.split('\n').findIndex((line) => line.includes('"affine"') && line.includes('"id"'));
    assert.equal(warning.range.start.line, idLine, "on the kernel entry's id");
    assert.deepEqual(server.shown, [], 'no popup');
  });
});
