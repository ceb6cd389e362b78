// The scene `npm run screenshot` photographs (test/launch/screenshot.ts), run inside VS Code as
// an extension tests entry, so the extension is in test mode and its test hooks answer. It lays
// out the window as a user would look at the Gray-Scott example: gray_scott.wgsl at its FEED and
// KILL constants on the left, the Kernel State view of `grayscott` beside it, and returns once
// the view has drawn frames of a step far enough along for the pattern to have grown
// (RINGKERNEL_SCREENSHOT_STEP, default 2000). The launcher takes the picture when it returns.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RingKernelApi } from '../../client/src/api';
import type { StateRendered } from '../../client/src/webviews/webviewMessages';
import type { WebviewsReport } from '../../client/src/webviews/webviewPanels';
import { pollUntil } from '../support/poll';

const KERNEL = 'grayscott';

function minimumStep(): number {
  const raw = process.env['RINGKERNEL_SCREENSHOT_STEP'];
  const step = raw === undefined || raw === '' ? 2000 : Number(raw);
  if (!Number.isInteger(step) || step < 1)
    throw new Error(`RINGKERNEL_SCREENSHOT_STEP must be a positive whole number of steps, not "${raw}"`);
  return step;
}

/** What the grayscott panel's page last reported drawing, with the frames it has drawn. */
async function drawn(): Promise<StateRendered | undefined> {
  const report = await vscode.commands.executeCommand<WebviewsReport>('ringkernel.test.webviews');
  const panel = report.kernelStates.find((p) => p.kernelId === KERNEL);
  const rendered = panel?.lastRendered as StateRendered | undefined;
  return panel?.visible === true && rendered !== undefined && rendered.frames > 0 ? rendered : undefined;
}

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension<RingKernelApi>('ringkernel.ringkernel');
  assert.ok(extension, 'the extension is installed');
  const ringkernel = await extension.activate();
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the screenshot opens examples/gray-scott');
  const step = minimumStep();

  await pollUntil(
    `${KERNEL} to run`,
    async () =>
      (await ringkernel.kernels()).kernels.find((k) => k.id === KERNEL && k.state === 'running' && k.step > 0),
    { timeoutMs: 120_000, intervalMs: 250 },
  );

  // The editor on the left at the constants a user changes, the view beside it; nothing else open.
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.commands.executeCommand('workbench.action.closePanel');
  await vscode.commands.executeCommand('workbench.action.closeSidebar');
  const document = await vscode.workspace.openTextDocument(
    vscode.Uri.file(path.join(folder.uri.fsPath, 'gray_scott.wgsl')),
  );
  const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preview: false });
  const feed = document.getText().indexOf('const FEED');
  assert.ok(feed >= 0, 'gray_scott.wgsl declares FEED');
  // From the top: the header says what to change and which pairs to try; FEED and KILL follow.
  const feedEnd = document.lineAt(document.positionAt(feed).line).range.end;
  editor.selection = new vscode.Selection(feedEnd, feedEnd);
  editor.revealRange(new vscode.Range(0, 0, 0, 0), vscode.TextEditorRevealType.AtTop);

  const opened = await vscode.commands.executeCommand<string | undefined>('ringkernel.showKernelState', KERNEL);
  assert.equal(opened, KERNEL, `the Kernel State view opened on ${KERNEL}`);
  // Stepping 512 x 512 cells on a software GPU is slow on a busy machine: say how far it is.
  let last: StateRendered | undefined;
  let said = Date.now();
  const grown = await pollUntil(
    `the view to draw a frame of step ${step} or later`,
    async () => {
      const now = await drawn();
      if (now?.error) throw new Error(`the view reports an error: ${now.error}`);
      last = now ?? last;
      if (Date.now() - said > 30_000) {
        said = Date.now();
        console.log(`[screenshot] the view has drawn step ${last?.step ?? 'none yet'} (waiting for ${step})`);
      }
      if (now === undefined || now.step < step)
        throw new Error(`the last frame drawn is of step ${last?.step ?? 'none'}`);
      return now;
    },
    // The launcher's deadline (RINGKERNEL_TEST_TIMEOUT_MS) ends a run that never gets there.
    { timeoutMs: 60 * 60_000, intervalMs: 250 },
  );
  assert.deepEqual(
    grown.views.map((v) => [v.name, v.plot]),
    [
      ['v', 'heatmap'],
      ['u', 'heatmap'],
    ],
    "the view draws the manifest's two heatmaps",
  );
  // No toast over the picture; then a few more frames, drawn with the layout as it now is.
  await vscode.commands.executeCommand('notifications.clearAll');
  await pollUntil(
    'frames drawn after the layout settled',
    async () => {
      const now = await drawn();
      return now !== undefined && now.frames >= grown.frames + 3 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  console.log(`[screenshot] ${KERNEL}'s view has drawn step ${grown.step} and later frames`);
  console.log(`[screenshot] status bar: "${ringkernel.statusBar.text}", "${ringkernel.kernelStatusBar.text}"`);
}
