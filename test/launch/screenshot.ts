// `npm run screenshot`: the README's picture of the Gray-Scott example's Kernel State view, as it
// appears in VS Code. Starts the same VS Code as the offline integration suite (code-server in
// headless Chromium, 1280 x 800, the default dark theme) on a copy of examples/gray-scott, runs
// the scene in screenshotScene.ts inside it (grayscott running on WebGPU, gray_scott.wgsl beside
// its view, frames drawn past RINGKERNEL_SCREENSHOT_STEP), and saves the window as a PNG.
//
//   node out/test/launch/screenshot.js [--out FILE]     (default docs/images/state-view-grayscott.png)
//
// Environment: as the offline launcher's (CHROME_PATH, RINGKERNEL_TEST_VERBOSE,
// RINGKERNEL_TEST_TIMEOUT_MS, here 30 minutes by default: 2,000 steps of 512 x 512 cells take
// minutes on a busy software GPU), and RINGKERNEL_SCREENSHOT_STEP (default 2000).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { examplesWorkspace, launchLog, repoRoot, runAsScript } from './common';
import { encodeIndexedPng, toIndexed } from './indexedPng';
import { runOffline } from './offline';

const TAG = 'screenshot';
const DEFAULT_OUT = join(repoRoot, 'docs', 'images', 'state-view-grayscott.png');
/** The README's images are committed; a picture larger than this is a sign something else is in it. */
const MAX_BYTES = 400 * 1024;

function parseOut(argv: readonly string[]): string {
  if (argv.length === 0) return DEFAULT_OUT;
  if (argv.length === 2 && argv[0] === '--out' && argv[1] !== undefined) return resolve(argv[1]);
  if (argv.length === 1 && argv[0]?.startsWith('--out=')) return resolve(argv[0].slice('--out='.length));
  throw new Error(`usage: screenshot [--out FILE.png], not ${argv.join(' ')}`);
}

async function main(): Promise<number> {
  const out = parseOut(process.argv.slice(2));
  // A copy, so the kernel's checkpoints and VS Code's files never land in the repository; named
  // gray-scott, as the window's title shows it.
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-screenshot-'));
  const workspace = join(root, 'gray-scott');
  cpSync(join(examplesWorkspace, 'gray-scott'), workspace, { recursive: true });
  const partial = join(root, 'window.png');
  const rawTimeout = process.env['RINGKERNEL_TEST_TIMEOUT_MS'];
  const timeoutMs = rawTimeout !== undefined && rawTimeout !== '' ? Number(rawTimeout) : 30 * 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new Error(`RINGKERNEL_TEST_TIMEOUT_MS must be a positive number of milliseconds, not "${rawTimeout}"`);
  try {
    const code = await runOffline(
      { workspace, timeoutMs },
      {
        testsEntry: join(repoRoot, 'out', 'test', 'launch', 'screenshotScene.js'),
        what: 'the screenshot scene',
        userSettings: {
          // Headless Chromium prefers a light scheme; the picture shows VS Code's default dark theme.
          'workbench.colorTheme': 'Default Dark Modern',
          'editor.occurrencesHighlight': 'off',
          'workbench.tips.enabled': false,
          'workbench.startupEditor': 'none',
          'editor.minimap.enabled': false,
          'window.commandCenter': false,
          // Two frames a second leave the (software) GPU to the kernel; the picture is one frame.
          'ringkernel.stateView.maxFps': 2,
        },
        atExit: async (page, exitCode) => {
          if (exitCode !== 0) return;
          await page.screenshot({ path: partial, type: 'png' });
        },
      },
    );
    if (code !== 0) return code;
    // Chromium's RGBA PNG of the window is over 600 KB; indexed, it is a third of that.
    const window = PNG.sync.read(readFileSync(partial));
    const indexed = toIndexed(window);
    const png = encodeIndexedPng(window.width, window.height, indexed);
    if (png.length > MAX_BYTES) {
      const rejected = join(tmpdir(), 'ringkernel-screenshot-rejected.png');
      writeFileSync(rejected, png);
      launchLog(
        TAG,
        `the picture is ${Math.round(png.length / 1024)} KB, more than ${MAX_BYTES / 1024} KB: not saved (see ${rejected})`,
      );
      return 1;
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, png);
    launchLog(
      TAG,
      `saved ${out} (${window.width} x ${window.height}, ${Math.round(png.length / 1024)} KB; ` +
        `${indexed.approximated} rare shades drawn as their nearest of 256 colours)`,
    );
    return 0;
  } finally {
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  }
}

runAsScript(TAG, main);
