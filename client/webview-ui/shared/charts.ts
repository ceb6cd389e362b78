// Charts through uPlot: small (~50 KB), draws 100k points on a canvas in milliseconds, built for
// series that grow while you watch, and needs no eval (the webview's policy forbids it). Colours
// come from the editor's theme; a theme change rebuilds the chart (uPlot fixes its colours when
// it is created).
import uPlot from 'uplot';
import { chartColors } from './theme';

export interface SeriesSpec {
  label: string;
  /** Index into the theme's chart colours. */
  color: number;
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  /** x is a time in seconds since the epoch (time axis), or a plain number (index, bin). */
  time: boolean;
  series: SeriesSpec[];
  /** Draw bars instead of lines (histograms). */
  bars?: boolean;
  /** A fixed y range; from the data otherwise. */
  yRange?: [number, number];
  /** How y values are labelled on the axis. */
  formatY?: (value: number) => string;
  height?: number;
}

export class Chart {
  private plot: uPlot | undefined;
  private data: uPlot.AlignedData;
  private readonly resize: ResizeObserver;

  constructor(
    private readonly container: HTMLElement,
    private spec: ChartSpec,
  ) {
    this.data = [[], ...spec.series.map(() => [])];
    // Resized on the next frame: resizing inside the observer's callback would trigger it again.
    this.resize = new ResizeObserver(() =>
      requestAnimationFrame(() => {
        const width = this.width();
        if (this.plot && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: this.height() });
      }),
    );
    this.resize.observe(container);
    this.build();
  }

  /** x values, then one array per series (null: a gap). */
  setData(data: uPlot.AlignedData): void {
    this.data = data;
    this.plot?.setData(data);
  }

  /** A new spec (e.g. more series, another range): rebuilt with the current data. */
  respec(spec: ChartSpec, data: uPlot.AlignedData): void {
    this.spec = spec;
    this.data = data;
    this.build();
  }

  /** Rebuilds with the theme's current colours. */
  rebuild(): void {
    this.build();
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
  }

  private width(): number {
    return Math.max(200, this.container.clientWidth);
  }

  private height(): number {
    return this.spec.height ?? 200;
  }

  private build(): void {
    this.plot?.destroy();
    const colors = chartColors();
    const axis = (formatter?: (value: number) => string): uPlot.Axis => ({
      stroke: colors.foreground,
      font: colors.font,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      ...(formatter ? { values: (_u: uPlot, splits: number[]) => splits.map(formatter), size: 70 } : {}),
    });
    const bars = this.spec.bars === true ? uPlot.paths.bars?.({ size: [0.9, 40] }) : undefined;
    const options: uPlot.Options = {
      title: this.spec.title,
      width: this.width(),
      height: this.height(),
      scales: {
        x: { time: this.spec.time },
        y: this.spec.yRange ? { range: this.spec.yRange } : {},
      },
      axes: [axis(), axis(this.spec.formatY)],
      series: [
        {},
        ...this.spec.series.map((s): uPlot.Series => {
          const stroke = colors.series[s.color % colors.series.length] ?? colors.foreground;
          return {
            label: s.label,
            stroke,
            width: 1.5,
            points: { show: false },
            ...(s.dashed === true ? { dash: [6, 4] } : {}),
            // A dashed series (the frame before a reload) is drawn as outlines over the filled bars.
            ...(bars ? { paths: bars, ...(s.dashed === true ? {} : { fill: stroke }) } : {}),
            ...(this.spec.formatY
              ? { value: (_u: uPlot, v: number | null) => (v === null ? '–' : (this.spec.formatY ?? String)(v)) }
              : {}),
          };
        }),
      ],
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
    };
    this.plot = new uPlot(options, this.data, this.container);
  }
}
