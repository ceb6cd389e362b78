// Real WGSL kernels dispatched through device hosts on this machine's Vulkan device (Mesa's
// lavapipe on machines without a GPU; the GPU with RINGKERNEL_TEST_GPU=1).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { GpuError } from '../../server/src/backends/gpuError';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { HostedKernel, type KernelPlacement } from '../../server/src/kernel/hostedKernel';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

const ABI = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
struct Slot { destination: u32, kind: u32, length: u32, reserved: u32, payload: array<u32, 12> }
struct Outbox { count: atomic<u32>, pad0: u32, pad1: u32, pad2: u32, slots: array<Slot> }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(2) var<storage, read> inbox: array<u32>;
@group(0) @binding(3) var<storage, read_write> outbox: Outbox;
`;

/** state[i] = state[i] * 2 + step + i, so after n steps every element has a known value. */
const AFFINE = `${ABI}
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= arrayLength(&state)) { return; }
  state[i] = state[i] * 2u + control.step + i;
}`;

/** Every invocation below 5 sends a message to kernel 7 with its index as payload. */
const SENDER = `${ABI}
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= 5u) { return; }
  let slot = atomicAdd(&outbox.count, 1u);
  if (slot >= control.outbox_capacity) { return; }
  outbox.slots[slot].destination = 7u;
  outbox.slots[slot].kind = 100u + control.step;
  outbox.slots[slot].length = 4u;
  outbox.slots[slot].payload[0] = id.x;
}`;

/** Never finishes: the loop bound is a value the kernel itself keeps out of reach. */
const ENDLESS = `${ABI}
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn main() {
  var i = 0u;
  loop {
    if (state[0] == 0xFFFFFFFFu) { break; }
    i = i + 1u;
    state[1] = i;
  }
}`;

function expectedAffine(n: number, steps: number): number[] {
  const values = new Array<number>(n).fill(0);
  for (let step = 0; step < steps; step++) for (let i = 0; i < n; i++) values[i] = ((values[i] ?? 0) * 2 + step + i) >>> 0;
  return values;
}

const hosts: DeviceHost[] = [];
function newHost(stepTimeoutMs = 20_000): DeviceHost {
  const host = new DeviceHost({ backend: 'webgpu', script: distFile('deviceHost.js'), stepTimeoutMs });
  hosts.push(host);
  return host;
}
after(() => { for (const host of hosts) host.dispose(); });

const place = (stateBytes: number, grid: number, extra: Partial<KernelPlacement> = {}): KernelPlacement =>
  ({ index: 0, device: 0, stateBytes, grid: [grid, 1, 1], inboxCapacity: 4, outboxCapacity: 8, ...extra });

describe('WebGPU kernels in a device host', () => {
  test('finds the Vulkan device with its limits', async () => {
    const [device] = await newHost().devices();
    assert.ok(device);
    assert.equal(device.backend, 'webgpu');
    assert.ok(device.limits.maxBindingBytes >= 128 * 1024 * 1024);
  });

  test('steps a kernel and its state matches, element by element', async () => {
    const host = newHost();
    const n = 1000;
    const kernel = await HostedKernel.create(host, { language: 'wgsl', label: 'affine', code: AFFINE, entryPoint: 'main' }, place(n * 4, Math.ceil(n / 64)));
    for (let s = 0; s < 5; s++) assert.equal((await kernel.step()).step, s);
    const state = new Uint32Array((await kernel.readState()).buffer);
    const expected = expectedAffine(n, 5);
    for (let i = 0; i < n; i++) assert.equal(state[i], expected[i], `element ${i}`);
    assert.equal(kernel.stepCount, 5);
  });

  test('drains the outbox each step and counts what did not fit', async () => {
    const host = newHost();
    const kernel = await HostedKernel.create(host, { language: 'wgsl', label: 'sender', code: SENDER, entryPoint: 'main' }, place(16, 1, { outboxCapacity: 3 }));
    for (let s = 0; s < 2; s++) {
      const result = await kernel.step();
      assert.equal(result.messages.length, 3);
      assert.equal(result.dropped, 2);
      for (const message of result.messages) {
        assert.equal(message.destination, 7);
        assert.equal(message.type, 100 + s);
        assert.equal(message.payload.byteLength, 4);
        assert.ok(new Uint32Array(message.payload.buffer)[0]! < 5);
      }
    }
  });

  test('moves large buffers to the device and back bit for bit, and copies on the device', async () => {
    const host = newHost();
    const bytes = 8 * 1024 * 1024;
    const pattern = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) pattern[i] = (i * 2654435761) >>> 24;
    const a = await host.allocate(0, bytes, 'a');
    const b = await host.allocate(0, bytes, 'b');
    await host.write(a, 0, pattern);
    await host.copy(a, b, bytes);
    const back = (await host.read(b, 0, bytes)).data;
    assert.equal(back.byteLength, bytes);
    assert.ok(Buffer.from(back).equals(Buffer.from(pattern)), 'the bytes that came back differ');
    const small = (await host.read(a, 4096, 16)).data;
    assert.deepEqual([...small], [...pattern.subarray(4096, 4112)]);
  });

  test('a kernel that does not compile is refused with the compiler log, naming the kernel', async () => {
    const host = newHost();
    await assert.rejects(
      HostedKernel.create(host, { language: 'wgsl', label: 'broken', code: `${ABI}\nfn main( {`, entryPoint: 'main' }, place(16, 1)),
      (error: GpuError) => error.code === 'COMPILE_FAILED' && /kernel "broken"/.test(error.message) && /broken:\d+:\d+: error/.test(error.log ?? ''),
    );
  });

  test('a missing entry point is refused, naming it', async () => {
    await assert.rejects(
      HostedKernel.create(newHost(), { language: 'wgsl', label: 'affine', code: AFFINE, entryPoint: 'nope' }, place(16, 1)),
      (error: GpuError) => ['ENTRY_POINT_MISSING', 'COMPILE_FAILED'].includes(error.code) && /"nope"/.test(error.message),
    );
  });

  test('a buffer larger than the device allows is refused with the limit, and the host stays up', async () => {
    const host = newHost();
    const [device] = await host.devices();
    await assert.rejects(host.allocate(0, device!.limits.maxBindingBytes + 4, 'huge'),
      (error: GpuError) => error.code === 'BUFFER_TOO_LARGE' && /"huge"/.test(error.message));
    assert.equal((await host.devices()).length, 1);
  });

  test('a launch with wrong sizes is refused, naming the kernel', async () => {
    const host = newHost();
    const kernel = await HostedKernel.create(host, { language: 'wgsl', label: 'affine', code: AFFINE, entryPoint: 'main' }, place(64, 0));
    await assert.rejects(kernel.step(), (error: GpuError) => error.code === 'INVALID_LAUNCH' && /kernel "affine"/.test(error.message));
  });

  test('an endless kernel is killed by the watchdog in time while other kernels keep stepping', async () => {
    const hung = newHost(1_500);
    const healthy = newHost();
    const victim = await HostedKernel.create(hung, { language: 'wgsl', label: 'endless', code: ENDLESS, entryPoint: 'main' }, place(16, 1));
    const worker = await HostedKernel.create(healthy, { language: 'wgsl', label: 'affine', code: AFFINE, entryPoint: 'main' }, place(256, 1));
    const oldPid = hung.pid;
    let restarted = false;
    hung.onRestart(() => { restarted = true; });
    const started = Date.now();
    const hang = victim.step().then(() => assert.fail('the endless step returned'), (error: GpuError) => error);
    // While it hangs, the other host keeps stepping and this process keeps its event loop.
    let stepsMeanwhile = 0;
    const outcome = await Promise.race([hang, (async () => {
      for (;;) { await worker.step(); stepsMeanwhile++; if (stepsMeanwhile > 1000) return undefined; }
    })()]);
    assert.ok(outcome instanceof GpuError, 'the watchdog fired before the healthy kernel made 1000 steps');
    assert.equal(outcome.code, 'WATCHDOG_TIMEOUT');
    assert.match(outcome.message, /kernel "endless" did not finish within 1500 ms/);
    assert.ok(Date.now() - started < 1_500 + 3_000, `the watchdog took ${Date.now() - started} ms`);
    assert.ok(stepsMeanwhile > 0, 'the healthy kernel made no progress while the other hung');
    assert.ok(restarted);
    const newPid = await pollUntil('a new host process', () => (hung.pid !== oldPid ? hung.pid : undefined));
    assert.notEqual(newPid, oldPid);
    assert.equal((await hung.devices()).length, 1, 'the restarted host answers');
  });

  test('a host killed mid-step fails that step clearly, restarts, and leaves other hosts alone', async () => {
    const doomed = newHost();
    const other = newHost();
    const victim = await HostedKernel.create(doomed, { language: 'wgsl', label: 'endless', code: ENDLESS, entryPoint: 'main' }, place(16, 1));
    const worker = await HostedKernel.create(other, { language: 'wgsl', label: 'affine', code: AFFINE, entryPoint: 'main' }, place(256, 1));
    const pending = victim.step();
    process.kill(doomed.pid!, 'SIGKILL');
    await assert.rejects(pending, (error: GpuError) => error.code === 'HOST_EXITED' && /exited unexpectedly \(SIGKILL\)/.test(error.message));
    assert.equal((await worker.step()).step, 0);
    assert.equal((await doomed.devices()).length, 1);
  });
});
