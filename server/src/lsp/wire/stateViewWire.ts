// A running kernel's state as it travels to the "Kernel State" webview (ringkernel/stateViewKernel,
// stateFrame, stateViewFrame). Wire types: nothing of the engine is imported.

export type WireStateViewType = 'f32' | 'u32' | 'i32';
export type WireStateViewPlot = 'line' | 'heatmap' | 'histogram' | 'table';

/** One manifest `views` entry: a region of the state and how to draw it. */
export interface WireStateView {
  name: string;
  type: WireStateViewType;
  /** Byte offset in the state, a multiple of 4. */
  offset: number;
  /** Elements (32-bit words) in the region: `count`, or the product of `shape`. */
  count: number;
  /** [rows, columns], row-major; heatmaps have one. */
  shape?: [number, number];
  plot: WireStateViewPlot;
  /** The value range the plot maps to its axis or colours; from the data when absent. */
  range?: [number, number];
}

export interface StateViewKernel {
  kernelId: string;
  stateBytes: number;
  /** The manifest's views for the kernel; empty: the webview offers words and a chosen range. */
  views: WireStateView[];
  /** The kernel's state now (running, stopped, ...), as in ringkernel/kernels. */
  state: string;
  version: number;
  step: number;
}

/** A byte range of the state; offset and length are multiples of 4. */
export interface WireStateRange {
  offset: number;
  length: number;
}

/** Bytes of one region, base64 (the state's little-endian words as they are on the device). */
export interface WireStateRegion {
  offset: number;
  base64: string;
}

/** The kernel's version changed between two frames: a reload, a rollback or a recovery onto another version. */
export interface WireReloadMarker {
  fromVersion: number;
  toVersion: number;
  /** The step the new version was first seen at (or began at, when the runtime says). */
  atStep: number;
  /** The last frame before the change, for the "compare" toggle, where one was read. */
  previous?: { step: number; version: number; regions: WireStateRegion[] };
}

export interface StateFrame {
  subscription: string;
  kernelId: string;
  /** The step the state was read after, and the version that ran it. */
  step: number;
  version: number;
  regions: WireStateRegion[];
  /** The latest version change, sent with the first frame after it (and a new subscription's first frame). */
  reload?: WireReloadMarker;
  /** Set when the state could not be read; the regions are empty then. */
  error?: string;
  /** Milliseconds since the epoch when the read finished. */
  at: number;
}
