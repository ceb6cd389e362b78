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

async function heat(
  ringkernel: RingKernelApi,
): Promise<{ step: number; steps: number; heatAdded: number; version: number }> {
  const state = await ringkernel.readKernelState('heat', 2);
  return { step: state.step, steps: state.words[0] ?? 0, heatAdded: state.words[1] ?? 0, version: state.version };
}

async function stepsPast(
  ringkernel: RingKernelApi,
  from: number,
  steps: number,
): Promise<Awaited<ReturnType<typeof heat>>> {
  return pollUntil(
    `heat to pass step ${from + steps}`,
    async () => {
      const now = await heat(ringkernel);
      return now.step >= from + steps ? now : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** HEAT_PER_STEP in a version of heat.wgsl. */
function perStep(text: string): number {
  const match = /const HEAT_PER_STEP: u32 = (\d+)u;/.exec(text);
  assert.ok(match?.[1], 'heat.wgsl declares HEAT_PER_STEP');
  return Number(match[1]);
}

async function runningHeat(ringkernel: RingKernelApi): Promise<Awaited<ReturnType<RingKernelApi['kernels']>>> {
  return pollUntil(
    'heat to run',
    async () => {
      const info = await ringkernel.kernels();
      const view = info.kernels.find((k) => k.id === 'heat');
      return view?.state === 'running' && view.step > 0 ? info : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

// Each test stands alone: it starts from heat running the workspace's own heat.wgsl (whatever
// version number that has by then), and afterEach puts that file back and waits until the code
// running is the file's again, so no test depends on what an earlier one left behind.
describe('Kernels of the example workspace', function () {
  this.timeout(120_000);
  let ringkernel: RingKernelApi;
  /** heat.wgsl as the example workspace has it. */
  let original: string;

  before(async () => {
    ringkernel = await api();
    original = new TextDecoder().decode(await vscode.workspace.fs.readFile(heatUri()));
  });

  beforeEach(async () => {
    await runningHeat(ringkernel);
  });

  afterEach(async () => {
    const document = await vscode.workspace.openTextDocument(heatUri());
    if (document.getText() === original && !document.isDirty) return;
    const outcome = await editAndSave(ringkernel, () => original);
    assert.ok(
      outcome.status === 'reloaded' || outcome.status === 'unchanged',
      `putting heat.wgsl back: ${outcome.message}`,
    );
  });

  it('starts heat on workspace open, and its step count rises', async () => {
    const running = await runningHeat(ringkernel);
    assert.ok(running.manifest?.endsWith('ringkernel.json'));
    const first = await heat(ringkernel);
    const after = await stepsPast(ringkernel, first.step, 5);
    assert.equal(after.steps, after.step, 'the kernel counts its own steps');
    assert.equal(
      after.heatAdded - first.heatAdded,
      perStep(original) * (after.step - first.step),
      'each step adds HEAT_PER_STEP units of heat',
    );
    const bar = await pollUntil('the kernel status bar', () =>
      new RegExp(`heat v${after.version}`).test(ringkernel.kernelStatusBar.text)
        ? ringkernel.kernelStatusBar
        : undefined,
    );
    assert.ok(bar.visible);
  });

  it('reports why the PTX kernel cannot run on a machine without CUDA', async function () {
    const info = await ringkernel.serverInfo();
    if (info.backends.find((b) => b.backend === 'cuda')?.available) this.skip();
    const counter = await pollUntil('counter to be reported', async () =>
      (await ringkernel.kernels()).kernels.find((k) => k.id === 'counter' && k.state === 'failed'),
    );
    assert.match(counter.error ?? '', /needs CUDA, which is unavailable here/);
  });

  it('hot-swaps a valid save: the new version runs and the state is kept', async () => {
    const oldRate = perStep(original);
    const newRate = oldRate + 4;
    const before = await heat(ringkernel);
    const outcome = await editAndSave(ringkernel, (text) =>
      text.replace(HEAT_LINE, `const HEAT_PER_STEP: u32 = ${newRate}u;`),
    );
    assert.equal(outcome.status, 'reloaded', outcome.message);
    assert.equal(outcome.fromVersion, before.version);
    assert.ok(outcome.toVersion > before.version);
    assert.match(
      outcome.message,
      new RegExp(
        `^heat v${outcome.toVersion} reloaded on webgpu:\\d+: running in \\d+ ms \\(state preserved, 4\\.0 MiB\\)(; rollback point saved \\d+ ms after the save)?$`,
      ),
    );
    const after = await stepsPast(ringkernel, before.step, 5);
    // heat added since \`before\` = (S − b)·old + (N − S)·new, with S the step of the swap: it must solve to a step in between.
    const swapStep =
      (newRate * after.step - oldRate * before.step - (after.heatAdded - before.heatAdded)) / (newRate - oldRate);
    assert.ok(
      Number.isInteger(swapStep) && swapStep >= before.step && swapStep < after.step,
      `heat added ${after.heatAdded - before.heatAdded} over steps ${before.step}..${after.step} does not fit a swap in between`,
    );
    assert.equal(after.steps, after.step, 'the step counter kept counting across the swap');
    assert.equal(after.version, outcome.toVersion);
    await pollUntil('the status bar to show the new version', () =>
      new RegExp(`heat v${outcome.toVersion}`).test(ringkernel.kernelStatusBar.text) ? true : undefined,
    );
  });

  it('leaves the running version alone when the saved code is invalid', async () => {
    const running = await heat(ringkernel);
    const outcome = await editAndSave(ringkernel, (text) =>
      text.replace(HEAT_LINE, 'const HEAT_PER_STEP: u32 = 5u +;'),
    );
    assert.equal(outcome.status, 'rejected');
    assert.match(outcome.message, new RegExp(`v${running.version} keeps running`));
    const diagnostics = await pollUntil("Tint's error on heat.wgsl", () => {
      const found = vscode.languages
        .getDiagnostics(heatUri())
        .filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
      return found.length > 0 ? found : undefined;
    });
    assert.ok(diagnostics.length > 0);
    const before = await heat(ringkernel);
    const after = await stepsPast(ringkernel, before.step, 5);
    assert.equal(after.version, running.version);
    assert.equal(
      after.heatAdded - before.heatAdded,
      perStep(original) * (after.step - before.step),
      'the running version still runs',
    );
  });

  it('rolls back to the previous version with "Roll Back Kernel", keeping the state', async () => {
    const start = await heat(ringkernel);
    const reloaded = await editAndSave(ringkernel, (text) =>
      text.replace(HEAT_LINE, `const HEAT_PER_STEP: u32 = ${perStep(original) + 4}u;`),
    );
    assert.equal(reloaded.status, 'reloaded', reloaded.message);
    const beforeRollback = await stepsPast(ringkernel, start.step, 2);
    const outcome = await vscode.commands.executeCommand<ReloadOutcome>('ringkernel.rollbackKernel', 'heat');
    assert.equal(outcome.status, 'rolledBack', outcome.message);
    assert.equal(outcome.fromVersion, reloaded.toVersion);
    assert.equal(outcome.toVersion, start.version);
    const first = await stepsPast(ringkernel, beforeRollback.step, 2);
    const later = await stepsPast(ringkernel, first.step, 5);
    assert.equal(later.version, start.version);
    assert.equal(
      later.heatAdded - first.heatAdded,
      perStep(original) * (later.step - first.step),
      'the previous version again',
    );
    assert.ok(
      later.heatAdded >= beforeRollback.heatAdded,
      'the heat added under the newer version is still in the state',
    );
  });

  it('rolls back on its own a version that hangs, from its checkpoint', async function () {
    this.timeout(180_000);
    const before = await heat(ringkernel);
    const rollbacksBefore = (await ringkernel.kernels()).stats.automaticRollbacks;
    const outcome = await editAndSave(ringkernel, (text) =>
      text.replace(
        '  let n = arrayLength(&rod.cells) / 2u;',
        '  loop {\n    if (rod.reserved0 == 0xFFFFFFFFu) { break; }\n    rod.reserved1 = rod.reserved1 + 1u;\n  }\n  let n = arrayLength(&rod.cells) / 2u;',
      ),
    );
    assert.equal(outcome.status, 'autoRolledBack', outcome.message);
    assert.match(
      outcome.message,
      new RegExp(`^heat v\\d+ hung .*rolled back to v${before.version} from its checkpoint at step \\d+`),
    );
    const first = await stepsPast(ringkernel, 0, 1);
    const later = await stepsPast(ringkernel, first.step, 5);
    assert.equal(later.version, before.version);
    assert.equal(
      later.heatAdded - first.heatAdded,
      perStep(original) * (later.step - first.step),
      'the previous version runs again',
    );
    assert.ok(later.heatAdded >= before.heatAdded, 'nothing was lost');
    const info = await ringkernel.kernels();
    assert.equal(info.stats.automaticRollbacks, rollbacksBefore + 1);
  });
});

describe('Kernels: stopping, starting and the manifest', function () {
  this.timeout(120_000);
  let ringkernel: RingKernelApi;

  before(async () => {
    ringkernel = await api();
  });

  it('"Stop Kernels" keeps heat\'s state and "Start Kernels" continues from it', async () => {
    const running = await pollUntil('heat to run', async () =>
      (await ringkernel.kernels()).kernels.find((k) => k.id === 'heat' && k.state === 'running'),
    );
    const stopped = await vscode.commands.executeCommand<{ stopped: string[] }>('ringkernel.stopKernels');
    assert.ok(stopped.stopped.includes('heat'));
    const view = await pollUntil('heat to be stopped', async () =>
      (await ringkernel.kernels()).kernels.find((k) => k.id === 'heat' && k.state === 'stopped'),
    );
    assert.ok(view.step >= running.step, 'the stopped kernel keeps its step count');
    await pollUntil('the status bar to say so', () =>
      /kernels stopped|counter failed/.test(ringkernel.kernelStatusBar.text) &&
      !/heat v/.test(ringkernel.kernelStatusBar.text)
        ? true
        : undefined,
    );
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
    await pollUntil('the diagnostic to go once the manifest is back', () =>
      vscode.languages.getDiagnostics(uri).some((d) => /already used/.test(d.message)) ? undefined : true,
    );
  });
});
