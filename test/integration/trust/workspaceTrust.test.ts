// Workspace trust in a real VS Code, with trust on as a user has it (the default suite runs with
// --disable-workspace-trust, so every folder is trusted there). This configuration opens a folder
// the fresh profile never trusted: the example kernels, the fixture files, and a
// `.vscode/settings.json` whose `ringkernel.ptxas.path` names a script inside the folder that
// records each time it runs (what a hostile repository would do; see untrustedWorkspace() in
// test/launch/common.ts).
//
// In Restricted Mode RingKernel validates (Tint reads the text; ptxas and the parsers execute
// nothing of the folder's) but runs nothing: no kernel starts, no device host is started, the
// kernel status item says so, and the folder's own `ringkernel.ptxas.path` is ignored
// (package.json's `restrictedConfigurations`), so its script never runs. Granting trust starts
// the kernels and lets that setting apply.
//
// Granting trust: no extension API does it (`requestWorkspaceTrust` is a proposed API, and it
// too only asks the user in a dialog), so the test opens the Workspace Trust editor and asks the
// launcher to press its "Trust" button as a user would (a `[ringkernel-ui] grant-workspace-trust`
// console line; test/launch/offline.ts drives the page with Playwright). Under a launcher
// without a UI driver (test-electron) that test is skipped, saying why.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KernelsInfo, RingKernelApi } from '../../../client/src/api';
import { pollUntil } from '../../support/poll';

/** Where the folder's stand-in for ptxas records its runs (written by untrustedWorkspace()). */
const PTXAS_RUNS = path.join('.vscode', 'ptxas-runs.log');

async function api(): Promise<RingKernelApi> {
  const extension = vscode.extensions.getExtension<RingKernelApi>('ringkernel.ringkernel');
  assert.ok(extension, 'the extension is installed');
  return extension.activate();
}

function folder(): string {
  const first = vscode.workspace.workspaceFolders?.[0];
  assert.ok(first, 'the trust configuration opens a folder');
  return first.uri.fsPath;
}

function ptxasRuns(): string[] {
  const file = path.join(folder(), PTXAS_RUNS);
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
    : [];
}

/** The command lines of the processes below `pid` (Linux /proc), to see which children the server started. */
function descendantCommands(pid: number): string[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const below = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of parents)
      if (below.has(parent) && !below.has(child)) {
        below.add(child);
        grew = true;
      }
  }
  below.delete(pid);
  const commands: string[] = [];
  for (const child of below) {
    try {
      commands.push(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim());
    } catch {
      // ended
    }
  }
  return commands;
}

function diagnosticsFrom(uri: vscode.Uri, source: RegExp): vscode.Diagnostic[] | undefined {
  const found = vscode.languages.getDiagnostics(uri).filter((d) => source.test(d.source ?? ''));
  return found.length > 0 ? found : undefined;
}

function running(info: KernelsInfo): string[] {
  return info.kernels
    .filter((k) => k.state !== 'stopped' || k.step > 0)
    .map((k) => `${k.id} (${k.state}, step ${k.step})`);
}

describe('Workspace trust (trust enabled; the folder opens untrusted)', function () {
  this.timeout(240_000);
  let ringkernel: RingKernelApi;

  before(async () => {
    ringkernel = await api();
  });

  it('opens in Restricted Mode: the kernels are listed, none runs, no device host starts, and the status item says why', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'a folder this fresh profile never trusted opens untrusted');
    // The probe has finished (so an auto-start would have happened by now) and the manifest is read.
    const info = await pollUntil(
      'the kernels to be listed after the probe',
      async () => {
        const [kernels, server] = await Promise.all([ringkernel.kernels(), ringkernel.serverInfo()]);
        return kernels.kernels.length > 0 && !server.probing ? kernels : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.equal(info.trusted, false);
    assert.deepEqual(
      info.kernels.map((k) => k.id),
      ['heat', 'counter'],
    );
    assert.deepEqual(running(info), [], 'no kernel started');
    const { pid } = await ringkernel.serverInfo();
    const children = descendantCommands(pid);
    assert.deepEqual(
      children.filter((c) => /deviceHost\.js/.test(c)),
      [],
      `no device host was started (the server's processes: ${JSON.stringify(children)})`,
    );
    await pollUntil('the kernel status item to say the kernels are off', () =>
      ringkernel.kernelStatusBar.visible && /kernels off \(untrusted\)/.test(ringkernel.kernelStatusBar.text)
        ? true
        : undefined,
    );
    assert.match(ringkernel.kernelStatusBar.tooltip, /untrusted/);
  });

  it('refuses to start kernels or to read their state while untrusted', async () => {
    // The command says so (with a button that opens the trust editor) and returns nothing.
    assert.equal(await vscode.commands.executeCommand('ringkernel.startKernels'), undefined);
    await assert.rejects(ringkernel.readKernelState('heat'), /untrusted workspace/);
    assert.deepEqual(running(await ringkernel.kernels()), [], 'still no kernel runs');
  });

  it('validates WGSL and PTX, but never runs the tool the folder names in its settings', async () => {
    const wgsl = vscode.Uri.file(path.join(folder(), 'broken.wgsl'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(wgsl));
    const [tint] = await pollUntil('Tint diagnostics', () => diagnosticsFrom(wgsl, /^tint$/), { timeoutMs: 60_000 });
    assert.ok(tint);
    assert.match(tint.message, /cannot convert value of type 'abstract-float' to type 'i32'/);

    // The folder sets it, but VS Code does not apply the folder's value in Restricted Mode.
    assert.match(readFileSync(path.join(folder(), '.vscode', 'settings.json'), 'utf8'), /"ringkernel\.ptxas\.path"/);
    assert.equal(vscode.workspace.getConfiguration('ringkernel').get('ptxas.path'), '', 'the folder value is not used');

    const ptx = vscode.Uri.file(path.join(folder(), 'broken.ptx'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(ptx));
    const [diagnostic] = await pollUntil(
      'PTX diagnostics',
      () => diagnosticsFrom(ptx, /ptxas|ringkernel-ptx|cuda-jit/),
      {
        timeoutMs: 60_000,
      },
    );
    assert.ok(diagnostic);
    assert.match(diagnostic.message, /madd/);
    assert.deepEqual(ptxasRuns(), [], "the folder's ptxas.path script never ran");
  });

  it('starts the kernels when the user grants trust, and applies the folder settings from then on', async function () {
    if (process.env['RINGKERNEL_TEST_UI_DRIVER'] !== 'playwright') {
      // Nothing but the workbench's own UI grants trust; this launcher cannot press its buttons.
      this.skip();
    }
    let grantEvents = 0;
    const listener = vscode.workspace.onDidGrantWorkspaceTrust(() => grantEvents++);
    await vscode.commands.executeCommand('workbench.trust.manage');
    console.log('[ringkernel-ui] grant-workspace-trust');
    try {
      await pollUntil(
        'the launcher to press "Trust" in the Workspace Trust editor',
        () => (vscode.workspace.isTrusted && grantEvents > 0 ? true : undefined),
        { timeoutMs: 60_000 },
      );
    } finally {
      listener.dispose();
    }
    assert.equal(vscode.workspace.isTrusted, true);

    const started = await pollUntil(
      'heat to start once trusted',
      async () => {
        const info = await ringkernel.kernels();
        return info.trusted && info.kernels.some((k) => k.id === 'heat' && k.state === 'running' && k.step > 0)
          ? info
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    assert.equal(started.trusted, true);
    const { pid } = await ringkernel.serverInfo();
    assert.ok(
      descendantCommands(pid).some((c) => /deviceHost\.js/.test(c)),
      'heat runs in a device host the server started',
    );
    await pollUntil('the kernel status item to show the running kernel', () =>
      /untrusted/.test(ringkernel.kernelStatusBar.text) ? undefined : true,
    );
    const state = await ringkernel.readKernelState('heat', 2);
    assert.ok(state.step > 0);

    // Trusted, the folder's ptxas.path applies: the next validation of a PTX file runs its script.
    await pollUntil('the folder value of ringkernel.ptxas.path to apply', () =>
      vscode.workspace.getConfiguration('ringkernel').get<string>('ptxas.path') !== '' ? true : undefined,
    );
    const ptx = vscode.Uri.file(path.join(folder(), 'broken.ptx'));
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(ptx));
    // An edit validates again (with the settings the server has pulled since).
    await pollUntil(
      "the folder's ptxas to run on the next validation",
      async () => {
        assert.ok(await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), '\n')));
        return ptxasRuns().length > 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2000 },
    );
  });
});
