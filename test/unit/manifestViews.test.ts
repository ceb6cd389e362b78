// The manifest's `views`: every rule with its message and position, the views that survive, and
// the JSON schema in step with the checker.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findNodeAtLocation, parseTree } from 'jsonc-parser/lib/esm/main.js';
import {
  REQUIRED_VIEW_PROPERTIES,
  VIEW_LIMITS,
  VIEW_PLOTS,
  VIEW_PROPERTIES,
  VIEW_TYPES,
  checkViews,
  type ViewsCheck,
} from '../../server/src/manifest/views';
import { repoRoot } from '../support/repo';

/** Checks the `views` of a manifest text's first kernel; `at(problem)` is the text it points at. */
function check(views: unknown, stateBytes: number | null = 4096): ViewsCheck & { text: string; at(i: number): string } {
  const text = JSON.stringify({ kernels: [{ id: 'heat', stateBytes: 4096, views }] }, null, 2);
  const root = parseTree(text);
  assert.ok(root);
  const node = findNodeAtLocation(root, ['kernels', 0, 'views']);
  const result = checkViews(node, {
    label: 'kernel "heat"',
    kernelId: 'heat',
    ...(stateBytes !== null ? { stateBytes } : {}),
  });
  return {
    ...result,
    text,
    at: (i) => {
      const p = result.problems[i];
      return p ? text.slice(p.offset, p.offset + p.length) : '';
    },
  };
}

test('accepts the heat rod and the Gray-Scott field as the issue writes them, with count from shape', () => {
  const result = check([
    { name: 'rod', type: 'f32', offset: 16, count: 1000, plot: 'line' },
    { name: 'field', type: 'f32', offset: 0, shape: [32, 32], plot: 'heatmap', range: [0, 1] },
    { name: 'cells', type: 'u32', offset: 4092, count: 1, plot: 'table' },
    { name: 'spread', type: 'i32', offset: 0, count: 1024, plot: 'histogram' },
  ]);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.views, [
    { name: 'rod', type: 'f32', offset: 16, count: 1000, plot: 'line' },
    { name: 'field', type: 'f32', offset: 0, count: 1024, shape: [32, 32], plot: 'heatmap', range: [0, 1] },
    { name: 'cells', type: 'u32', offset: 4092, count: 1, plot: 'table' },
    { name: 'spread', type: 'i32', offset: 0, count: 1024, plot: 'histogram' },
  ]);
  assert.deepEqual(check(undefined).views, [], 'no views: nothing to check');
});

test('a region past stateBytes is an error at its count or shape, naming the end and the size; the other views stay', () => {
  const result = check([
    { name: 'rod', type: 'f32', offset: 16, count: 1021, plot: 'line' },
    { name: 'ok', type: 'f32', offset: 0, count: 4, plot: 'line' },
    { name: 'field', type: 'f32', offset: 4, shape: [32, 32], plot: 'heatmap' },
  ]);
  assert.deepEqual(
    result.views.map((v) => v.name),
    ['ok'],
  );
  assert.equal(result.problems.length, 2);
  assert.equal(
    result.problems[0]?.message,
    'kernel "heat": view "rod": the region ends at byte 4,100 (offset 16 + 1,021 elements x 4 bytes), past the state\'s 4,096 bytes; shrink it or raise "stateBytes"',
  );
  assert.equal(result.at(0), '1021');
  assert.equal(result.problems[0]?.kind, 'semantic');
  assert.equal(result.problems[0]?.kernelId, 'heat');
  assert.match(result.at(1), /^\[\s*32,\s*32\s*\]$/);
  assert.deepEqual(
    check([{ name: 'rod', type: 'f32', offset: 16, count: 1021, plot: 'line' }], null).problems,
    [],
    'no stateBytes (its own error): no bounds check',
  );
});

const BAD: [string, unknown, RegExp, string, 'schema' | 'semantic'][] = [
  ['views not an array', { name: 'x' }, /"views" must be an array of views .*\(got an object\)/, '{', 'schema'],
  ['a view not an object', [3], /view #1 must be an object .*\(got 3\)/, '3', 'schema'],
  [
    'missing plot',
    [{ name: 'rod', type: 'f32', offset: 0, count: 4 }],
    /view "rod": missing required property "plot": "line", "heatmap", "histogram" or "table"/,
    '{',
    'schema',
  ],
  [
    'neither count nor shape',
    [{ name: 'rod', type: 'f32', offset: 0, plot: 'line' }],
    /view "rod": missing "count" \(elements in the region\) or "shape"/,
    '{',
    'schema',
  ],
  [
    'both count and shape',
    [{ name: 'f', type: 'f32', offset: 0, count: 4, shape: [2, 2], plot: 'heatmap' }],
    /give either "count" or "shape", not both/,
    '"shape"',
    'schema',
  ],
  [
    'a bad type',
    [{ name: 'rod', type: 'f64', offset: 0, count: 4, plot: 'line' }],
    /"type" must be "f32", "u32" or "i32".*\(got "f64"\)/,
    '"f64"',
    'schema',
  ],
  [
    'a bad plot',
    [{ name: 'rod', type: 'f32', offset: 0, count: 4, plot: 'bars' }],
    /"plot" must be "line", "heatmap", "histogram" or "table" \(got "bars"\)/,
    '"bars"',
    'schema',
  ],
  [
    'an unaligned offset',
    [{ name: 'rod', type: 'f32', offset: 6, count: 4, plot: 'line' }],
    /"offset" must be a multiple of 4, the start of a 32-bit word \(got 6\)/,
    '6',
    'schema',
  ],
  [
    'a negative offset',
    [{ name: 'rod', type: 'f32', offset: -4, count: 4, plot: 'line' }],
    /"offset" must be a byte offset in the state: an integer from 0 \(got -4\)/,
    '-4',
    'schema',
  ],
  [
    'a zero count',
    [{ name: 'rod', type: 'f32', offset: 0, count: 0, plot: 'line' }],
    /"count" must be the number of 32-bit elements, an integer from 1 \(got 0\)/,
    '0',
    'schema',
  ],
  [
    'a 3-D shape',
    [{ name: 'f', type: 'f32', offset: 0, shape: [2, 2, 2], plot: 'heatmap' }],
    /"shape" must be \[rows, columns\], two integers \(got 3 item\(s\)\)/,
    '[',
    'schema',
  ],
  [
    'a zero dimension',
    [{ name: 'f', type: 'f32', offset: 0, shape: [2, 0], plot: 'heatmap' }],
    /"shape" columns must be an integer from 1 to 65536 \(got 0\)/,
    '0',
    'schema',
  ],
  [
    'a heatmap without shape',
    [{ name: 'f', type: 'f32', offset: 0, count: 16, plot: 'heatmap' }],
    /a heatmap needs "shape": \[rows, columns\] instead of "count"/,
    '"count"',
    'semantic',
  ],
  [
    'a range upside down',
    [{ name: 'f', type: 'f32', offset: 0, count: 4, plot: 'line', range: [1, 0] }],
    /"range" must have min below max \(got \[1, 0\]\)/,
    '[',
    'semantic',
  ],
  [
    'a range of one',
    [{ name: 'f', type: 'f32', offset: 0, count: 4, plot: 'line', range: [1] }],
    /"range" must be \[min, max\], two numbers \(got 1 item\(s\)\)/,
    '[',
    'schema',
  ],
  [
    'a bad name',
    [{ name: '1st', type: 'f32', offset: 0, count: 4, plot: 'line' }],
    /view #1: "name" must start with a letter/,
    '"1st"',
    'schema',
  ],
  [
    'a repeated name',
    [
      { name: 'rod', type: 'f32', offset: 0, count: 4, plot: 'line' },
      { name: 'rod', type: 'u32', offset: 0, count: 4, plot: 'table' },
    ],
    /view "rod" is named like view #1; names must be unique/,
    '"rod"',
    'semantic',
  ],
];

for (const [what, views, message, at, kind] of BAD) {
  test(`rejects ${what}, at the offending value`, () => {
    const result = check(views);
    const errors = result.problems.filter((p) => p.severity === 'error');
    assert.equal(errors.length, 1, JSON.stringify(result.problems));
    assert.match(errors[0]?.message ?? '', message);
    assert.match(errors[0]?.message ?? '', /^kernel "heat": /);
    assert.equal(errors[0]?.kind, kind);
    const index = result.problems.indexOf(errors[0] ?? result.problems[0]!);
    assert.ok(result.at(index).startsWith(at), `points at ${JSON.stringify(result.at(index))}, expected ${at}`);
    assert.ok(result.views.length < (Array.isArray(views) ? views.length : 1), 'the broken view is left out');
  });
}

test('warns of an unknown property and of a range on a table, keeping the view', () => {
  const result = check([{ name: 't', type: 'u32', offset: 0, count: 4, plot: 'table', range: [0, 1], colour: 'red' }]);
  assert.deepEqual(
    result.problems.map((p) => [p.severity, p.message]),
    [
      [
        'warning',
        'kernel "heat": view #1: unknown property "colour" is ignored; a view has name, type, offset, count, shape, plot, range',
      ],
      ['warning', 'kernel "heat": view "t": "range" is ignored for a table, which shows the numbers as they are'],
    ],
  );
  assert.equal(result.views.length, 1);
});

test('more than 32 views: the rest are left out with an error on the array', () => {
  const result = check(
    Array.from({ length: 40 }, (_, i) => ({ name: `v${i}`, type: 'u32', offset: 0, count: 1, plot: 'table' })),
  );
  assert.equal(result.views.length, VIEW_LIMITS.maxViews);
  assert.match(result.problems[0]?.message ?? '', /"views" has 40 views; at most 32 are shown/);
});

test('never throws, whatever the JSON', () => {
  for (const text of [
    '[',
    '[{"name":',
    '[{"shape":[1,',
    '{"a":[[[]]]}',
    '[null, true, "x", [], {}]',
    '[{"name":"a","type":"f32","offset":0,"count":1e400,"plot":"line"}]',
  ]) {
    const root = parseTree(text);
    assert.doesNotThrow(() => checkViews(root, { label: 'kernel "k"', stateBytes: 16 }), text);
  }
});

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  enum?: unknown[];
  items?: SchemaNode;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  multipleOf?: number;
  pattern?: string;
  description?: string;
  additionalProperties?: boolean;
  definitions?: Record<string, SchemaNode>;
}

test("the schema's view is the checker's: properties, required ones, enums, limits", () => {
  const schema = JSON.parse(
    readFileSync(join(repoRoot, 'media', 'schemas', 'ringkernel.schema.json'), 'utf8'),
  ) as SchemaNode;
  const views = schema.definitions?.['kernel']?.properties?.['views'];
  const view = schema.definitions?.['view'];
  assert.ok(views?.description && view);
  assert.equal(views.maxItems, VIEW_LIMITS.maxViews);
  assert.deepEqual(Object.keys(view.properties ?? {}).sort(), [...VIEW_PROPERTIES].sort());
  assert.deepEqual([...(view.required ?? [])].sort(), [...REQUIRED_VIEW_PROPERTIES].sort());
  assert.equal(view.additionalProperties, false);
  for (const [name, node] of Object.entries(view.properties ?? {}))
    assert.ok(node.description, `${name} has a description`);
  assert.deepEqual(view.properties?.['type']?.enum, [...VIEW_TYPES]);
  assert.deepEqual(view.properties?.['plot']?.enum, [...VIEW_PLOTS]);
  assert.equal(view.properties?.['name']?.pattern, VIEW_LIMITS.name.source);
  assert.deepEqual([view.properties?.['offset']?.minimum, view.properties?.['offset']?.multipleOf], [0, 4]);
  assert.equal(view.properties?.['count']?.minimum, 1);
  const dimension = view.properties?.['shape']?.items;
  assert.deepEqual([dimension?.minimum, dimension?.maximum], [VIEW_LIMITS.dimension.min, VIEW_LIMITS.dimension.max]);
});
