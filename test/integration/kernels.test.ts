// The example workspace's kernels, as a user sees them: the WGSL "heat" kernel starts on workspace
// open, its step count rises, and editing kernels/heat.wgsl and saving hot-swaps it with the state
// kept; invalid code leaves it running, rollback returns to the previous version, and an endless
// loop is rolled back on its own. The heat kernel's state header counts steps (word 0) and the
// heat added (word 1, HEAT_PER_STEP per step), which tells which version ran each step.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingKernelApi, ReloadOutcome } from '../../client/src/api';
import { pollUntil } from '../support/poll';

const HEAT_LINE = /const HEAT_PER_STEP: u32 = \d+u;/;

async function api(): Promise<RingKernelApi> {
  const extension = vscode.extensions.getExtension<RingKernelApi>('ringkernel.ringkernel');
  assert.ok(extension, 'the extension is installed');
  return extension.activate();
}

function heatUri(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the example workspace is open');
  return vscode.Uri.file(path.join(folder.uri.fsPath, 'kernels', 'heat.wgsl'));
}

/** Edits heat.wgsl in the editor as a user would, saves it, and waits for heat's reload outcome. */
async function editAndSave(ringkernel: RingKernelApi, edit: (text: string) => string): Promise<ReloadOutcome> {
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(heatUri()));
  const document = editor.document;
  const outcome = new Promise<ReloadOutcome>((resolve) => {
    const listener = ringkernel.onDidReloadKernel((o) => {
      if (o.kernelId !== 'heat' || o.status === 'superseded') return;
      listener.dispose();
      resolve(o);
    });
  });
  const whole = new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
  assert.ok(await editor.edit((builder) => builder.replace(whole, edit(document.getText()))));
  assert.ok(await document.save(), 'heat.wgsl saved');
  return outcome;
}

async function heat(ringkernel: RingKernelApi): Promise<{ step: number; steps: number; heatAdded: number; version: number }> {
  const state = await ringkernel.readKernelState('heat', 2);
  return { step: state.step, steps: state.words[0] ?? 0, heatAdded: state.words[1] ?? 0, version: state.version };
}

async function stepsPast(ringkernel: RingKernelApi, from: number, steps: number): Promise<Awaited<ReturnType<typeof heat>>> {
  return pollUntil(`heat to pass step ${from + steps}`, async () => {
    const now = await heat(ringkernel);
    return now.step >= from + steps ? now : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200 });
}

describe('Kernels of the example workspace', function () {
  this.timeout(120_000);
  let ringkernel: RingKernelApi;
  /** heat's counters when the previous test ended. */
  let last = { step: 0, steps: 0, heatAdded: 0, version: 1 };

  before(async () => {
    ringkernel = await api();
  });

  it('starts heat on workspace open, and its step count rises', async () => {
    const running = await pollUntil('heat to run', async () => {
      const info = await ringkernel.kernels();
      const view = info.kernels.find((k) => k.id === 'heat');
      return view?.state === 'running' && view.step > 0 ? info : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    assert.ok(running.manifest?.endsWith('ringkernel.json'));
    const first = await heat(ringkernel);
    last = await stepsPast(ringkernel, first.step, 5);
    assert.equal(last.steps, last.step, 'the kernel counts its own steps');
    assert.equal(last.heatAdded, last.step, 'v1 adds 1 unit of heat per step');
    const bar = await pollUntil('the kernel status bar', () => (/heat v1/.test(ringkernel.kernelStatusBar.text) ? ringkernel.kernelStatusBar : undefined));
    assert.ok(bar.visible);
  });

  it('reports why the PTX kernel cannot run on a machine without CUDA', async function () {
    const info = await ringkernel.serverInfo();
    if (info.backends.find((b) => b.backend === 'cuda')?.available) this.skip();
    const counter = await pollUntil('counter to be reported', async () => (await ringkernel.kernels()).kernels.find((k) => k.id === 'counter' && k.state === 'failed'));
    assert.match(counter.error ?? '', /needs CUDA, which is unavailable here/);
  });

  it('hot-swaps a valid save: the new version runs and the state is kept', async () => {
    const before = await heat(ringkernel);
    const outcome = await editAndSave(ringkernel, (text) => text.replace(HEAT_LINE, 'const HEAT_PER_STEP: u32 = 5u;'));
    assert.equal(outcome.status, 'reloaded', outcome.message);
    assert.match(outcome.message, /^heat v2 reloaded on webgpu:\d+: running in \d+ ms \(state preserved, 4\.0 MiB\)(; rollback point saved \d+ ms after the save)?$/);
    const after = await stepsPast(ringkernel, before.step, 5);
    // heat added = S·1 + (N − S)·5, with S the step of the swap: it must solve to a step in between.
    const swapStep = (5 * after.step - after.heatAdded) / 4;
    assert.ok(Number.isInteger(swapStep) && swapStep >= before.step && swapStep < after.step,
      `heat added ${after.heatAdded} after ${after.step} steps does not fit a swap after step ${before.step}`);
    assert.equal(after.steps, after.step, 'the step counter kept counting across the swap');
    assert.equal(after.version, 2);
    await pollUntil('the status bar to show v2', () => (/heat v2/.test(ringkernel.kernelStatusBar.text) ? true : undefined));
    last = after;
  });

  it('leaves the running version alone when the saved code is invalid', async () => {
    const outcome = await editAndSave(ringkernel, (text) => text.replace(HEAT_LINE, 'const HEAT_PER_STEP: u32 = 5u +;'));
    assert.equal(outcome.status, 'rejected');
    assert.match(outcome.message, /v2 keeps running/);
    const diagnostics = await pollUntil('Tint\'s error on heat.wgsl', () => {
      const found = vscode.languages.getDiagnostics(heatUri()).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
      return found.length > 0 ? found : undefined;
    });
    assert.ok(diagnostics.length > 0);
    const before = await heat(ringkernel);
    const after = await stepsPast(ringkernel, before.step, 5);
    assert.equal(after.version, 2);
    assert.equal(after.heatAdded - before.heatAdded, 5 * (after.step - before.step), 'v2 still runs');
    last = after;
  });

  it('rolls back to the previous version with "Roll Back Kernel", keeping the state', async () => {
    // Put valid code back first, so a later save does not start from a broken file.
    const fixed = await editAndSave(ringkernel, (text) => text.replace(/const HEAT_PER_STEP: u32 = [^;]*;/, 'const HEAT_PER_STEP: u32 = 5u;'));
    assert.equal(fixed.status, 'unchanged', fixed.message);
    const outcome = await vscode.commands.executeCommand<ReloadOutcome>('ringkernel.rollbackKernel', 'heat');
    assert.equal(outcome.status, 'rolledBack', outcome.message);
    assert.equal(outcome.fromVersion, 2);
    assert.equal(outcome.toVersion, 1);
    const first = await stepsPast(ringkernel, last.step, 2);
    const later = await stepsPast(ringkernel, first.step, 5);
    assert.equal(later.version, 1);
    assert.equal(later.heatAdded - first.heatAdded, later.step - first.step, 'v1 again: 1 per step');
    assert.ok(later.heatAdded >= last.heatAdded, 'the heat added under v2 is still in the state');
    last = later;
  });

  it('rolls back on its own a version that hangs, from its checkpoint', async function () {
    this.timeout(180_000);
    const outcome = await editAndSave(ringkernel, (text) => text.replace('  let n = arrayLength(&rod.cells) / 2u;',
      '  loop {\n    if (rod.reserved0 == 0xFFFFFFFFu) { break; }\n    rod.reserved1 = rod.reserved1 + 1u;\n  }\n  let n = arrayLength(&rod.cells) / 2u;'));
    assert.equal(outcome.status, 'autoRolledBack', outcome.message);
    assert.match(outcome.message, /^heat v3 hung .*rolled back to v1 from its checkpoint at step \d+/);
    const first = await stepsPast(ringkernel, 0, 1);
    const later = await stepsPast(ringkernel, first.step, 5);
    assert.equal(later.version, 1);
    assert.equal(later.heatAdded - first.heatAdded, later.step - first.step, 'v1 runs again');
    assert.ok(later.heatAdded >= last.heatAdded, 'nothing was lost');
    const info = await ringkernel.kernels();
    assert.equal(info.stats.automaticRollbacks, 1);
  });
});

describe('Kernels: stopping, starting and the manifest', function () {
  this.timeout(120_000);
  let ringkernel: RingKernelApi;

  before(async () => {
    ringkernel = await api();
  });

  it('"Stop Kernels" keeps heat\'s state and "Start Kernels" continues from it', async () => {
    const running = await pollUntil('heat to run', async () => ((await ringkernel.kernels()).kernels.find((k) => k.id === 'heat' && k.state === 'running')));
    const stopped = await vscode.commands.executeCommand<{ stopped: string[] }>('ringkernel.stopKernels');
    assert.ok(stopped.stopped.includes('heat'));
    const view = await pollUntil('heat to be stopped', async () => ((await ringkernel.kernels()).kernels.find((k) => k.id === 'heat' && k.state === 'stopped')));
    assert.ok(view.step >= running.step, 'the stopped kernel keeps its step count');
    await pollUntil('the status bar to say so', () => (/kernels stopped|counter failed/.test(ringkernel.kernelStatusBar.text) && !/heat v/.test(ringkernel.kernelStatusBar.text) ? true : undefined));
    const started = await vscode.commands.executeCommand<{ started: string[] }>('ringkernel.startKernels');
    assert.ok(started.started.includes('heat'), JSON.stringify(started));
    const after = await stepsPast(ringkernel, view.step, 3);
    assert.equal(after.steps, after.step, 'heat went on from its checkpoint: its own step count matches');
    assert.ok(after.heatAdded >= view.step, 'the heat added before the stop is still there');
  });

  it('shows a duplicate kernel id in ringkernel.json as a diagnostic, before it is saved, and runs nothing from it', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder);
    const uri = vscode.Uri.joinPath(folder.uri, 'ringkernel.json');
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const text = editor.document.getText();
    const whole = new vscode.Range(editor.document.positionAt(0), editor.document.positionAt(text.length));
    assert.ok(await editor.edit((builder) => builder.replace(whole, text.replace('"id": "counter"', '"id": "heat"'))));
    try {
      const [duplicate] = await pollUntil('the duplicate id diagnostic', () => {
        const found = vscode.languages.getDiagnostics(uri).filter((d) => /id "heat" is already used/.test(d.message));
        return found.length > 0 ? found : undefined;
      });
      assert.ok(duplicate);
      assert.equal(duplicate.severity, vscode.DiagnosticSeverity.Error);
      assert.equal(editor.document.lineAt(duplicate.range.start.line).text.trim(), '"id": "heat",');
      const heat = (await ringkernel.kernels()).kernels.filter((k) => k.id === 'heat');
      assert.equal(heat.length, 1, 'the unsaved manifest changed nothing that runs');
    } finally {
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
    await pollUntil('the diagnostic to go once the manifest is back', () => (vscode.languages.getDiagnostics(uri).some((d) => /already used/.test(d.message)) ? undefined : true));
  });
});
