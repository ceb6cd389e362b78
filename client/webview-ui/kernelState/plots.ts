// One drawing per view kind: a line (uPlot), a histogram (uPlot bars), a heatmap (an ImageData on
// a canvas, viridis), a table of numbers, and the table of words shown when the manifest has no
// views. Each can draw the last frame before a reload beside the current one ("compare").
import { Chart, type ChartSpec } from '../shared/charts';
import { el, replaceChildren } from '../shared/dom';
import { formatCount, formatValue } from '../shared/format';
import { colorTable, heatmapRange, toRgba } from './colorMap';
import { histogram } from './histogram';
import type { PanelView } from './panelViews';
import type { ViewValues } from './stateValues';

/** Rows a table shows; the rest are counted, not drawn. */
export const TABLE_ROWS = 256;

export interface Plot {
  readonly element: HTMLElement;
  /** Draws `now`, and `before` (the last frame of the previous version) beside it when comparing. */
  update(now: ViewValues | undefined, before: ViewValues | undefined, labels: { now: string; before: string }): void;
  /** The theme changed. */
  rebuild(): void;
  destroy(): void;
}

function missing(element: HTMLElement, what: string): void {
  replaceChildren(element, el('p', { className: 'empty' }, what));
}

class LinePlot implements Plot {
  readonly element = el('div', { className: 'chart' });
  private readonly chart: Chart;
  private comparing = false;
  private readonly xs: Float64Array;

  constructor(
    private readonly view: PanelView,
    private readonly bars = false,
  ) {
    this.xs = Float64Array.from({ length: view.count }, (_, i) => i);
    this.chart = new Chart(this.element, this.spec(false, { now: 'now', before: 'before' }));
  }

  update(now: ViewValues | undefined, before: ViewValues | undefined, labels: { now: string; before: string }): void {
    if (!now) return;
    const compare = before !== undefined;
    if (this.bars) {
      const h = histogram(now, undefined, this.view.range);
      const b = before ? histogram(before, undefined, [h.low, h.high]) : undefined;
      const data: [Float64Array, ...Float64Array[]] = b ? [h.centers, h.counts, b.counts] : [h.centers, h.counts];
      if (compare !== this.comparing) this.chart.respec(this.spec(compare, labels), data);
      else this.chart.setData(data);
    } else {
      const data: [Float64Array, ...ViewValues[]] = before ? [this.xs, now, before] : [this.xs, now];
      if (compare !== this.comparing) this.chart.respec(this.spec(compare, labels), data);
      else this.chart.setData(data);
    }
    this.comparing = compare;
  }

  rebuild(): void {
    this.chart.rebuild();
  }

  destroy(): void {
    this.chart.destroy();
  }

  private spec(compare: boolean, labels: { now: string; before: string }): ChartSpec {
    const series = [
      { label: labels.now, color: 0 },
      ...(compare ? [{ label: labels.before, color: 1, dashed: true }] : []),
    ];
    const title = `${this.view.name} (${this.view.type}, ${formatCount(this.view.count)} at byte ${formatCount(this.view.offset)})`;
    return this.bars
      ? { title: `${title}: values per bin`, time: false, bars: true, series }
      : { title, time: false, series, ...(this.view.range ? { yRange: this.view.range } : {}) };
  }
}

/** The colour map, sampled once for every heatmap. */
let viridis: Uint8Array | undefined;

class HeatmapPlot implements Plot {
  readonly element = el('div', { className: 'heatmap' });
  private readonly canvases: [HTMLCanvasElement, HTMLCanvasElement];
  private readonly captions: [HTMLElement, HTMLElement];
  private readonly legend = el('div', { className: 'legend' });
  private readonly rows: number;
  private readonly columns: number;

  constructor(private readonly view: PanelView) {
    [this.rows, this.columns] = view.shape ?? [1, view.count];
    const canvas = (): HTMLCanvasElement => {
      const c = el('canvas');
      c.width = this.columns;
      c.height = this.rows;
      return c;
    };
    this.canvases = [canvas(), canvas()];
    this.captions = [el('figcaption'), el('figcaption')];
    replaceChildren(
      this.element,
      el(
        'h3',
        {},
        `${view.name} (${view.type}, ${formatCount(this.rows)} x ${formatCount(this.columns)} at byte ${formatCount(view.offset)})`,
      ),
      el(
        'div',
        { className: 'figures' },
        el('figure', {}, this.canvases[0], this.captions[0]),
        el('figure', { className: 'before' }, this.canvases[1], this.captions[1]),
      ),
      this.legend,
    );
  }

  update(now: ViewValues | undefined, before: ViewValues | undefined, labels: { now: string; before: string }): void {
    if (!now) return;
    viridis ??= colorTable();
    const range = heatmapRange(now, this.view.range);
    this.draw(this.canvases[0], now, range);
    this.captions[0].textContent = labels.now;
    this.element.classList.toggle('comparing', before !== undefined);
    if (before) {
      // The same colour range for both, so a difference in colour is a difference in value.
      this.draw(this.canvases[1], before, range);
      this.captions[1].textContent = labels.before;
    }
    this.drawLegend(range);
  }

  rebuild(): void {
    // Colours come from the colour map, not the theme.
  }

  destroy(): void {
    this.element.remove();
  }

  private draw(canvas: HTMLCanvasElement, values: ViewValues, range: [number, number]): void {
    const context = canvas.getContext('2d');
    if (!context || !viridis) return;
    const image = context.createImageData(this.columns, this.rows);
    toRgba(values, range, viridis, image.data);
    context.putImageData(image, 0, 0);
  }

  private drawLegend([low, high]: [number, number]): void {
    if (!viridis) return;
    const bar = el('canvas', { className: 'legend-bar' });
    bar.width = 256;
    bar.height = 1;
    const context = bar.getContext('2d');
    if (context) {
      const image = context.createImageData(256, 1);
      toRgba(
        Float64Array.from({ length: 256 }, (_, i) => i),
        [0, 255],
        viridis,
        image.data,
      );
      context.putImageData(image, 0, 0);
    }
    replaceChildren(
      this.legend,
      el('span', {}, formatValue(low)),
      bar,
      el('span', {}, formatValue(high)),
      this.view.range
        ? el('span', { className: 'note' }, '(range from the manifest)')
        : el('span', { className: 'note' }, '(range of this frame)'),
    );
  }
}

class TablePlot implements Plot {
  readonly element = el('div', { className: 'table-view' });

  constructor(private readonly view: PanelView) {}

  update(now: ViewValues | undefined, before: ViewValues | undefined, labels: { now: string; before: string }): void {
    if (!now) return missing(this.element, 'Not in this frame.');
    const shown = Math.min(TABLE_ROWS, now.length);
    const title =
      this.view.words === true
        ? `Words ${formatCount(this.view.offset / 4)} to ${formatCount(this.view.offset / 4 + shown - 1)} (${labels.now})`
        : `${this.view.name} (${this.view.type}, ${labels.now})${now.length > shown ? `: the first ${TABLE_ROWS} of ${formatCount(now.length)}` : ''}`;
    const rows: HTMLElement[] = [];
    if (this.view.words === true) {
      const words = new Uint32Array(now.buffer, now.byteOffset, now.length);
      const floats = new Float32Array(now.buffer, now.byteOffset, now.length);
      const old = before ? new Uint32Array(before.buffer, before.byteOffset, before.length) : undefined;
      for (let i = 0; i < shown; i++) {
        const word = words[i] ?? 0;
        rows.push(
          el(
            'tr',
            { className: old && old[i] !== word ? 'changed' : '' },
            el('td', {}, formatCount(this.view.offset + i * 4)),
            el('td', { className: 'mono' }, `0x${word.toString(16).padStart(8, '0')}`),
            el('td', {}, String(word)),
            el('td', {}, String(word | 0)),
            el('td', {}, formatValue(floats[i] ?? 0)),
            old ? el('td', { className: 'mono' }, `0x${(old[i] ?? 0).toString(16).padStart(8, '0')}`) : null,
          ),
        );
      }
      replaceChildren(
        this.element,
        el('h3', {}, title),
        el(
          'table',
          { className: 'numbers' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['byte', 'hex', 'u32', 'i32', 'f32', ...(old ? [labels.before] : [])].map((h) => el('th', {}, h)),
            ),
          ),
          el('tbody', {}, ...rows),
        ),
      );
      return;
    }
    for (let i = 0; i < shown; i++) {
      const value = now[i] ?? 0;
      rows.push(
        el(
          'tr',
          { className: before && before[i] !== value ? 'changed' : '' },
          el('td', {}, formatCount(i)),
          el('td', {}, formatValue(value)),
          before ? el('td', {}, formatValue(before[i] ?? 0)) : null,
        ),
      );
    }
    replaceChildren(
      this.element,
      el('h3', {}, title),
      el(
        'table',
        { className: 'numbers' },
        el(
          'thead',
          {},
          el('tr', {}, ...['index', labels.now, ...(before ? [labels.before] : [])].map((h) => el('th', {}, h))),
        ),
        el('tbody', {}, ...rows),
      ),
    );
  }

  rebuild(): void {
    // Table colours are CSS variables.
  }

  destroy(): void {
    this.element.remove();
  }
}

export function createPlot(view: PanelView): Plot {
  switch (view.plot) {
    case 'line':
      return new LinePlot(view);
    case 'histogram':
      return new LinePlot(view, true);
    case 'heatmap':
      return new HeatmapPlot(view);
    case 'table':
      return new TablePlot(view);
  }
}
