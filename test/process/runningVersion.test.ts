// When the running code is not the file's, the server says so (the kernel's view, a CodeLens at the
// entry point, the running version's source for a diff), and Stop then Start resumes the version
// that was running instead of re-applying the file. Through the real server over stdio.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  CodeLensRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  type CodeLens,
} from 'vscode-languageserver-protocol/node';
import {
  kernelsRequest,
  reloadKernelRequest,
  rollbackKernelRequest,
  runningSourceRequest,
  startKernelsRequest,
  stopKernelsRequest,
  type KernelView,
} from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { tickKernel, withServerProcess } from '../support/serverProcess';

test(
  'after a rollback the entry point says "running v1 (rolled back); the file is newer"; Stop then Start resumes v1',
  { timeout: 180_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-running-version-'));
    const path = join(root, 'tick.wgsl');
    const uri = pathToFileURL(path).href;
    writeFileSync(path, tickKernel(1));
    writeFileSync(
      join(root, 'ringkernel.json'),
      JSON.stringify({
        version: 1,
        kernels: [{ id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 100 }],
      }),
    );
    await withServerProcess(root, {}, async (server) => {
      assert.ok(server.initialized.capabilities.codeLensProvider, 'the server offers CodeLenses');
      const tick = async (): Promise<KernelView | undefined> =>
        (await server.connection.sendRequest(kernelsRequest)).kernels.find((k) => k.id === 'tick');
      await pollUntil('tick to run', async () => ((await tick())?.state === 'running' ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      await server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId: 'wgsl', version: 1, text: tickKernel(1) },
      });
      const lenses = (): Promise<CodeLens[] | null> =>
        server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
      assert.deepEqual(await lenses(), [], 'no lens while the kernel runs its file');

      await server.connection.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version: 2 },
        contentChanges: [{ text: tickKernel(2) }],
      });
      writeFileSync(path, tickKernel(2));
      await server.connection.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
      await pollUntil(
        'the save to reload',
        () => (server.outcomes.some((o) => o.status === 'reloaded') ? true : undefined),
        { timeoutMs: 60_000 },
      );
      const rolledBack = await server.connection.sendRequest(rollbackKernelRequest, { id: 'tick' });
      assert.equal(rolledBack.status, 'rolledBack');

      const view = await tick();
      assert.equal(view?.version, 1);
      assert.equal(view?.fileDiffers, 'rolledBack');
      const shown = (await lenses()) ?? [];
      assert.deepEqual(
        shown.map((l) => l.command?.title),
        ['tick: running v1 (rolled back); the file is newer', 'Reload', 'Show Diff'],
      );
      assert.equal(shown[0]?.range.start.line, 5, 'at the entry point, `fn step`');
      assert.deepEqual(
        shown.slice(1).map((l) => [l.command?.command, l.command?.arguments]),
        [
          ['ringkernel.reloadKernel', ['tick']],
          ['ringkernel.showRunningDiff', ['tick']],
        ],
      );
      const running = await server.connection.sendRequest(runningSourceRequest, { id: 'tick' });
      assert.equal(running.code, tickKernel(1));
      assert.equal(running.version, 1);
      assert.equal(running.path, path);

      // Stop, Start: the version that was running comes back, not the file as a new version.
      await server.connection.sendRequest(stopKernelsRequest);
      const before = server.outcomes.length;
      const started = await server.connection.sendRequest(startKernelsRequest, {});
      assert.deepEqual(started.started, ['tick']);
      const resumed = await tick();
      assert.equal(resumed?.version, 1);
      assert.equal(resumed?.fileDiffers, 'rolledBack', 'the reason survives the restart');
      // A reload asked for now is the only one: the start queued none of its own.
      const reload = await server.connection.sendRequest(reloadKernelRequest, { id: 'tick' });
      assert.equal(reload.status, 'reloaded');
      await pollUntil('the outcome to arrive', () => (server.outcomes.length > before ? true : undefined));
      assert.deepEqual(
        server.outcomes.slice(before).map((o) => `${o.status} v${o.fromVersion}->v${o.toVersion}`),
        ['reloaded v1->v3'],
      );
      assert.equal((await tick())?.fileDiffers, undefined);
      await pollUntil('the lenses to go', async () => ((await lenses())?.length === 0 ? true : undefined));
    });
  },
);
