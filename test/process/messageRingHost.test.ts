// The server's side of a host's message ring, against a host process that writes it: a step's
// outbox written into the ring reaches the router (the IPC message carries only its span), and a
// span that names nothing written is refused with an error saying why, its messages counted as the
// sender's overflow, never silently gone. The host here is a small script that speaks the
// protocol (a real host cannot be made to send a bad span), writing the ring file through fs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OUTBOX_HEADER_BYTES, SLOT_BYTES } from '../../server/src/abi/kernelAbi';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { sharedMapper } from '../../server/src/hosts/sharedMapping';
import type { Logger } from '../../server/src/logger';
import { MessageDelivery } from '../../server/src/runtime/messageDelivery';
import { pollUntil } from '../support/poll';

// Writes a 2-message outbox (to kernel 1) as record 0 of the ring toward the server, then sends one
// loopMessages naming it (step 0) and a span past everything written (step 1, 3 messages).
const FAKE_HOST = `
const { openSync, writeSync } = require('node:fs');
const argument = process.argv.find((arg) => arg.startsWith('--message-rings='));
const [up] = argument.slice('--message-rings='.length).split(',');
const outbox = Buffer.alloc(${OUTBOX_HEADER_BYTES} + 2 * ${SLOT_BYTES});
outbox.writeUInt32LE(2, 0);
for (let i = 0; i < 2; i++) {
  const base = ${OUTBOX_HEADER_BYTES} + i * ${SLOT_BYTES};
  outbox.writeUInt32LE(1, base);
  outbox.writeUInt32LE(7, base + 4);
  outbox.writeUInt32LE(4, base + 8);
  outbox.writeUInt32LE(1000 + i, base + 16);
}
const fd = openSync(up, 'r+');
writeSync(fd, outbox, 0, outbox.length, 64);
const cursor = Buffer.alloc(8);
cursor.writeBigInt64LE(BigInt(outbox.length), 0);
writeSync(fd, cursor, 0, 8, 0);
process.send({
  kind: 'loopMessages', loop: 1, kernel: 0, inboxSteps: [], nextStep: 2,
  steps: [
    { step: 0, sent: 2, span: { at: 0, bytes: outbox.length } },
    { step: 1, sent: 3, span: { at: outbox.length, bytes: 208 } },
  ],
});
process.on('message', () => undefined);
process.on('disconnect', () => process.exit());
`;

test(
  'a host writes outboxes into its ring: read by the server; a span past what was written is refused and counted',
  {
    skip: !sharedMapper().ok && 'shared memory cannot be mapped here (the addon is not built): messages travel inline',
  },
  async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ringkernel-ring-host-'));
    const script = join(folder, 'fakeHost.js');
    writeFileSync(script, FAKE_HOST);
    const errors: string[] = [];
    const log: Logger = {
      error: (m) => errors.push(m),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
    };
    const host = new DeviceHost({ backend: 'webgpu', script, log, requestTimeoutMs: 60_000 });
    const delivery = new MessageDelivery({ log });
    try {
      delivery.kernelStarting({
        index: 0,
        id: 'sender',
        device: 'webgpu:0',
        host,
        inboxCapacity: 0,
        outboxCapacity: 4,
      });
      delivery.kernelStarting({
        index: 1,
        id: 'receiver',
        device: 'webgpu:0',
        host,
        inboxCapacity: 0,
        outboxCapacity: 1,
      });
      void host.runningLoops().catch(() => undefined); // starts the process; the fake never answers
      const totals = await pollUntil(
        'the fake host\u2019s batch to be routed',
        () => {
          const t = delivery.router.snapshot().totals;
          return t.submitted + t.outboxFull >= 5 ? t : undefined;
        },
        { timeoutMs: 20_000 },
      );
      assert.equal(totals.accepted, 2, 'the outbox read from the ring was accepted');
      assert.equal(totals.outboxFull, 3, "the refused span's messages are counted as the sender's overflow");
      assert.equal(delivery.router.pendingFor(1), 2);
      const taken = delivery.router.takeInbox(1, 4, 0);
      assert.deepEqual(
        taken.map((e) => [
          e.source,
          e.type,
          e.payload.byteLength,
          new DataView(e.payload.buffer, e.payload.byteOffset).getUint32(0, true),
        ]),
        [
          [0, 7, 4, 1000],
          [0, 7, 4, 1001],
        ],
      );
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(
        errors[0] ?? '',
        /kernel 0's step 1 sent 3 messages that cannot be read: message ring .* ends past the writer's cursor 144 \(never written\); the batch it names is refused/,
      );
    } finally {
      delivery.dispose();
      host.dispose();
      rmSync(folder, { recursive: true, force: true });
    }
  },
);
