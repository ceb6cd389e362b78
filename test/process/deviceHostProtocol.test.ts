// Found by fuzzing the device-host protocol (test/fuzz/deviceHost): a request named `constructor` or
// `toString` ran Object's methods and was answered ok; a bulk-transfer reference naming any file
// had it read and then deleted; a null message killed the host; and a steps request without a
// launch threw inside the supervisor's call instead of failing with an answer.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GpuError } from '../../server/src/backends/gpuError';
import { AttachedRegions, checkRegionRef } from '../../server/src/hosts/bulkTransfer';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import type { HostMessage, HostOperation } from '../../server/src/hosts/hostProtocol';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

test('a bulk-transfer region outside the bulk folder, or with counts that do not fit, is refused and never opened', () => {
  const folder = mkdtempSync(join(tmpdir(), 'ringkernel-bulk-test-'));
  try {
    const file = join(folder, 'ringkernel-bulk-1-x');
    writeFileSync(file, Buffer.alloc(8, 1));
    const regions = new AttachedRegions(() => assert.fail('no region may be opened'));
    for (const region of [file, '/dev/shm/../tmp/x', '/dev/shm/other-file', '/dev/shm/ringkernel-bulk-1-a/../b', 5]) {
      assert.throws(
        () => regions.get({ region, capacity: 8, bytes: 8 }),
        /refused bulk transfer .* only a region ringkernel-bulk-\* directly in/,
      );
    }
    assert.ok(existsSync(file));
    for (const counts of [
      { capacity: 8, bytes: -1 },
      { capacity: 8, bytes: 9 },
      { capacity: 0, bytes: 0 },
      { capacity: 2 ** 60, bytes: 1.5 },
    ])
      assert.throws(
        () => checkRegionRef({ region: '/dev/shm/ringkernel-bulk-1-x', ...counts }),
        /refused bulk transfer/,
      );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test(
  'requests for names that are not operations fail, and a malformed steps request fails with an answer',
  { timeout: 60_000 },
  async () => {
    const host = new DeviceHost({ backend: 'webgpu', script: distFile('deviceHost.js'), requestTimeoutMs: 30_000 });
    try {
      for (const op of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
        await assert.rejects(
          host.call(op as HostOperation, {}),
          (error: unknown) => error instanceof GpuError && /unknown device-host operation/.test(error.message),
          op,
        );
      }
      await assert.rejects(host.call('steps', {} as never), (error: unknown) => error instanceof GpuError);
    } finally {
      host.dispose();
    }
  },
);

test(
  'a message that is not a request, or has no integer id, leaves the host up and answering',
  { timeout: 60_000 },
  async () => {
    const child = fork(distFile('deviceHost.js'), ['webgpu'], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
      execArgv: [],
    });
    const replies: HostMessage[] = [];
    child.on('message', (m: HostMessage) => replies.push(m));
    try {
      for (const message of [
        null,
        0,
        'x',
        [],
        { kind: 'request', op: 'devices' },
        { kind: 'request', id: 'a', op: 'devices', args: {} },
      ])
        child.send(message as never);
      child.send({ kind: 'request', id: 7, op: 'devices', args: {} });
      await pollUntil(
        'the answer to devices',
        () => (replies.some((r) => r.kind === 'response' && r.id === 7) ? true : undefined),
        { timeoutMs: 45_000 },
      );
      assert.equal(child.exitCode, null);
      assert.ok(
        replies.some((r) => r.kind === 'diagnostic' && /ignored a request without an integer id/.test(r.message)),
      );
    } finally {
      child.kill('SIGKILL');
    }
  },
);
