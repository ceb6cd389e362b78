// The two webviews in a real VS Code: Router Stats opens and draws the server's (empty) stats;
// Kernel State opens on the running heat kernel, draws live frames whose bytes are heat's state
// (word 0 counts the steps), stops reading while paused or hidden, steps one frame on demand,
// marks a hot reload ("v3 at step 1,204") with the frame before it, and both come back through
// their serializers as after a window reload. What a panel received and drew comes from the
// extension's test hook (ringkernel.test.webviews, registered in test mode only): the drawing is
// reported by the webview's own script, so a page whose script or styles the policy blocked
// would never report.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingKernelApi, ReloadOutcome } from '../../client/src/api';
import type { StateRendered } from '../../client/src/webviews/webviewMessages';
import type { PanelReport, WebviewsReport } from '../../client/src/webviews/webviewPanels';
import { pollUntil } from '../support/poll';

const ROUTER_STATS = 'ringkernel.routerStats';
const KERNEL_STATE = 'ringkernel.kernelState';

async function api(): Promise<RingKernelApi> {
  const extension = vscode.extensions.getExtension<RingKernelApi>('ringkernel.ringkernel');
  assert.ok(extension, 'the extension is installed');
  return extension.activate();
}

async function report(): Promise<WebviewsReport> {
  return vscode.commands.executeCommand<WebviewsReport>('ringkernel.test.webviews');
}

type StateReport = WebviewsReport['kernelStates'][number];

async function heatPanel(): Promise<StateReport | undefined> {
  return (await report()).kernelStates.find((p) => p.kernelId === 'heat');
}

function rendered(panel: PanelReport | undefined): StateRendered | undefined {
  return panel?.lastRendered as StateRendered | undefined;
}

/** Polls until heat's panel has drawn a frame that `accept` likes. */
async function heatDrawn(
  what: string,
  accept: (drawn: StateRendered, panel: StateReport) => boolean,
  timeoutMs = 30_000,
): Promise<{ drawn: StateRendered; panel: StateReport }> {
  return pollUntil(
    what,
    async () => {
      const panel = await heatPanel();
      const drawn = rendered(panel);
      return panel && drawn && drawn.frames > 0 && accept(drawn, panel) ? { drawn, panel } : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

describe('Webviews: Router Stats and Kernel State', function () {
  this.timeout(180_000);
  let ringkernel: RingKernelApi;

  before(async () => {
    ringkernel = await api();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace
      .getConfiguration('ringkernel')
      .update('stateView.maxFps', undefined, vscode.ConfigurationTarget.Global);
  });

  it("opens Router Stats, which receives the server's stats and draws its three charts", async () => {
    await vscode.commands.executeCommand('ringkernel.showRouterStats');
    const open = await pollUntil(
      'the Router Stats panel to draw',
      async () => {
        const now = await report();
        return now.routerStats?.lastRendered !== undefined ? now : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const panel = open.routerStats;
    assert.ok(panel);
    assert.equal(panel.visible, true);
    assert.ok(panel.readies >= 1, "the page's script ran under the policy and said so");
    assert.equal((panel.lastPosted as { type: string }).type, 'stats');
    const drawn = panel.lastRendered as { running: boolean; charts: number; points: number; theme: string };
    assert.equal(drawn.charts, 3);
    assert.ok(drawn.points >= 1);
    assert.match(drawn.theme, /^(light|dark|highContrast|highContrastLight)$/);
    assert.equal(open.routerListening, true, 'a visible panel listens');
    // The router runs while kernels do (heat may or may not be running at this point of the suite).
    const stats = await ringkernel.routerStats();
    assert.equal(drawn.running, stats.running, 'the panel draws what the server answers');
    if (!stats.running) assert.match(stats.note ?? '', /no kernels run/);
  });

  it('brings Router Stats back through its serializer, as after a window reload, and stops listening when closed', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await pollUntil('the panel to close', async () => ((await report()).routerStats === null ? true : undefined));
    assert.equal((await report()).routerListening, false, 'no panel: the server is told to stop pushing');
    await vscode.commands.executeCommand('ringkernel.test.restoreWebview', ROUTER_STATS, { series: {}, last: null });
    const restored = await pollUntil(
      'the restored panel to draw',
      async () => ((await report()).routerStats?.lastRendered ? (await report()).routerStats : undefined),
      { timeoutMs: 60_000 },
    );
    assert.ok(restored && restored.readies >= 1);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it("opens the running heat kernel's state and draws live frames of its bytes", async () => {
    // Earlier suites drain the only device and leave heat as their tests left it; a fresh server
    // has every device again and starts heat anew.
    await vscode.commands.executeCommand('ringkernel.restartServer', { confirmed: true });
    // Two frames a second: enough to watch, and light on a shared machine (the setting is read live).
    await vscode.workspace
      .getConfiguration('ringkernel')
      .update('stateView.maxFps', 2, vscode.ConfigurationTarget.Global);
    await pollUntil(
      'heat to run on the fresh server',
      async () =>
        (await ringkernel.kernels()).kernels.find((k) => k.id === 'heat' && k.state === 'running' && k.step > 0),
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const opened = await vscode.commands.executeCommand<string | undefined>('ringkernel.showKernelState', 'heat');
    assert.equal(opened, 'heat');
    const first = await heatDrawn("heat's first frame", () => true, 60_000);
    // The manifest's views of heat (examples/ringkernel.json), in its order.
    assert.deepEqual(
      first.drawn.views.map((v) => [v.name, v.plot]),
      [
        ['rod', 'line'],
        ['counters', 'table'],
      ],
    );
    assert.equal(first.drawn.kernelId, 'heat');
    assert.equal(first.panel.subscribed, true);
    const later = await heatDrawn(
      'frames of later steps',
      (d) => d.frames >= first.drawn.frames + 3 && d.step > first.drawn.step,
    );
    // heat's word 0 counts its own steps: the bytes drawn are the state as read after that step.
    assert.equal(
      later.drawn.views.find((v) => v.name === 'counters')?.first[0],
      later.drawn.step,
      'word 0 of the frame is the step it was read after',
    );
    assert.equal(later.drawn.error, null);
  });

  it('reads nothing while paused, and one frame per step asked for', async () => {
    const before = await heatDrawn('a frame', () => true);
    await vscode.commands.executeCommand('ringkernel.test.webviewMessage', 'heat', { type: 'pause', paused: true });
    // Unsubscribed, no frame of the subscription is posted any more; wait until the page drew them all.
    const paused = await heatDrawn(
      'the page to draw the frames posted before the pause',
      (d, p) => !p.subscribed && d.frames === p.framesPosted,
    );
    await vscode.commands.executeCommand('ringkernel.test.webviewMessage', 'heat', { type: 'stepFrame' });
    const stepped = await heatDrawn('the stepped frame', (d) => d.frames === paused.drawn.frames + 1);
    assert.equal(stepped.panel.framesPosted, paused.panel.framesPosted + 1, 'exactly one frame was read and posted');
    assert.ok(stepped.drawn.step >= before.drawn.step);
    assert.equal(stepped.panel.subscribed, false, 'stepping does not resume');
    // A message that does not fit is dropped with a warning, not acted on.
    await vscode.commands.executeCommand('ringkernel.test.webviewMessage', 'heat', { type: 'pause', paused: 'no' });
    assert.equal((await heatPanel())?.subscribed, false);
    await vscode.commands.executeCommand('ringkernel.test.webviewMessage', 'heat', { type: 'pause', paused: false });
    await heatDrawn('frames again after resuming', (d, p) => p.subscribed && d.frames > stepped.drawn.frames + 1);
  });

  it('marks a hot reload as "vN at step S", with the frame before it for comparing', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder);
    const uri = vscode.Uri.file(path.join(folder.uri.fsPath, 'kernels', 'heat.wgsl'));
    const document = await vscode.workspace.openTextDocument(uri);
    const original = document.getText();
    const current = /const HEAT_PER_STEP: u32 = (\d+)u;/.exec(original);
    assert.ok(current, 'heat.wgsl has its HEAT_PER_STEP line');
    const start = await heatDrawn('a frame before the reload', () => true);
    const editorColumn =
      start.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
    let reloadOutcome: ReloadOutcome | undefined;
    const listener = ringkernel.onDidReloadKernel((o) => {
      if (o.kernelId === 'heat' && o.status !== 'superseded') reloadOutcome ??= o;
    });
    // Edited in the editor and saved, as a user would, in another column than the panel's (which stays visible).
    const editor = await vscode.window.showTextDocument(document, { viewColumn: editorColumn, preserveFocus: false });
    const edit = async (text: string): Promise<void> => {
      const whole = new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
      assert.ok(await editor.edit((builder) => builder.replace(whole, text)));
      assert.ok(await document.save());
    };
    await edit(original.replace(current[0], `const HEAT_PER_STEP: u32 = ${Number(current[1]) + 2}u;`));
    try {
      const reloaded = await pollUntil("heat's reload outcome", () => reloadOutcome, {
        timeoutMs: 90_000,
        intervalMs: 100,
      });
      assert.equal(reloaded.status, 'reloaded', reloaded.message);
      const marked = await heatDrawn(
        'the reload marker',
        (d) => d.version === reloaded.toVersion && d.marker !== null,
        60_000,
      );
      assert.match(marked.drawn.marker ?? '', new RegExp(`^v${reloaded.toVersion} at step [\\d,]+$`));
      const atStep = Number((/at step ([\d,]+)/.exec(marked.drawn.marker ?? '')?.[1] ?? '').replace(/,/g, ''));
      assert.ok(atStep > start.drawn.step, `the reload came after step ${start.drawn.step}`);
      assert.equal(marked.drawn.compareAvailable, true, 'the last frame of the old version came with the marker');
    } finally {
      listener.dispose();
      await edit(original);
    }
  });

  it('stops reading while hidden behind an editor, and resumes when shown again', async () => {
    const shown = await heatDrawn('a frame', (_d, p) => p.visible && p.subscribed);
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder);
    // An editor opened in the panel's own column hides it.
    await vscode.window.showTextDocument(vscode.Uri.joinPath(folder.uri, 'ringkernel.json'), {
      viewColumn: shown.panel.viewColumn ?? vscode.ViewColumn.Two,
      preserveFocus: false,
    });
    await pollUntil('the hidden panel to unsubscribe', async () => {
      const panel = await heatPanel();
      return panel && !panel.visible && !panel.subscribed ? true : undefined;
    });
    await vscode.commands.executeCommand('ringkernel.showKernelState', 'heat');
    // Shown again, its page loads anew (nothing was kept while hidden) and asks for frames.
    await heatDrawn(
      'frames after showing it again',
      (d, p) => p.visible && p.subscribed && p.readies > shown.panel.readies && d.frames > 0,
    );
  });

  it('brings a Kernel State panel back from its saved state, as after a window reload', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await pollUntil('the panel to close', async () => ((await report()).kernelStates.length === 0 ? true : undefined));
    await vscode.commands.executeCommand('ringkernel.test.restoreWebview', KERNEL_STATE, {
      kernelId: 'heat',
      paused: false,
    });
    const restored = await heatDrawn("the restored panel's frames", (d, p) => p.subscribed && d.frames >= 2, 60_000);
    assert.equal(restored.drawn.kernelId, 'heat');
    // A saved state without a kernel id cannot be restored: that panel says so, the other goes on.
    await vscode.commands.executeCommand('ringkernel.test.restoreWebview', KERNEL_STATE, { paused: true });
    assert.equal((await report()).kernelStates.length, 1);
  });
});
