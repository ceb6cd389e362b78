// The Router Stats webview: totals, time series of messages/s, bytes/s and latency percentiles,
// a device-pair matrix of pending messages and throughput, the routes used and the failures.
// Figures arrive from the extension (`stats`); the history is kept with setState.
import type { RouterStats, WireDevicePairStats, WireKernelPairStats } from '../../../server/src/lsp/protocol';
import type { RouterFromWebview, RouterToWebview } from '../../src/webviews/webviewMessages';
import { Chart } from '../shared/charts';
import { el, replaceChildren } from '../shared/dom';
import { formatBytesPerSecond, formatCount, formatMicros, formatRate } from '../shared/format';
import { onThemeChange, themeKind } from '../shared/theme';
import { webviewApi } from '../shared/vscodeApi';
import { appendStats, restoreSeries, type RouterSeries } from './timeSeries';

interface SavedState {
  series: RouterSeries;
  last: RouterStats | null;
}

const ROUTE_NAMES: Record<string, string> = {
  sameDevice: 'same device',
  directP2P: 'direct peer copy',
  multiHop: 'multi-hop',
  hostMediated: 'through the host',
};

const api = webviewApi<RouterFromWebview, SavedState>((message) => ({ type: 'problem', message }));
const saved = api.saved();
let series = restoreSeries(saved?.series);
let last: RouterStats | null = saved?.last ?? null;

const app = document.getElementById('app') ?? document.body;
const status = el('p', { className: 'status' });
const totals = el('div', { className: 'totals' });
const chartBox = (): HTMLDivElement => el('div', { className: 'chart' });
const boxes = [chartBox(), chartBox(), chartBox()] as const;
const matrix = el('section');
const routes = el('section');
const pairs = el('section');
const failures = el('section');
replaceChildren(
  app,
  el('h1', {}, 'Router Stats'),
  status,
  totals,
  el('div', { className: 'charts' }, ...boxes),
  matrix,
  routes,
  pairs,
  failures,
);

const charts = [
  new Chart(boxes[0], {
    title: 'Messages per second',
    time: true,
    series: [{ label: 'messages/s', color: 0 }],
    formatY: (v) => formatRate(v),
  }),
  new Chart(boxes[1], {
    title: 'Bytes per second',
    time: true,
    series: [{ label: 'bytes/s', color: 1 }],
    formatY: formatBytesPerSecond,
  }),
  new Chart(boxes[2], {
    title: 'Latency, send step to delivery',
    time: true,
    series: [
      { label: 'p50', color: 2 },
      { label: 'p99', color: 3, dashed: true },
    ],
    formatY: (v) => formatMicros(v),
  }),
] as const;

function drawCharts(): void {
  charts[0].setData([series.t, series.messages]);
  charts[1].setData([series.t, series.bytes]);
  charts[2].setData([series.t, series.p50, series.p99]);
}

function table(headers: string[], rows: (string | HTMLElement)[][], empty: string): HTMLElement {
  if (rows.length === 0) return el('p', { className: 'empty' }, empty);
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((row) => el('tr', {}, ...row.map((cell) => el('td', {}, cell))))),
  );
}

function latencyText(latency: { p50Us: number; p99Us: number } | null): string {
  return latency === null ? '–' : `${formatMicros(latency.p50Us)} / ${formatMicros(latency.p99Us)}`;
}

function drawTotals(stats: RouterStats): void {
  const t = stats.totals;
  const item = (label: string, value: string): HTMLElement =>
    el(
      'div',
      { className: 'total' },
      el('span', { className: 'label' }, label),
      el('span', { className: 'value' }, value),
    );
  replaceChildren(
    totals,
    item('sent', formatCount(t.sent)),
    item('delivered', formatCount(t.delivered)),
    item('pending', formatCount(t.pending)),
    item('failed', formatCount(t.failed)),
    item('messages', formatRate(t.messagesPerSecond)),
    item('bytes', formatBytesPerSecond(t.bytesPerSecond)),
    item('latency p50 / p99', latencyText(t.latency)),
    stats.mode ? item('mode', stats.mode === 'lockstep' ? 'lockstep' : 'free-running') : null,
  );
}

/** Rows: sending device; columns: receiving device; each cell its pending messages and throughput, shaded by throughput. */
function drawMatrix(devicePairs: WireDevicePairStats[]): void {
  const devices = [...new Set(devicePairs.flatMap((p) => [p.from, p.to]))].sort();
  if (devices.length === 0) {
    replaceChildren(
      matrix,
      el('h2', {}, 'Device pairs'),
      el('p', { className: 'empty' }, 'No messages between devices yet.'),
    );
    return;
  }
  const busiest = Math.max(1, ...devicePairs.map((p) => p.messagesPerSecond));
  const cell = (from: string, to: string): HTMLElement => {
    const pair = devicePairs.find((p) => p.from === from && p.to === to);
    if (!pair) return el('td', { className: 'none' }, '·');
    const td = el(
      'td',
      {
        title: `${from} → ${to}: ${ROUTE_NAMES[pair.route] ?? pair.route} (${pair.reason})\n${formatBytesPerSecond(pair.bytesPerSecond)}, latency p50/p99 ${latencyText(pair.latency)}\n${formatCount(pair.delivered)} delivered, ${formatCount(pair.failed)} failed`,
      },
      el('div', { className: 'pending' }, `${formatCount(pair.pending)} pending`),
      el('div', { className: 'rate' }, formatRate(pair.messagesPerSecond, 'msg')),
    );
    // Computed shading through the CSSOM (the policy forbids inline style attributes, not this).
    td.style.backgroundColor = `color-mix(in srgb, var(--vscode-charts-blue, #3794ff) ${Math.round((pair.messagesPerSecond / busiest) * 45)}%, transparent)`;
    return td;
  };
  replaceChildren(
    matrix,
    el('h2', {}, 'Device pairs'),
    el(
      'table',
      { className: 'matrix' },
      el('thead', {}, el('tr', {}, el('th', {}, 'from \\ to'), ...devices.map((d) => el('th', {}, d)))),
      el(
        'tbody',
        {},
        ...devices.map((from) => el('tr', {}, el('th', {}, from), ...devices.map((to) => cell(from, to)))),
      ),
    ),
  );
}

function drawTables(stats: RouterStats): void {
  replaceChildren(
    routes,
    el('h2', {}, 'Routes'),
    table(
      ['route', 'decisions', 'messages', 'device pairs'],
      stats.routes.map((r) => [
        ROUTE_NAMES[r.route] ?? r.route,
        formatCount(r.decisions),
        formatCount(r.messages),
        stats.devicePairs
          .filter((p) => p.route === r.route)
          .map((p) => `${p.from} → ${p.to} (${p.reason})`)
          .join('; ') || '–',
      ]),
      'No routing decisions yet.',
    ),
  );
  replaceChildren(
    pairs,
    el('h2', {}, 'Kernel pairs'),
    table(
      ['from', 'to', 'route', 'messages', 'bytes', 'latency p50 / p99', 'pending', 'delivered', 'failed'],
      stats.kernelPairs.map((p: WireKernelPairStats) => [
        `${p.from}${p.fromDevice ? ` (${p.fromDevice})` : ''}`,
        `${p.to}${p.toDevice ? ` (${p.toDevice})` : ''}`,
        ROUTE_NAMES[p.route] ?? p.route,
        formatRate(p.messagesPerSecond),
        formatBytesPerSecond(p.bytesPerSecond),
        latencyText(p.latency),
        formatCount(p.pending),
        formatCount(p.delivered),
        formatCount(p.failed),
      ]),
      'No kernel has sent a message yet.',
    ),
  );
  replaceChildren(
    failures,
    el('h2', {}, 'Failures'),
    table(
      ['kind', 'count', 'latest', 'when'],
      stats.failures.map((f) => [
        f.kind,
        formatCount(f.count),
        f.detail,
        f.lastAt ? new Date(f.lastAt).toLocaleTimeString() : '–',
      ]),
      'No message was lost.',
    ),
  );
}

function render(): void {
  drawCharts();
  if (last) {
    if (!last.running) status.textContent = last.note ?? 'The router is not running.';
    drawTotals(last);
    drawMatrix(last.devicePairs);
    drawTables(last);
  }
  api.post({
    type: 'rendered',
    summary: {
      at: last?.at ?? 0,
      running: last?.running ?? false,
      points: series.t.length,
      charts: charts.length,
      devicePairs: last?.devicePairs.length ?? 0,
      routes: last?.routes.length ?? 0,
      failures: last?.failures.length ?? 0,
      theme: themeKind(),
    },
  });
}

window.addEventListener('message', (event: MessageEvent<RouterToWebview>) => {
  const message = event.data;
  if (message.type === 'stats') {
    last = message.stats;
    series = appendStats(series, message.stats);
    status.textContent = '';
    status.className = 'status';
    api.save({ series, last });
    render();
  } else if (message.type === 'status') {
    status.textContent = message.text;
    status.className = `status ${message.severity}`;
  }
});

onThemeChange(() => {
  for (const chart of charts) chart.rebuild();
  render();
});

if (last) render();
api.post({ type: 'ready' });
