// The webviews' safety at the boundary: the page's Content Security Policy and nonce, and the
// validation of every message a webview posts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelIdOf } from '../../client/src/webviews/kernelTarget';
import { array, literal, number, object, string, tagged, validate } from '../../client/src/webviews/messageValidator';
import { messageHtml, newNonce, webviewHtml } from '../../client/src/webviews/webviewHtml';
import { routerFromWebview, stateFromWebview, stateWebviewState } from '../../client/src/webviews/webviewMessages';

const CSP_SOURCE = 'https://*.vscode-cdn.net';

function page(nonce = newNonce()): string {
  return webviewHtml({
    cspSource: CSP_SOURCE,
    nonce,
    title: 'State: <heat> & "co"',
    styles: ['https://file+.vscode-resource.vscode-cdn.net/ext/media/webview/webview.css'],
    scripts: ['https://file+.vscode-resource.vscode-cdn.net/ext/media/webview/build/kernelState.js'],
    data: { kernel: 'heat"><script>', 'Bad Name!': 'x' },
  });
}

test('the page allows nothing by default, scripts only with its nonce, styles and images only from the webview origin', () => {
  const nonce = newNonce();
  const html = page(nonce);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1]?.replace(/&#39;/g, "'");
  assert.equal(
    csp,
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${CSP_SOURCE}; img-src ${CSP_SOURCE}; font-src ${CSP_SOURCE}`,
  );
  assert.doesNotMatch(csp ?? '', /unsafe-inline|unsafe-eval|\*;|https:;/);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1] ?? '');
  assert.equal(scripts.length, 1);
  for (const attributes of scripts)
    assert.match(attributes, new RegExp(` nonce="${nonce.replace(/[+/]/g, (c) => `\\${c}`)}" src="https://`));
  assert.doesNotMatch(html, /<script[^>]*>[^<]/, 'no inline script body');
  assert.doesNotMatch(html, /style="/, 'no inline style');
});

test('text from outside is escaped: the title and the data attributes cannot open a tag', () => {
  const html = page();
  assert.match(html, /<title>State: &#60;heat&#62; &#38; &#34;co&#34;<\/title>/);
  assert.match(html, /<main id="app" data-kernel="heat&#34;&#62;&#60;script&#62;" data-badname="x"><\/main>/);
  assert.equal([...html.matchAll(/<script/g)].length, 1);
});

test('a page that only says something has no script and escapes its message', () => {
  const html = messageHtml({
    cspSource: CSP_SOURCE,
    title: 'Kernel State',
    styles: [],
    message: 'kernel "<b>" is gone',
  });
  assert.doesNotMatch(html, /<script/);
  assert.match(html, /<main id="app"><p class="status warning">kernel &#34;&#60;b&#62;&#34; is gone<\/p><\/main>/);
  assert.match(html, /default-src &#39;none&#39;/);
});

test('each load gets a fresh nonce of 128 random bits', () => {
  const nonces = new Set(Array.from({ length: 1000 }, () => newNonce()));
  assert.equal(nonces.size, 1000);
  for (const nonce of nonces) assert.equal(Buffer.from(nonce, 'base64').byteLength, 16);
});

test('the validator returns the typed value with only the known fields, and says where a value is wrong', () => {
  const check = object(
    {
      kind: literal('a', 'b'),
      count: number({ integer: true, min: 0, max: 10 }),
      tags: array(string({ maxLength: 3 }), { max: 2 }),
    },
    { note: string() },
  );
  assert.deepEqual(validate(check, { kind: 'a', count: 3, tags: ['x'], extra: { evil: true } }), {
    ok: true,
    value: { kind: 'a', count: 3, tags: ['x'] },
  });
  assert.deepEqual(validate(check, { kind: 'a', count: 3, tags: [], note: 'n' }), {
    ok: true,
    value: { kind: 'a', count: 3, tags: [], note: 'n' },
  });
  const failures: [unknown, string][] = [
    [null, 'message must be an object (got null)'],
    [{ kind: 'c', count: 1, tags: [] }, 'message.kind must be one of "a", "b" (got "c")'],
    [{ kind: 'a', count: 1.5, tags: [] }, 'message.count must be an integer (got 1.5)'],
    [{ kind: 'a', count: 11, tags: [] }, 'message.count must be at most 10 (got 11)'],
    [{ kind: 'a', count: NaN, tags: [] }, 'message.count must be a finite number (got NaN)'],
    [
      { kind: 'a', count: 1, tags: ['long!'] },
      'message.tags[0] must be a string of at most 3 characters (got "5 characters")',
    ],
    [
      { kind: 'a', count: 1, tags: ['a', 'b', 'c'] },
      'message.tags must be an array of at most 2 items (got "3 items")',
    ],
    [{ kind: 'a', count: 1, tags: [], note: 5 }, 'message.note must be a string (got 5)'],
    [[], 'message must be an object (got an array)'],
  ];
  for (const [value, error] of failures) assert.deepEqual(validate(check, value), { ok: false, error });
  const union = tagged({ ping: object({}), set: object({ to: number() }) });
  assert.deepEqual(validate(union, { type: 'set', to: 2 }), { ok: true, value: { type: 'set', to: 2 } });
  assert.deepEqual(validate(union, { type: 'toString' }), {
    ok: false,
    error: 'message.type must be one of "ping", "set" (got "toString")',
  });
  assert.deepEqual(validate(union, { type: '__proto__' }), {
    ok: false,
    error: 'message.type must be one of "ping", "set" (got "__proto__")',
  });
});

test("the state panel's messages: regions are whole non-negative integers, at most 64, and paused a boolean", () => {
  assert.deepEqual(
    validate(stateFromWebview, { type: 'subscribe', regions: [{ offset: 0, length: 1024 }], paused: false }),
    { ok: true, value: { type: 'subscribe', regions: [{ offset: 0, length: 1024 }], paused: false } },
  );
  assert.deepEqual(
    validate(stateFromWebview, { type: 'subscribe', regions: [{ offset: -4, length: 4 }], paused: false }),
    { ok: false, error: 'message.regions[0].offset must be at least 0 (got -4)' },
  );
  assert.deepEqual(
    validate(stateFromWebview, {
      type: 'subscribe',
      regions: Array.from({ length: 65 }, () => ({ offset: 0, length: 4 })),
      paused: false,
    }),
    { ok: false, error: 'message.regions must be an array of at most 64 items (got "65 items")' },
  );
  assert.deepEqual(validate(stateFromWebview, { type: 'pause', paused: 'yes' }), {
    ok: false,
    error: 'message.paused must be true or false (got "yes")',
  });
  assert.deepEqual(validate(stateFromWebview, { type: 'stepFrame' }), { ok: true, value: { type: 'stepFrame' } });
  const rendered = {
    kernelId: 'heat',
    step: 12,
    version: 2,
    frames: 3,
    marker: 'v2 at step 10',
    compareAvailable: true,
    comparing: true,
    paused: false,
    views: [{ name: 'rod', plot: 'line', elements: 4, first: [1, 2] }],
    error: null,
    theme: 'dark',
  };
  assert.deepEqual(validate(stateFromWebview, { type: 'rendered', summary: rendered }), {
    ok: true,
    value: { type: 'rendered', summary: rendered },
  });
  assert.equal(
    validate(stateFromWebview, {
      type: 'rendered',
      summary: { ...rendered, views: [{ ...rendered.views[0], plot: 'pie' }] },
    }).ok,
    false,
  );
  assert.equal(validate(stateFromWebview, { type: 'eval', code: 'x' }).ok, false);
});

test("the router panel's messages and the saved state the serializer reads", () => {
  assert.deepEqual(validate(routerFromWebview, { type: 'ready' }), { ok: true, value: { type: 'ready' } });
  assert.deepEqual(validate(routerFromWebview, { type: 'problem', message: 'boom' }), {
    ok: true,
    value: { type: 'problem', message: 'boom' },
  });
  assert.equal(validate(routerFromWebview, { type: 'rendered', summary: { at: 1 } }).ok, false);
  assert.deepEqual(validate(stateWebviewState, { kernelId: 'heat', paused: true, chosen: {} }), {
    ok: true,
    value: { kernelId: 'heat' },
  });
  assert.equal(validate(stateWebviewState, undefined).ok, false);
});

test('a kernel is named by its id or by its GPU Topology node; anything else asks the user', () => {
  assert.equal(kernelIdOf('heat'), 'heat');
  assert.equal(kernelIdOf({ id: 'webgpu:0/kernel/heat', kind: 'kernel', label: 'heat', children: [] }), 'heat');
  assert.equal(kernelIdOf({ kind: 'device', label: 'llvmpipe' }), undefined);
  assert.equal(kernelIdOf(''), undefined);
  assert.equal(kernelIdOf(undefined), undefined);
});
