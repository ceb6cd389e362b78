import assert from 'node:assert/strict';
import { test } from 'node:test';
import { swappedMessage } from '../../server/src/runtime/reloadMessages';

const change = { from: 3, to: 4, rollback: false, restored: false };

test('a reload message gives the rollback point time too when its bytes arrive noticeably later', () => {
  assert.equal(
    swappedMessage('heat', change, 'cuda:0', { totalMs: 24.2, rollbackPointMs: 222.4 }, 256 << 20),
    'heat v4 reloaded on cuda:0: running in 24 ms (state preserved, 256 MiB); rollback point saved 222 ms after the save',
  );
  assert.equal(
    swappedMessage('heat', change, 'webgpu:0', { totalMs: 14, rollbackPointMs: 16 }, 4 << 20),
    'heat v4 reloaded on webgpu:0: running in 14 ms (state preserved, 4.0 MiB)',
  );
  assert.equal(
    swappedMessage(
      'heat',
      { ...change, rollback: true, to: 2 },
      'webgpu:0',
      { totalMs: 10, rollbackPointMs: 40 },
      4 << 20,
    ),
    'heat rolled back from v3 to v2 on webgpu:0: running in 10 ms (state preserved, 4.0 MiB); rollback point saved 40 ms after the request',
  );
});
