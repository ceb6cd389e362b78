// The messages between the extension and its two webviews, both ways, in one module: the types
// the webview scripts (client/webview-ui/) import, and the validators the extension runs on
// everything a webview posts. Each message says its direction.
import type { RouterStats, StateFrame, StateViewKernel } from '../../../server/src/lsp/protocol';
import { array, boolean, literal, nullable, number, object, string, tagged, type Infer } from './messageValidator';

export const ROUTER_STATS_VIEW_TYPE = 'ringkernel.routerStats';
export const KERNEL_STATE_VIEW_TYPE = 'ringkernel.kernelState';

/** Regions one state panel may ask for: views per kernel (32) plus the words table and a chosen range. */
export const MAX_PANEL_REGIONS = 64;

export type Severity = 'info' | 'warning' | 'error';

// ---- Router Stats ----

/** extension → webview */
export type RouterToWebview =
  | { type: 'stats'; stats: RouterStats }
  /** A line above the charts: the server is not running, the request failed, ... (empty text clears it). */
  | { type: 'status'; text: string; severity: Severity };

const theme = literal('light', 'dark', 'highContrast', 'highContrastLight');

/** What the router panel drew last (the integration tests' view of it). */
const routerRendered = object({
  at: number(),
  running: boolean,
  /** Points in each time series. */
  points: number({ integer: true, min: 0 }),
  charts: number({ integer: true, min: 0 }),
  devicePairs: number({ integer: true, min: 0 }),
  routes: number({ integer: true, min: 0 }),
  failures: number({ integer: true, min: 0 }),
  theme,
});
export type RouterRendered = Infer<typeof routerRendered>;

const problem = object({ message: string({ maxLength: 2000 }) });

/** webview → extension */
export const routerFromWebview = tagged({
  /** The script runs and wants the figures (after every load, restores included). */
  ready: object({}),
  rendered: object({ summary: routerRendered }),
  /** An error in the webview's script, for the log. */
  problem,
});
export type RouterFromWebview = Infer<typeof routerFromWebview>;

// ---- Kernel State ----

/** extension → webview */
export type StateToWebview =
  | { type: 'kernel'; kernel: StateViewKernel; fps: number }
  | { type: 'frame'; frame: StateFrame }
  | { type: 'fps'; fps: number }
  | { type: 'status'; text: string; severity: Severity };

const region = object({ offset: number({ integer: true, min: 0 }), length: number({ integer: true, min: 4 }) });

const stateRendered = object({
  kernelId: string({ maxLength: 64 }),
  step: number({ integer: true, min: 0 }),
  version: number({ integer: true, min: 0 }),
  /** Frames received since the script loaded (errors included). */
  frames: number({ integer: true, min: 0 }),
  /** The reload marker's text, e.g. "v3 at step 1,204". */
  marker: nullable(string({ maxLength: 200 })),
  /** Whether the last frame before the reload arrived, and whether it is drawn beside the current one. */
  compareAvailable: boolean,
  comparing: boolean,
  paused: boolean,
  views: array(
    object({
      name: string({ maxLength: 64 }),
      plot: literal('line', 'heatmap', 'histogram', 'table'),
      elements: number({ integer: true, min: 0 }),
      /** The first few values drawn. */
      first: array(number(), { max: 8 }),
    }),
    { max: MAX_PANEL_REGIONS },
  ),
  error: nullable(string({ maxLength: 2000 })),
  theme,
});
export type StateRendered = Infer<typeof stateRendered>;

/** webview → extension */
export const stateFromWebview = tagged({
  ready: object({}),
  /** The byte ranges the panel's views need now; `paused` as the panel last was. */
  subscribe: object({ regions: array(region, { max: MAX_PANEL_REGIONS }), paused: boolean }),
  pause: object({ paused: boolean }),
  /** One more frame while paused. */
  stepFrame: object({}),
  rendered: object({ summary: stateRendered }),
  problem,
});
export type StateFromWebview = Infer<typeof stateFromWebview>;

/** What the state panel's script keeps with setState; the extension reads the kernel id from it when VS Code restores the panel. */
export const stateWebviewState = object({ kernelId: string({ maxLength: 64 }) });
