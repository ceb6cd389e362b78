// Dragging a kernel onto a device in the GPU Topology view: what a drag carries (one kernel and the
// device it runs on, as JSON under our own mime type) and what a drop means. Pure (no VS Code API),
// so it is unit-tested with plain Node; the payload is checked on arrival because a drop's data
// can come from anywhere (another view, another extension, a hand-made drag).
import type { TopologyNode } from './topologyTree';

/** Our own mime type for a dragged kernel; VS Code adds the tree's own one by itself. */
export const KERNEL_DRAG_MIME = 'application/vnd.ringkernel.kernel+json';

export interface KernelDragPayload {
  kernelId: string;
  /** The device it ran on when the drag started. */
  from: string;
}

/** What a drag of these rows carries; undefined when none of them is a kernel (nothing to drag). */
export function kernelDragPayload(nodes: readonly TopologyNode[]): string | undefined {
  const kernel = nodes.find((n) => n.kind === 'kernel' && n.kernel !== undefined && n.device !== undefined);
  if (kernel?.kernel === undefined || kernel.device === undefined) return undefined;
  const payload: KernelDragPayload = { kernelId: kernel.kernel, from: kernel.device };
  return JSON.stringify(payload);
}

const DEVICE_KEY = /^[a-z]+:[0-9]+$/;

/** Reads a drag's payload; an error says what is wrong with it. */
export function parseKernelDrag(text: string): KernelDragPayload | Error {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new Error('the dropped data is not a RingKernel kernel (not JSON)');
  }
  if (typeof value !== 'object' || value === null)
    return new Error('the dropped data is not a RingKernel kernel (not an object)');
  const { kernelId, from } = value as Record<string, unknown>;
  if (typeof kernelId !== 'string' || kernelId === '') return new Error('the dropped data names no kernel');
  if (typeof from !== 'string' || !DEVICE_KEY.test(from))
    return new Error(`the dropped kernel ${kernelId} has no valid device key ("from")`);
  return { kernelId, from };
}

export type DropPlan =
  /** Move the kernel there. */
  | { action: 'migrate'; kernelId: string; from: string; to: string }
  /** Tell the user why nothing happens. */
  | { action: 'explain'; message: string };

/**
 * What dropping a dragged kernel on a row means: on a device, or on a kernel row of a device (the
 * rows under a device belong to it), move it there; on itself or its own device, nothing, said;
 * anywhere else, nothing, with what to do instead.
 */
export function dropPlan(payload: KernelDragPayload, target: TopologyNode | undefined): DropPlan {
  const to = target?.kind === 'device' || target?.kind === 'kernel' ? target.device : undefined;
  if (to === undefined)
    return { action: 'explain', message: `Drop ${payload.kernelId} onto a device (a chip row) to move it there.` };
  if (to === payload.from) return { action: 'explain', message: `${payload.kernelId} already runs on ${to}.` };
  return { action: 'migrate', kernelId: payload.kernelId, from: payload.from, to };
}
