// Messages a webview posts are input: each is checked before a panel sees it; a malformed one is
// logged and dropped, and nothing a webview posts makes the extension's listener throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { validate, type Check } from '../../client/src/webviews/messageValidator';
import { routerFromWebview, stateFromWebview } from '../../client/src/webviews/webviewMessages';
import { receiveWebviewMessage, type InboxLog } from '../../client/src/webviews/webviewInbox';

function recorder(): InboxLog & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, warn: (m) => warnings.push(m), error: (m) => errors.push(m) };
}

const HOSTILE: unknown[] = [
  undefined,
  null,
  42,
  'ready',
  [],
  [{ type: 'ready' }],
  {},
  { type: 'nope' },
  { type: '__proto__' },
  { type: 'constructor' },
  { type: 'toString' },
  { type: 'hasOwnProperty' },
  { type: ['ready'] },
  { type: 'subscribe' },
  { type: 'subscribe', regions: 'all', paused: false },
  { type: 'subscribe', regions: [{ offset: -4, length: 4 }], paused: false },
  { type: 'subscribe', regions: [{ offset: 0.5, length: 4 }], paused: false },
  { type: 'subscribe', regions: [{ offset: 0, length: 2 ** 60 }], paused: false },
  { type: 'subscribe', regions: [{ offset: 0, length: Number.NaN }], paused: false },
  { type: 'subscribe', regions: Array.from({ length: 65 }, () => ({ offset: 0, length: 4 })), paused: false },
  { type: 'subscribe', regions: [], paused: 'no' },
  { type: 'pause', paused: 1 },
  { type: 'problem', message: 'x'.repeat(2001) },
  { type: 'problem', message: { toString: 'x' } },
  { type: 'rendered', summary: null },
  { type: 'rendered', summary: { kernelId: '../../etc' } },
];

test('malformed messages from the state panel are logged and dropped, never handed on, never thrown', () => {
  for (const raw of HOSTILE) {
    const log = recorder();
    let handled = 0;
    const ok = receiveWebviewMessage('ringkernel.kernelState', stateFromWebview, raw, log, () => handled++);
    assert.equal(ok, false, JSON.stringify(raw));
    assert.equal(handled, 0);
    assert.equal(log.warnings.length, 1, JSON.stringify(raw));
    assert.match(
      log.warnings[0] ?? '',
      /^ringkernel\.kernelState: ignored a message from the webview: message\.\S* must be /,
    );
    assert.deepEqual(log.errors, []);
  }
});

test('a valid message is handed on with only its known fields; a handler that throws is logged, not thrown', () => {
  const log = recorder();
  const seen: unknown[] = [];
  const raw = {
    type: 'subscribe',
    regions: [{ offset: 8, length: 16, extra: 'dropped' }],
    paused: true,
    evil: () => 1,
  };
  assert.equal(
    receiveWebviewMessage('ringkernel.kernelState', stateFromWebview, raw, log, (m) => seen.push(m)),
    true,
  );
  assert.deepEqual(seen, [{ type: 'subscribe', regions: [{ offset: 8, length: 16 }], paused: true }]);
  const ok = receiveWebviewMessage('ringkernel.routerStats', routerFromWebview, { type: 'ready' }, log, () => {
    throw new Error('boom');
  });
  assert.equal(ok, false);
  assert.deepEqual(log.errors, ['ringkernel.routerStats: handling a "ready" message from the webview failed: boom']);
  assert.deepEqual(log.warnings, []);
});

test('any value a webview can post is checked without throwing (seeded property)', () => {
  // What postMessage can carry: JSON-like values, plus near-valid messages of both panels with one field damaged.
  const types = ['ready', 'subscribe', 'pause', 'stepFrame', 'rendered', 'problem', 'nope', '__proto__'];
  const anyValue = fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withNullPrototype: true,
  });
  const nearValid = fc.record({
    type: fc.constantFrom(...types),
    regions: fc.oneof(fc.array(fc.record({ offset: anyValue, length: anyValue }), { maxLength: 70 }), anyValue),
    paused: anyValue,
    message: anyValue,
    summary: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
  });
  fc.assert(
    fc.property(fc.oneof(anyValue, nearValid), (raw) => {
      const panels: [string, Check<unknown>][] = [
        ['ringkernel.kernelState', stateFromWebview],
        ['ringkernel.routerStats', routerFromWebview],
      ];
      for (const [viewType, check] of panels) {
        const log = recorder();
        let handled: unknown;
        const ok = receiveWebviewMessage(viewType, check, raw, log, (m) => (handled = m));
        assert.deepEqual(log.errors, [], 'a check threw something other than its own error');
        assert.equal(ok, validate(check, raw).ok);
        assert.equal(ok ? log.warnings.length : 1, ok ? 0 : log.warnings.length);
        if (ok) assert.equal(typeof (handled as { type?: unknown }).type, 'string');
      }
    }),
    { seed: 20250601, numRuns: 2000 },
  );
});
