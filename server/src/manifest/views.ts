// A kernel's `views` in ringkernel.json: regions of its state and how the Kernel State webview
// (and `ringkernel run --snapshot`) draws them. A pure check of the parsed JSON node, with offsets
// for every problem, in the manifest's style: 'schema' problems are what
// media/schemas/ringkernel.schema.json says too, 'semantic' ones only we can tell (a region past
// the state's end, a heatmap without a shape, a repeated name).
//
// A view is display only: a broken view is left out with its problem, and the kernel still runs.
import type { Node } from 'jsonc-parser/lib/esm/main.js';

export const VIEWS_PROPERTY = 'views';
export const VIEW_PROPERTIES = ['name', 'type', 'offset', 'count', 'shape', 'plot', 'range'] as const;
export const REQUIRED_VIEW_PROPERTIES = ['name', 'type', 'offset', 'plot'] as const;
export const VIEW_TYPES = ['f32', 'u32', 'i32'] as const;
export const VIEW_PLOTS = ['line', 'heatmap', 'histogram', 'table'] as const;

export type StateViewType = (typeof VIEW_TYPES)[number];
export type StateViewPlot = (typeof VIEW_PLOTS)[number];

export const VIEW_LIMITS = {
  /** Names appear in the webview and in `--snapshot NAME@STEP=FILE`: short and plain. */
  name: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
  /** One dimension of a shape; a 2-D view up to 65536 x 65536 words. */
  dimension: { min: 1, max: 65_536 },
  /** Views per kernel. */
  maxViews: 32,
} as const;

/** A checked view: `count` is always set (from `shape` when given). */
export interface StateView {
  name: string;
  type: StateViewType;
  /** Byte offset in the state, a multiple of 4. */
  offset: number;
  /** 32-bit elements. */
  count: number;
  /** [rows, columns], row-major. */
  shape?: [number, number];
  plot: StateViewPlot;
  range?: [number, number];
}

/** Shaped like the manifest's ManifestProblem, so the manifest reader can take these as they are. */
export interface ViewProblem {
  severity: 'error' | 'warning';
  kind: 'schema' | 'semantic';
  message: string;
  offset: number;
  length: number;
  kernelId?: string;
}

export interface ViewsCheck {
  /** The views without errors, in manifest order. */
  views: StateView[];
  problems: ViewProblem[];
}

export interface ViewsContext {
  /** The kernel as messages name it, e.g. 'kernel "heat"'. */
  label: string;
  kernelId?: string;
  /** The kernel's checked stateBytes; undefined when it has none (its own error says so), which skips the bounds check. */
  stateBytes?: number;
}

interface Span {
  offset: number;
  length: number;
}

const spanOf = (node: Node): Span => ({ offset: node.offset, length: node.length });

function describe(node: Node): string {
  switch (node.type) {
    case 'string': {
      const value = String(node.value);
      return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
    }
    case 'number':
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return 'nothing';
  }
}

function formatBytes(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Checks a kernel's `views` value (the node after `"views":`, or undefined when absent) against
 * its state size. Never throws on any JSON.
 */
export function checkViews(node: Node | undefined, context: ViewsContext): ViewsCheck {
  const problems: ViewProblem[] = [];
  const views: StateView[] = [];
  if (node === undefined) return { views, problems };
  const report = (severity: ViewProblem['severity'], kind: ViewProblem['kind'], message: string, at: Span): void => {
    const problem: ViewProblem = {
      severity,
      kind,
      message: `${context.label}: ${message}`,
      offset: at.offset,
      length: at.length,
    };
    if (context.kernelId !== undefined) problem.kernelId = context.kernelId;
    problems.push(problem);
  };
  if (node.type !== 'array') {
    report(
      'error',
      'schema',
      `"views" must be an array of views such as { "name": "rod", "type": "f32", "offset": 0, "count": 1024, "plot": "line" } (got ${describe(node)})`,
      spanOf(node),
    );
    return { views, problems };
  }
  const items = node.children ?? [];
  if (items.length > VIEW_LIMITS.maxViews) {
    report(
      'error',
      'schema',
      `"views" has ${items.length} views; at most ${VIEW_LIMITS.maxViews} are shown, so the rest are left out`,
      spanOf(node),
    );
  }
  const names = new Map<string, number>();
  items.slice(0, VIEW_LIMITS.maxViews).forEach((item, index) => {
    const view = checkView(item, index, context, report);
    if (view === undefined) return;
    const first = names.get(view.name);
    if (first !== undefined) {
      const nameNode = propertyValue(item, 'name');
      report(
        'error',
        'semantic',
        `view "${view.name}" is named like view #${first + 1}; names must be unique (they pick a view in --snapshot)`,
        nameNode ? spanOf(nameNode) : spanOf(item),
      );
      return;
    }
    names.set(view.name, index);
    views.push(view);
  });
  return { views, problems };
}

function propertyValue(node: Node, name: string): Node | undefined {
  return (node.children ?? []).filter((p) => p.type === 'property' && p.children?.[0]?.value === name).at(-1)
    ?.children?.[1];
}

type Report = (severity: ViewProblem['severity'], kind: ViewProblem['kind'], message: string, at: Span) => void;

function checkView(node: Node, index: number, context: ViewsContext, report: Report): StateView | undefined {
  const where = `view #${index + 1}`;
  if (node.type !== 'object') {
    report(
      'error',
      'schema',
      `${where} must be an object with "name", "type", "offset", "count" or "shape", and "plot" (got ${describe(node)})`,
      spanOf(node),
    );
    return undefined;
  }
  const properties = new Map<string, { key: Node; value: Node | undefined }>();
  for (const child of node.children ?? []) {
    const key = child.children?.[0];
    if (child.type !== 'property' || key === undefined) continue;
    const name = String(key.value);
    if (!(VIEW_PROPERTIES as readonly string[]).includes(name)) {
      report(
        'warning',
        'schema',
        `${where}: unknown property "${name}" is ignored; a view has ${VIEW_PROPERTIES.join(', ')}`,
        spanOf(key),
      );
    }
    properties.set(name, { key, value: child.children?.[1] });
  }
  const nameNode = properties.get('name')?.value;
  const label =
    nameNode?.type === 'string' && VIEW_LIMITS.name.test(String(nameNode.value))
      ? `view "${String(nameNode.value)}"`
      : where;
  let ok = true;
  const error = (kind: ViewProblem['kind'], message: string, at: Span): void => {
    ok = false;
    report('error', kind, `${label}: ${message}`, at);
  };
  for (const name of REQUIRED_VIEW_PROPERTIES) {
    if (!properties.has(name))
      error('schema', `missing required property "${name}"${REQUIRED_HINT[name]}`, { offset: node.offset, length: 1 });
  }
  const value = (name: (typeof VIEW_PROPERTIES)[number]): Node | undefined => properties.get(name)?.value;

  let name: string | undefined;
  if (nameNode) {
    if (nameNode.type !== 'string' || !VIEW_LIMITS.name.test(String(nameNode.value))) {
      error(
        'schema',
        `"name" must start with a letter and have at most 64 letters, digits, "_", "." or "-" (got ${describe(nameNode)})`,
        spanOf(nameNode),
      );
    } else name = String(nameNode.value);
  }

  const typeNode = value('type');
  let type: StateViewType | undefined;
  if (typeNode) {
    if (typeNode.type === 'string' && (VIEW_TYPES as readonly string[]).includes(String(typeNode.value)))
      type = typeNode.value as StateViewType;
    else
      error(
        'schema',
        `"type" must be "f32", "u32" or "i32", how the 32-bit words are read (got ${describe(typeNode)})`,
        spanOf(typeNode),
      );
  }

  const plotNode = value('plot');
  let plot: StateViewPlot | undefined;
  if (plotNode) {
    if (plotNode.type === 'string' && (VIEW_PLOTS as readonly string[]).includes(String(plotNode.value)))
      plot = plotNode.value as StateViewPlot;
    else
      error(
        'schema',
        `"plot" must be "line", "heatmap", "histogram" or "table" (got ${describe(plotNode)})`,
        spanOf(plotNode),
      );
  }

  const offsetNode = value('offset');
  let offset: number | undefined;
  if (offsetNode) {
    if (offsetNode.type !== 'number' || !Number.isSafeInteger(offsetNode.value) || (offsetNode.value as number) < 0) {
      error(
        'schema',
        `"offset" must be a byte offset in the state: an integer from 0 (got ${describe(offsetNode)})`,
        spanOf(offsetNode),
      );
    } else if ((offsetNode.value as number) % 4 !== 0) {
      error(
        'schema',
        `"offset" must be a multiple of 4, the start of a 32-bit word (got ${String(offsetNode.value)})`,
        spanOf(offsetNode),
      );
    } else offset = offsetNode.value as number;
  }

  const countNode = value('count');
  const shapeNode = value('shape');
  let count: number | undefined;
  let shape: [number, number] | undefined;
  const hasCount = properties.has('count');
  const hasShape = properties.has('shape');
  if (hasCount && hasShape) {
    error(
      'schema',
      'give either "count" or "shape", not both: "shape" [rows, columns] sets the count',
      spanOf(properties.get('shape')?.key ?? node),
    );
  } else if (!hasCount && !hasShape) {
    error('schema', 'missing "count" (elements in the region) or "shape" ([rows, columns])', {
      offset: node.offset,
      length: 1,
    });
  } else if (countNode) {
    if (countNode.type !== 'number' || !Number.isSafeInteger(countNode.value) || (countNode.value as number) < 1) {
      error(
        'schema',
        `"count" must be the number of 32-bit elements, an integer from 1 (got ${describe(countNode)})`,
        spanOf(countNode),
      );
    } else count = countNode.value as number;
  } else if (shapeNode) {
    const dims = shapeNode.type === 'array' ? (shapeNode.children ?? []) : [];
    const { min, max } = VIEW_LIMITS.dimension;
    if (shapeNode.type !== 'array' || dims.length !== 2) {
      error(
        'schema',
        `"shape" must be [rows, columns], two integers (got ${shapeNode.type === 'array' ? `${dims.length} item(s)` : describe(shapeNode)})`,
        spanOf(shapeNode),
      );
    } else {
      const [rows, columns] = dims.map((d) =>
        d.type === 'number' && Number.isSafeInteger(d.value) ? (d.value as number) : undefined,
      );
      const bad = dims.findIndex((d, i) => {
        const n = [rows, columns][i];
        return n === undefined || n < min || n > max;
      });
      if (bad >= 0) {
        const dim = dims[bad] ?? shapeNode;
        error(
          'schema',
          `"shape" ${bad === 0 ? 'rows' : 'columns'} must be an integer from ${min} to ${max} (got ${describe(dim)})`,
          spanOf(dim),
        );
      } else if (rows !== undefined && columns !== undefined) {
        shape = [rows, columns];
        count = rows * columns;
      }
    }
  }

  const rangeNode = value('range');
  let range: [number, number] | undefined;
  if (rangeNode) {
    const ends = rangeNode.type === 'array' ? (rangeNode.children ?? []) : [];
    if (rangeNode.type !== 'array' || ends.length !== 2 || ends.some((e) => e.type !== 'number')) {
      error(
        'schema',
        `"range" must be [min, max], two numbers (got ${rangeNode.type === 'array' ? `${ends.length} item(s)` : describe(rangeNode)})`,
        spanOf(rangeNode),
      );
    } else {
      const low = ends[0]?.value as number;
      const high = ends[1]?.value as number;
      if (!(low < high))
        error('semantic', `"range" must have min below max (got [${low}, ${high}])`, spanOf(rangeNode));
      else range = [low, high];
    }
  }

  if (plot === 'heatmap' && hasCount && !hasShape) {
    error(
      'semantic',
      'a heatmap needs "shape": [rows, columns] instead of "count", to know where each row ends',
      spanOf(properties.get('count')?.key ?? node),
    );
  }
  if (plot === 'table' && rangeNode) {
    report(
      'warning',
      'semantic',
      `${label}: "range" is ignored for a table, which shows the numbers as they are`,
      spanOf(properties.get('range')?.key ?? rangeNode),
    );
  }
  if (offset !== undefined && count !== undefined && context.stateBytes !== undefined) {
    const end = offset + count * 4;
    if (end > context.stateBytes) {
      const at = countNode ?? shapeNode ?? offsetNode ?? node;
      error(
        'semantic',
        `the region ends at byte ${formatBytes(end)} (offset ${formatBytes(offset)} + ${formatBytes(count)} elements x 4 bytes), past the state's ${formatBytes(context.stateBytes)} bytes; shrink it or raise "stateBytes"`,
        spanOf(at),
      );
    }
  }

  if (
    !ok ||
    name === undefined ||
    type === undefined ||
    plot === undefined ||
    offset === undefined ||
    count === undefined
  )
    return undefined;
  const view: StateView = { name, type, offset, count, plot };
  if (shape !== undefined) view.shape = shape;
  if (range !== undefined) view.range = range;
  return view;
}

const REQUIRED_HINT: Record<(typeof REQUIRED_VIEW_PROPERTIES)[number], string> = {
  name: ', a unique name such as "rod"',
  type: ': "f32", "u32" or "i32"',
  offset: ", the region's first byte in the state (a multiple of 4)",
  plot: ': "line", "heatmap", "histogram" or "table"',
};
