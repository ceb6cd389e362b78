// Fuzzing the device-host protocol against a real device host child (dist/deviceHost.js webgpu, on
// this machine's Vulkan device; lavapipe without a GPU): requests for every operation, and for
// names that are not operations, with arguments from real handles, damaged handles and values of
// every type, including shared-memory region references that name files outside the bulk folder. Each
// request must settle (answered, or failed by the supervisor's restart) within bounded time, no
// file outside the bulk folder is read, written or removed, and the host answers `devices` after each input.
// Then raw messages that are not requests at all, sent to a child directly: it must stay up.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { BufferHandle, CompiledKernelHandle } from '../../server/src/backends/backend';
import { GpuError } from '../../server/src/backends/gpuError';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import type { HostMessage, HostOperation } from '../../server/src/hosts/hostProtocol';
import { distFile } from '../support/repo';
import { WGSL_ABI } from '../support/kernelSources';
import { fuzz, within } from './fuzzRun';

const outside = mkdtempSync(join(tmpdir(), 'ringkernel-fuzz-host-'));
const canary = join(outside, 'canary.bin');
writeFileSync(canary, Buffer.alloc(64, 7));
after(() => rmSync(outside, { recursive: true, force: true }));

const KERNEL = {
  language: 'wgsl' as const,
  label: 'fuzz',
  entryPoint: 'main',
  code: `${WGSL_ABI}\n@compute @workgroup_size(1) fn main() { state[0] = state[0] + 1u; }`,
};
/** Operations of the host protocol: each may be answered ok. */
const OPERATIONS: readonly string[] = [
  'devices',
  'compile',
  'releaseKernel',
  'allocate',
  'free',
  'write',
  'read',
  'readSoon',
  'copy',
  'steps',
  'compileLogs',
  'startLoop',
  'stopLoop',
  'readRanges',
  'exportState',
  'importState',
];
/** Names that are not operations (Object's own among them): never answered ok. */
const NOT_OPERATIONS: readonly string[] = [
  'constructor',
  'toString',
  'hasOwnProperty',
  '__proto__',
  'valueOf',
  'nope',
  '',
];
const OPS: string[] = [...OPERATIONS, ...NOT_OPERATIONS];

interface Handles {
  buffers: BufferHandle[];
  kernel: CompiledKernelHandle;
}

function argsArbitrary(handles: Handles): fc.Arbitrary<Record<string, unknown>> {
  const [control, state, inbox, outbox] = handles.buffers as [BufferHandle, BufferHandle, BufferHandle, BufferHandle];
  const number = fc.oneof(
    fc.constantFrom(
      -1,
      0,
      1,
      2,
      3,
      4,
      16,
      64,
      1.5,
      Number.NaN,
      Infinity,
      -Infinity,
      2 ** 33,
      2 ** 40,
      2 ** 53,
      '16',
      null,
    ),
    fc.integer({ min: -10, max: 300 }),
  );
  const buffer = fc.oneof(
    fc.constantFrom(...handles.buffers),
    fc.record({ id: number, device: number, bytes: number }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 1 }),
  );
  const kernel = fc.oneof(
    fc.constant(handles.kernel),
    fc.record({ id: number, device: number, label: fc.string(), entryPoint: fc.string() }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 1 }),
  );
  const region = fc.oneof(
    fc.constantFrom(
      { region: canary, capacity: 64, bytes: 64 },
      { region: '/etc/hostname', capacity: 1, bytes: 1 },
      { region: join('/dev/shm', '..', 'tmp', 'x'), capacity: 4, bytes: 4 },
      { region: '/dev/shm/ringkernel-bulk-1-missing', capacity: 16, bytes: 16 },
      { region: '/dev/shm/ringkernel-bulk-1-missing', capacity: 2 ** 40, bytes: 2 ** 40 },
      { region: '/dev/shm/ringkernel-bulk-1-missing', capacity: 16, bytes: 32 },
      { region: 5, capacity: 1, bytes: 1 },
      { bulkFile: canary, bytes: 64 },
    ),
    fc.jsonValue({ maxDepth: 1 }),
  );
  const payload = fc.oneof(fc.uint8Array({ maxLength: 80 }), region);
  const launch = fc.record(
    {
      kernel,
      control: fc.oneof(fc.constant(control), buffer),
      state: fc.oneof(fc.constant(state), buffer),
      inbox: fc.oneof(fc.constant(inbox), buffer),
      outbox: fc.oneof(fc.constant(outbox), buffer),
      grid: fc.oneof(fc.constant([1, 1, 1]), fc.array(number, { maxLength: 4 })),
    },
    { requiredKeys: [] },
  );
  const controlBlock = fc.record(
    { step: number, kernelIndex: number, inboxCount: number, outboxCapacity: number },
    { requiredKeys: [] },
  );
  return fc
    .record(
      {
        device: fc.oneof(fc.constant(0), number),
        source: fc.oneof(
          fc.constant(KERNEL),
          fc.record(
            {
              language: fc.constantFrom('wgsl', 'ptx', 'msl', 5),
              label: fc.string(),
              code: fc.oneof(fc.string({ maxLength: 200 }), fc.constant(KERNEL.code)),
              entryPoint: fc.constantFrom('main', 'nope', ''),
            },
            { requiredKeys: [] },
          ),
        ),
        kernel,
        buffer,
        source_: buffer,
        destination: buffer,
        bytes: number,
        offset: number,
        label: fc.string({ maxLength: 20 }),
        data: payload,
        region,
        into: region,
        verify: fc.boolean(),
        launch,
        control: controlBlock,
        count: fc.constantFrom(-1, 0, 1, 2, 3, 1.5, Number.NaN, 'x'),
        loop: fc.constantFrom(1, 2, -1, 1.5, 'x'),
        rateHz: fc.constantFrom(-1, 0.5, 10, Number.NaN, 'x'),
        code: fc.oneof(fc.string({ maxLength: 200 }), fc.constant(KERNEL.code)),
      },
      { requiredKeys: [] },
    )
    .map(({ source_, ...rest }) => (source_ === undefined ? rest : { ...rest, source: rest.source ?? source_ }));
}

describe('fuzz: device-host protocol (webgpu)', () => {
  test(
    'every request settles in bounded time, nothing outside the bulk folder is touched, and the host answers after each input',
    { timeout: 600_000 },
    async (t) => {
      const host = new DeviceHost({
        backend: 'webgpu',
        script: distFile('deviceHost.js'),
        requestTimeoutMs: 20_000,
        stepTimeoutMs: 5_000,
      });
      let restarts = 0;
      host.onRestart(() => {
        restarts++;
      });
      try {
        const devices = await host.devices();
        if (devices.length === 0) {
          t.skip('no WebGPU device on this machine (Dawn over Vulkan needs a driver; see docs)');
          return;
        }
        const setup = async (): Promise<Handles> => ({
          buffers: await Promise.all([16, 16, 64, 16 + 64 * 4].map((bytes, i) => host.allocate(0, bytes, `fuzz ${i}`))),
          kernel: await host.compile(0, KERNEL),
        });
        let handles = await setup();
        let generation = host.generation;
        const outcomes = new Map<string, number>();
        // The handles are made once per host process; a restart makes new ones for the inputs after it.
        const input = fc.array(fc.tuple(fc.constantFrom(...OPS), fc.nat()), { minLength: 1, maxLength: 3 });
        await fuzz(
          t,
          'device-host protocol',
          input,
          async (requests) => {
            if (host.generation !== generation) {
              handles = await setup();
              generation = host.generation;
            }
            const args = fc.sample(argsArbitrary(handles), { numRuns: 1, seed: requests[0]?.[1] ?? 0 })[0] ?? {};
            for (const [op] of requests) {
              const settled = await within(
                30_000,
                `${op} ${fc.stringify(args).slice(0, 300)}`,
                host.call(op as HostOperation, args as never).then(
                  () => 'ok',
                  (error: unknown) => {
                    assert.ok(error instanceof GpuError, `not a GpuError: ${String(error)}`);
                    assert.ok(error.message.trim() !== '');
                    return error.code;
                  },
                ),
              );
              outcomes.set(`${op}: ${settled}`, (outcomes.get(`${op}: ${settled}`) ?? 0) + 1);
              if (!OPERATIONS.includes(op)) {
                assert.notEqual(settled, 'ok', `"${op}" is not an operation but was answered ok`);
              }
            }
            // Loops an input started are stopped, so the next input finds an idle host.
            for (const loop of [1, 2]) await host.call('stopLoop', { loop }).catch(() => undefined);
            assert.ok(existsSync(canary), `${canary} was removed by a request naming it`);
            assert.deepEqual(readFileSync(canary), Buffer.alloc(64, 7), `${canary} was written by a request naming it`);
            assert.ok((await within(30_000, 'devices after the input', host.devices())).length > 0);
          },
          { perInputMs: 120_000 },
        );
        t.diagnostic(
          `host restarts: ${restarts}; outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`,
        );
      } finally {
        host.dispose();
      }
    },
  );

  test(
    'messages that are not requests never take the host down, and it answers the next request',
    { timeout: 120_000 },
    async (t) => {
      const child = fork(distFile('deviceHost.js'), ['webgpu'], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
        execArgv: [],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const replies: HostMessage[] = [];
      child.on('message', (m: HostMessage) => replies.push(m));
      let next = 1;
      const ask = async (what: string): Promise<void> => {
        const id = next++;
        child.send({ kind: 'request', id, op: 'devices', args: {} });
        await within(
          60_000,
          `the answer to devices (${what}); stderr: ${stderr}`,
          new Promise<void>((resolve, reject) => {
            const look = setInterval(() => {
              if (replies.some((r) => r.kind === 'response' && r.id === id)) {
                clearInterval(look);
                resolve();
              }
              if (child.exitCode !== null || child.signalCode !== null) {
                clearInterval(look);
                reject(new Error(`the host exited (${child.exitCode ?? child.signalCode}) after ${what}: ${stderr}`));
              }
            }, 10);
          }),
        );
      };
      try {
        await ask('start');
        const garbage = fc.oneof(
          fc.constantFrom(
            null,
            0,
            'request',
            [],
            true,
            { kind: 'request' },
            { kind: 'request', id: 'x', op: 'devices' },
            { kind: 'request', id: 1.5, op: 'devices' },
            { kind: 'response', id: 1 },
          ),
          fc.anything({ maxDepth: 2 }),
          fc.record(
            {
              kind: fc.constant('request'),
              id: fc.anything({ maxDepth: 0 }),
              op: fc.anything({ maxDepth: 0 }),
              args: fc.anything({ maxDepth: 1 }),
            },
            { requiredKeys: ['kind'] },
          ),
        );
        await fuzz(
          t,
          'device-host raw messages',
          garbage,
          async (message) => {
            // Serialisable by 'advanced' (structured clone) or skipped: the channel itself refuses the rest.
            if (message === undefined) return;
            try {
              structuredClone(message);
            } catch {
              return;
            }
            child.send(message as never);
            await ask(fc.stringify(message).slice(0, 200));
          },
          { perInputMs: 60_000, share: 0.5 },
        );
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});
