// The webviews' server side over a real LSP connection in this process: router stats answered and
// pushed at most 4 times a second only while the client listens; state frames of exactly the
// subscribed regions, base64 on the wire, stopped by unsubscribing; refusals that say why.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import {
  StreamMessageReader,
  StreamMessageWriter,
  createConnection,
  createProtocolConnection,
  type Connection,
  type ProtocolConnection,
} from 'vscode-languageserver/node';
import {
  routerStatsChangedNotification,
  routerStatsRequest,
  routerStatsSubscribeNotification,
  stateFrameNotification,
  stateViewFrameRequest,
  stateViewKernelRequest,
  stateViewSubscribeNotification,
  stateViewUnsubscribeNotification,
  type KernelView,
  type RouterStats,
  type StateFrame,
} from '../../server/src/lsp/protocol';
import { RouterStatsWiring, emptyRouterStats, type RouterStatsSource } from '../../server/src/lsp/routerStatsWiring';
import { StateViewWiring, stateViewKernelOf } from '../../server/src/lsp/stateViewWiring';
import type { ByteRange } from '../../server/src/views/byteRanges';
import { VirtualClock, settle } from '../support/virtualClock';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

async function connect(wire: (server: Connection) => void): Promise<{ client: ProtocolConnection; close: () => void }> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  const client = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  wire(server);
  server.onInitialize(() => ({ capabilities: {} }));
  server.listen();
  client.listen();
  await client.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {} });
  return {
    client,
    close: () => {
      client.dispose();
      server.dispose();
    },
  };
}

/** A router whose figures the test changes. */
class FakeRouter implements RouterStatsSource {
  delivered = 0;
  private listener: (() => void) | undefined;
  snapshot(): RouterStats {
    const { note: _none, ...empty } = emptyRouterStats('');
    return { ...empty, running: true, totals: { ...empty.totals, delivered: this.delivered, sent: this.delivered } };
  }
  onDidChange(listener: () => void): { dispose(): void } {
    this.listener = listener;
    return {
      dispose: () => {
        this.listener = undefined;
      },
    };
  }
  deliver(): void {
    this.delivered++;
    this.listener?.();
  }
}

test('router stats: "no router" until one is attached; pushed only while listening, at most 4 a second, latest figures', async () => {
  const clock = new VirtualClock();
  const router = new FakeRouter();
  let wiring: RouterStatsWiring | undefined;
  const { client, close } = await connect((server) => {
    wiring = new RouterStatsWiring(server, quiet, undefined, clock);
  });
  const pushed: RouterStats[] = [];
  client.onNotification(routerStatsChangedNotification, (stats) => pushed.push(stats));
  try {
    const none = await client.sendRequest(routerStatsRequest);
    assert.equal(none.running, false);
    assert.match(none.note ?? '', /no kernel-to-kernel router runs/);
    wiring?.setSource(router);
    for (let i = 0; i < 50; i++) {
      router.deliver();
      await clock.advance(20);
    }
    assert.ok(pushed.length === 0, 'nothing while nobody listens');

    await client.sendNotification(routerStatsSubscribeNotification, { listening: true });
    await settle();
    await clock.advance(0);
    assert.equal(pushed.length, 1, 'a new listener gets the figures at once');
    assert.equal(pushed[0]?.totals.delivered, 50);
    // 2 seconds of a change every 10 ms.
    for (let i = 0; i < 200; i++) {
      router.deliver();
      await clock.advance(10);
    }
    await clock.advance(250);
    // (A function: the asserts above narrowed pushed.length to a literal.)
    const pushes = (): number => pushed.length;
    assert.ok(pushes() >= 8 && pushes() <= 10, `${pushes()} pushes in about 2.25 s`);
    assert.equal(pushed.at(-1)?.totals.delivered, 250, 'the last push has the latest figures');

    await client.sendNotification(routerStatsSubscribeNotification, { listening: false });
    await settle();
    const count = pushed.length;
    for (let i = 0; i < 50; i++) {
      router.deliver();
      await clock.advance(20);
    }
    assert.equal(pushed.length, count, 'none after the panel went away');
    assert.equal((await client.sendRequest(routerStatsRequest)).totals.delivered, 300, 'asking still answers');
  } finally {
    wiring?.dispose();
    close();
  }
});

const HEAT: KernelView = {
  id: 'heat',
  source: '/ws/heat.wgsl',
  language: 'wgsl',
  entryPoint: 'step',
  state: 'running',
  version: 2,
  step: 40,
  stepsPerSecond: 30,
  rateHz: 30,
  stateBytes: 64,
};

test('state views: describe, frames of exactly the subscribed regions in base64, none after unsubscribing, refusals as error frames', async () => {
  const clock = new VirtualClock();
  const reads: ByteRange[][] = [];
  let step = 40;
  const state = Uint32Array.from({ length: 16 }, (_, i) => i * 11);
  let wiring: StateViewWiring | undefined;
  const { client, close } = await connect((server) => {
    wiring = new StateViewWiring(server, quiet, {
      reader: (_id, ranges) => {
        reads.push([...ranges]);
        const bytes = new Uint8Array(state.buffer);
        return Promise.resolve({
          step,
          version: 2,
          bytes: ranges.map((r) => bytes.slice(r.offset, r.offset + r.length)),
        });
      },
      kernel: (id) => stateViewKernelOf([HEAT], id),
      scheduler: clock,
    });
  });
  const frames: StateFrame[] = [];
  client.onNotification(stateFrameNotification, (frame) => frames.push(frame));
  const u32 = (base64: string | undefined): number[] => {
    const bytes = Buffer.from(base64 ?? '', 'base64');
    return [...new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))];
  };
  try {
    assert.deepEqual(await client.sendRequest(stateViewKernelRequest, { kernelId: 'heat' }), {
      kernelId: 'heat',
      stateBytes: 64,
      views: [],
      state: 'running',
      version: 2,
      step: 40,
    });
    await assert.rejects(
      client.sendRequest(stateViewKernelRequest, { kernelId: 'nope' }),
      /there is no kernel "nope" in ringkernel.json/,
    );

    await client.sendNotification(stateViewSubscribeNotification, {
      subscription: 'p1',
      kernelId: 'heat',
      regions: [
        { offset: 8, length: 8 },
        { offset: 56, length: 8 },
      ],
      fps: 10,
    });
    await settle();
    await clock.advance(0);
    await settle();
    assert.equal(frames.length, 1);
    assert.deepEqual(
      frames[0]?.regions.map((r) => [r.offset, u32(r.base64)]),
      [
        [8, [22, 33]],
        [56, [154, 165]],
      ],
    );
    assert.deepEqual(
      reads[0],
      [
        { offset: 8, length: 8 },
        { offset: 56, length: 8 },
      ],
      'only the subscribed bytes were read',
    );
    for (let i = 0; i < 10; i++) {
      step++;
      await clock.advance(100);
    }
    await settle();
    assert.ok(frames.length >= 10, `${frames.length} frames in a second at 10 fps`);
    assert.equal(frames.at(-1)?.step, step);

    await client.sendNotification(stateViewUnsubscribeNotification, { subscription: 'p1' });
    await settle();
    const readCount = reads.length;
    await clock.advance(5000);
    assert.equal(reads.length, readCount, 'nothing is read once the panel unsubscribed');
    assert.deepEqual(wiring?.subscriptions(), []);

    const one = await client.sendRequest(stateViewFrameRequest, {
      kernelId: 'heat',
      regions: [{ offset: 0, length: 4 }],
    });
    assert.deepEqual([one.step, u32(one.regions[0]?.base64)], [step, [0]]);
    await assert.rejects(
      client.sendRequest(stateViewFrameRequest, { kernelId: 'heat', regions: [{ offset: 60, length: 8 }] }),
      /ends at 68, past the state's 64 bytes/,
    );

    frames.length = 0;
    await client.sendNotification(stateViewSubscribeNotification, {
      subscription: 'p2',
      kernelId: 'heat',
      regions: [{ offset: 0, length: 32 * 1024 * 1024 }],
      fps: 10,
    });
    await client.sendNotification(stateViewSubscribeNotification, {
      subscription: 'p3',
      kernelId: 'gone',
      regions: [{ offset: 0, length: 4 }],
      fps: 10,
    });
    await client.sendNotification(stateViewSubscribeNotification, {
      subscription: 'p4',
      kernelId: 'heat',
      regions: [{ offset: 0, length: 4 }],
      fps: -1,
    });
    await settle();
    assert.deepEqual(
      frames.map((f) => [f.subscription, f.error]),
      [
        ['p2', 'kernel "heat": the range at 0 of 33554432 bytes ends at 33554432, past the state\'s 64 bytes'],
        ['p3', 'there is no kernel "gone" in ringkernel.json; pick one the manifest declares'],
        ['p4', 'frames per second must be a positive number, not -1'],
      ],
    );
    assert.deepEqual(wiring?.subscriptions(), []);
  } finally {
    wiring?.dispose();
    close();
  }
});
