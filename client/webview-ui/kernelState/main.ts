// The Kernel State webview: a kernel's state drawn live from the frames the extension forwards,
// per manifest view (or as words and a chosen range), with its step and version, pause and
// step-by-step, the reload marker ("v3 at step 1,204") and a compare toggle that draws the last
// frame before the reload beside the current one.
import type {
  StateFrame,
  StateViewKernel,
  WireReloadMarker,
  WireStateViewType,
} from '../../../server/src/lsp/protocol';
import type { StateFromWebview, StateToWebview } from '../../src/webviews/webviewMessages';
import { button, el, replaceChildren } from '../shared/dom';
import { formatCount } from '../shared/format';
import { onThemeChange, themeKind } from '../shared/theme';
import { webviewApi } from '../shared/vscodeApi';
import {
  DEFAULT_CHOSEN,
  clampChosen,
  clampWordsStart,
  panelViews,
  regionsOf,
  type ChosenRange,
  type PanelView,
} from './panelViews';
import { createPlot, type Plot } from './plots';
import { markerText } from './reloadMarker';
import { decodeRegions, firstValues, viewValues, type DecodedRegion } from './stateValues';

interface SavedState {
  kernelId: string;
  paused: boolean;
  comparing: boolean;
  chosen: ChosenRange;
  wordsStart: number;
}

const app = document.getElementById('app') ?? document.body;
const api = webviewApi<StateFromWebview, SavedState>((message) => ({ type: 'problem', message }));
const saved = api.saved();
const ui: SavedState = {
  kernelId: app.dataset['kernel'] ?? saved?.kernelId ?? '',
  paused: saved?.paused === true,
  comparing: saved?.comparing === true,
  chosen: saved?.chosen ?? DEFAULT_CHOSEN,
  wordsStart: typeof saved?.wordsStart === 'number' ? saved.wordsStart : 0,
};

let kernel: StateViewKernel | undefined;
let views: PanelView[] = [];
let plots: Plot[] = [];
let lastFrame: { frame: StateFrame; regions: DecodedRegion[] } | undefined;
let marker: WireReloadMarker | undefined;
let previous: DecodedRegion[] | undefined;
let frames = 0;
let fps = 0;
const arrivals: number[] = [];

const title = el('h1', {}, `Kernel ${ui.kernelId}`);
const position = el('span', { className: 'position' }, 'waiting for the first frame…');
const rate = el('span', { className: 'rate' });
const markerLine = el('span', { className: 'marker' });
const status = el('p', { className: 'status' });
const pauseButton = button('Pause', 'Stop reading frames (nothing is read while paused)', () => setPaused(!ui.paused));
const stepButton = button('Step', 'Read one frame now', () => api.post({ type: 'stepFrame' }));
const compareBox = el('input', { title: 'Draw the last frame before the reload beside the current one' });
compareBox.type = 'checkbox';
compareBox.addEventListener('change', () => {
  ui.comparing = compareBox.checked;
  save();
  redraw();
});
const compareLabel = el('label', { className: 'compare' }, compareBox, ' compare with before the reload');
const chooser = el('div', { className: 'chooser' });
const viewsBox = el('div', { className: 'views' });
replaceChildren(
  app,
  title,
  el('div', { className: 'toolbar' }, pauseButton, stepButton, compareLabel, position, rate, markerLine),
  status,
  chooser,
  viewsBox,
);

function save(): void {
  api.save(ui);
}

function setPaused(paused: boolean): void {
  ui.paused = paused;
  save();
  updateControls();
  api.post({ type: 'pause', paused });
}

function updateControls(): void {
  pauseButton.textContent = ui.paused ? 'Resume' : 'Pause';
  stepButton.disabled = !ui.paused;
  compareBox.checked = ui.comparing;
  compareBox.disabled = previous === undefined;
  rate.textContent = ui.paused ? 'paused' : `${fps.toFixed(1)} frames/s (at most ${kernelFps})`;
}

let kernelFps = 10;

/** The controls for picking what to show when the manifest has no views. */
function drawChooser(): void {
  if (!kernel || kernel.views.length > 0) {
    replaceChildren(chooser);
    return;
  }
  const stateBytes = kernel.stateBytes;
  const type = el(
    'select',
    { title: 'How the words of the range are read' },
    ...(['f32', 'u32', 'i32'] as const).map((t) => {
      const option = el('option', {}, t);
      option.value = t;
      option.selected = t === ui.chosen.type;
      return option;
    }),
  );
  const number = (value: number, label: string): HTMLInputElement => {
    const input = el('input', { title: label });
    input.type = 'number';
    input.min = '0';
    input.value = String(value);
    return input;
  };
  const offset = number(ui.chosen.offset, 'First byte of the range (a multiple of 4)');
  const count = number(ui.chosen.count, 'Elements in the range (at most 65,536)');
  const words = number(ui.wordsStart, 'First word of the table');
  const apply = button('Show', 'Show this range', () => {
    ui.chosen = clampChosen(
      { type: type.value as WireStateViewType, offset: Number(offset.value), count: Number(count.value) },
      stateBytes,
    );
    ui.wordsStart = clampWordsStart(Number(words.value), stateBytes);
    save();
    setViews();
  });
  replaceChildren(
    chooser,
    el(
      'span',
      { className: 'note' },
      `ringkernel.json gives this kernel no "views"; showing ${formatCount(stateBytes)} bytes of state as words and a range:`,
    ),
    el('label', {}, 'words from ', words),
    el('label', {}, ' range ', type),
    el('label', {}, ' at byte ', offset),
    el('label', {}, ' count ', count),
    apply,
  );
}

/** Builds the plots for the kernel's views and asks for the bytes they need. */
function setViews(): void {
  if (!kernel) return;
  for (const plot of plots) plot.destroy();
  views = panelViews(kernel, ui.chosen, ui.wordsStart);
  plots = views.map(createPlot);
  replaceChildren(viewsBox, ...plots.map((p) => p.element));
  drawChooser();
  api.post({ type: 'subscribe', regions: regionsOf(views), paused: ui.paused });
  redraw();
}

function redraw(): void {
  if (!lastFrame) {
    report(null);
    return;
  }
  const { frame, regions } = lastFrame;
  const comparing = ui.comparing && previous !== undefined && marker?.previous !== undefined;
  const labels = {
    now: `v${frame.version}, step ${formatCount(frame.step)}`,
    before: marker?.previous ? `v${marker.previous.version}, step ${formatCount(marker.previous.step)}` : 'before',
  };
  views.forEach((view, i) => {
    const now = viewValues(regions, view);
    const before = comparing && previous ? viewValues(previous, view) : undefined;
    plots[i]?.update(now, before, labels);
  });
  report(frame.error ?? null);
}

/** Tells the extension what was drawn (its test hook reads it). */
function report(error: string | null): void {
  api.post({
    type: 'rendered',
    summary: {
      kernelId: ui.kernelId,
      step: lastFrame?.frame.step ?? 0,
      version: lastFrame?.frame.version ?? 0,
      frames,
      marker: marker ? markerText(marker) : null,
      compareAvailable: previous !== undefined,
      comparing: ui.comparing && previous !== undefined,
      paused: ui.paused,
      views: views.slice(0, 64).map((view) => ({
        name: view.name,
        plot: view.plot,
        elements: view.count,
        first: lastFrame ? firstValues(viewValues(lastFrame.regions, view)).filter((v) => Number.isFinite(v)) : [],
      })),
      error,
      theme: themeKind(),
    },
  });
}

function receiveFrame(frame: StateFrame): void {
  frames++;
  if (frame.error !== undefined) {
    status.textContent = frame.error;
    status.className = 'status error';
    report(frame.error);
    return;
  }
  status.textContent = '';
  status.className = 'status';
  if (frame.reload) {
    marker = frame.reload;
    previous = frame.reload.previous ? decodeRegions(frame.reload.previous.regions) : undefined;
    markerLine.textContent = `reloaded: ${markerText(frame.reload)}`;
    markerLine.title = `The kernel changed from v${frame.reload.fromVersion} to v${frame.reload.toVersion}; tick "compare" to see the last frame before it beside the current one.`;
  }
  lastFrame = { frame, regions: decodeRegions(frame.regions) };
  const now = performance.now();
  arrivals.push(now);
  while (arrivals.length > 11) arrivals.shift();
  const first = arrivals[0] ?? now;
  fps = arrivals.length > 1 && now > first ? ((arrivals.length - 1) * 1000) / (now - first) : 0;
  position.textContent = `v${frame.version} · step ${formatCount(frame.step)}`;
  updateControls();
  redraw();
}

window.addEventListener('message', (event: MessageEvent<StateToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'kernel':
      kernel = message.kernel;
      kernelFps = message.fps;
      title.textContent = `Kernel ${kernel.kernelId}`;
      position.textContent = `${kernel.state} · v${kernel.version} · step ${formatCount(kernel.step)}`;
      status.textContent = '';
      updateControls();
      setViews();
      break;
    case 'frame':
      receiveFrame(message.frame);
      break;
    case 'fps':
      kernelFps = message.fps;
      updateControls();
      break;
    case 'status':
      status.textContent = message.text;
      status.className = `status ${message.severity}`;
      break;
  }
});

onThemeChange(() => {
  for (const plot of plots) plot.rebuild();
  redraw();
});

save();
updateControls();
api.post({ type: 'ready' });
