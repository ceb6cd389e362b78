import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingKernelApi } from '../../client/src/api';
import { hugeSource, randomText } from '../support/badInput';
import { pollUntil } from '../support/poll';

const EXTENSION_ID = 'ringkernel.ringkernel';

async function openFixture(relative: string): Promise<vscode.TextDocument> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the integration tests need the fixture workspace open');
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(folder.uri.fsPath, relative)));
  await vscode.window.showTextDocument(document);
  return document;
}

async function activeApi(): Promise<RingKernelApi> {
  const extension = vscode.extensions.getExtension<RingKernelApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is not installed in this VS Code`);
  return pollUntil('the extension to activate', () => (extension.isActive ? extension.exports : undefined));
}

async function readyServer(api: RingKernelApi, notPid?: number): Promise<number> {
  return pollUntil(
    'the language server to be ready',
    async () => {
      if (api.status.state !== 'ready') return undefined;
      const info = await api.serverInfo();
      return info.pid !== notPid ? info.pid : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

describe('RingKernel language server', function () {
  this.timeout(90_000);

  it('activates when a .wgsl file is opened, with the WGSL language', async () => {
    const document = await openFixture('kernel.wgsl');
    assert.equal(document.languageId, 'wgsl');
    const api = await activeApi();
    await readyServer(api);
  });

  it('gives the PTX and Metal files their languages', async () => {
    const ptx = await vscode.workspace.openTextDocument({ language: 'ptx', content: '.version 8.0\n.target sm_90\n' });
    const metal = await vscode.workspace.openTextDocument({ language: 'msl', content: 'kernel void k() {}\n' });
    assert.equal(ptx.languageId, 'ptx');
    assert.equal(metal.languageId, 'msl');
    const languages = await vscode.languages.getLanguages();
    for (const id of ['wgsl', 'ptx', 'msl']) assert.ok(languages.includes(id), `language ${id} is not contributed`);
  });

  it('answers ringkernel/serverInfo with its version, pid and every backend', async () => {
    const api = await activeApi();
    await readyServer(api);
    const info = await pollUntil(
      'the backend probe to finish',
      async () => {
        const current = await api.serverInfo();
        return current.probing ? undefined : current;
      },
      { timeoutMs: 45_000 },
    );
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.equal(info.version, (extension?.packageJSON as { version: string }).version);
    assert.ok(info.pid > 0 && info.pid !== process.pid, 'the server runs in its own process');
    assert.deepEqual(info.backends.map((b) => b.backend).sort(), ['cuda', 'webgpu']);
    for (const backend of info.backends) {
      if (!backend.available)
        assert.ok(backend.reason && backend.reason.length > 10, `${backend.backend} is unavailable without a reason`);
      else assert.ok(backend.devices.length > 0, `${backend.backend} is available with no device`);
    }
    assert.match(api.statusBar.text, /RingKernel: .*WebGPU.*CUDA/);
  });

  it('comes back with a new process after "RingKernel: Restart Server"', async () => {
    const api = await activeApi();
    const before = await readyServer(api);
    await vscode.commands.executeCommand('ringkernel.restartServer', { confirmed: true });
    const after = await readyServer(api, before);
    assert.notEqual(after, before);
    assert.equal(api.status.crashRestarts, 0, 'an explicit restart is not a crash');
  });

  it('restarts a server killed from outside and says so in the status bar', async () => {
    const api = await activeApi();
    const before = await readyServer(api);
    const crashesBefore = api.status.crashRestarts;
    process.kill(before, 'SIGKILL');
    const after = await readyServer(api, before);
    assert.notEqual(after, before);
    assert.equal(api.status.crashRestarts, crashesBefore + 1);
    assert.match(api.statusBar.text, /restarted/);
    assert.match(api.statusBar.tooltip, /restarted after 1 crash/);
  });

  it('stays up and answers after random bytes, an empty file and 10 MB files in every language', async () => {
    const api = await activeApi();
    const pid = await readyServer(api);
    const languages = ['wgsl', 'ptx', 'msl'] as const;
    for (const language of languages) {
      for (const content of [randomText(64 * 1024), '', hugeSource(language, 10)]) {
        const document = await vscode.workspace.openTextDocument({ language, content });
        assert.equal(document.languageId, language);
      }
    }
    const info = await api.serverInfo();
    assert.equal(info.pid, pid, 'the server did not restart');
    assert.equal(api.status.state, 'ready');
  });
});
