// The engine's kernel tests, the same for every backend: each backend file supplies its kernels
// (WGSL for WebGPU, PTX for CUDA) that follow the same rules.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { DeviceInfo, KernelSource } from '../../server/src/backends/backend';
import type { BackendName } from '../../server/src/backends/backendReport';
import { GpuError } from '../../server/src/backends/gpuError';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../../server/src/hosts/deviceKernel';
import { pollUntil } from './poll';
import { distFile } from './repo';

export interface KernelCase {
  source: KernelSource;
  grid: [number, number, number];
  block?: [number, number, number];
}

export interface BackendKernels {
  backend: BackendName;
  /** state[i] = state[i] * 2 + step + i over AFFINE_WORDS words. */
  affine: KernelCase;
  /** Threads 0..4 send one message each to kernel 7, type 100 + step, payload their index. */
  sender: KernelCase;
  /** Never finishes. */
  endless: KernelCase;
  /** Does not compile. */
  broken: KernelSource;
  /** Faults on the device, if the backend can fault (CUDA); WebGPU clamps every access. */
  fault?: KernelCase;
  /**
   * True where an endless kernel holds the whole device until its process dies, so kernels of
   * other processes on the same device resume only after the watchdog's kill (seen with Vulkan
   * on an H100). Otherwise they must keep stepping while it hangs.
   */
  hungKernelBlocksDevice?: (device: DeviceInfo) => boolean;
}

export const AFFINE_WORDS = 1024;

function expectedAffine(n: number, steps: number): number[] {
  const values = new Array<number>(n).fill(0);
  for (let step = 0; step < steps; step++)
    for (let i = 0; i < n; i++) values[i] = ((values[i] ?? 0) * 2 + step + i) >>> 0;
  return values;
}

export function kernelEngineSuite(kernels: BackendKernels): void {
  const hosts: DeviceHost[] = [];
  const newHost = (stepTimeoutMs = 20_000): DeviceHost => {
    const host = new DeviceHost({ backend: kernels.backend, script: distFile('deviceHost.js'), stepTimeoutMs });
    hosts.push(host);
    return host;
  };
  after(() => {
    for (const host of hosts) host.dispose();
  });

  const place = (kernel: KernelCase, stateBytes: number, extra: Partial<KernelPlacement> = {}): KernelPlacement => ({
    index: 0,
    device: 0,
    stateBytes,
    grid: kernel.grid,
    ...(kernel.block ? { block: kernel.block } : {}),
    inboxCapacity: 4,
    outboxCapacity: 8,
    ...extra,
  });
  const create = (
    host: DeviceHost,
    kernel: KernelCase,
    stateBytes: number,
    extra: Partial<KernelPlacement> = {},
  ): Promise<DeviceKernel> => DeviceKernel.create(host, kernel.source, place(kernel, stateBytes, extra));

  describe(`${kernels.backend} kernels in a device host`, () => {
    test('finds the device with its limits', async () => {
      const [device] = await newHost().devices();
      assert.ok(device);
      assert.equal(device.backend, kernels.backend);
      assert.ok(device.limits.maxBindingBytes >= 128 * 1024 * 1024);
    });

    test('steps a kernel and its state matches, element by element', async () => {
      const kernel = await create(newHost(), kernels.affine, AFFINE_WORDS * 4);
      for (let s = 0; s < 3; s++) assert.equal((await kernel.step()).step, s);
      const batch = await kernel.run(2);
      assert.deepEqual(
        batch.map((r) => r.step),
        [3, 4],
      );
      const state = new Uint32Array((await kernel.readState()).buffer);
      const expected = expectedAffine(AFFINE_WORDS, 5);
      for (let i = 0; i < AFFINE_WORDS; i++) assert.equal(state[i], expected[i], `element ${i}`);
      assert.equal(kernel.stepCount, 5);
    });

    test('drains the outbox each step and counts what did not fit', async () => {
      const kernel = await create(newHost(), kernels.sender, 16, { outboxCapacity: 3 });
      for (let s = 0; s < 2; s++) {
        const result = await kernel.step();
        assert.equal(result.messages.length, 3);
        assert.equal(result.dropped, 2);
        for (const message of result.messages) {
          assert.equal(message.destination, 7);
          assert.equal(message.type, 100 + s);
          assert.equal(message.payload.byteLength, 4);
          assert.ok(new DataView(message.payload.buffer, message.payload.byteOffset, 4).getUint32(0, true) < 5);
        }
        // The payloads are views into one copy of the step's used slots.
        assert.ok(result.messages.every((m) => m.payload.buffer === result.messages[0]?.payload.buffer));
      }
    });

    test('a step loop stops at a step boundary; a swapped-in version keeps the state and step count', async () => {
      const kernel = await create(newHost(), kernels.affine, AFFINE_WORDS * 4, { outboxCapacity: 3 });
      await kernel.startLoop(0, () => {});
      await pollUntil('a few looped steps', () => (kernel.stepCount >= 3 ? true : undefined), { intervalMs: 10 });
      const s1 = await kernel.stopLoop();
      const expected = expectedAffine(AFFINE_WORDS, s1);
      const check = async (what: string): Promise<void> => {
        const state = new Uint32Array((await kernel.readState()).buffer);
        for (let i = 0; i < AFFINE_WORDS; i++)
          assert.equal(state[i], expected[i], `${what}: element ${i} after ${s1} steps`);
      };
      await check('after the first version');
      // The sender leaves the state alone and sends 5 messages a step (3 fit): proof that it runs.
      const old = kernel.swap(await kernel.compileVersion(kernels.sender.source), kernels.sender.source);
      await kernel.releaseHandle(old);
      const progress: { step: number; messages: number; dropped: number }[] = [];
      await kernel.startLoop(0, (event) => {
        if (event.kind === 'progress') progress.push(event);
      });
      await pollUntil('the new version to step', () => (kernel.stepCount >= s1 + 3 ? true : undefined), {
        intervalMs: 10,
      });
      const s2 = await kernel.stopLoop();
      assert.ok(progress.length > 0);
      // The swap keeps the placement, so the sender runs on the affine's grid: 5 sends per
      // workgroup of 8 (WGSL: only the first has ids below 5) or per block (CUDA: threadIdx < 5).
      const droppedPerStep = progress[0]!.dropped / (progress[0]!.step - s1);
      assert.ok(droppedPerStep >= 2 && Number.isInteger(droppedPerStep), `dropped per step: ${droppedPerStep}`);
      for (const event of progress) {
        assert.equal(event.messages, 3 * (event.step - s1), `messages at step ${event.step}`);
        assert.equal(event.dropped, droppedPerStep * (event.step - s1), `dropped at step ${event.step}`);
      }
      assert.ok(s2 > s1);
      await check('after the swapped-in version ran');
    });

    test('a hung step among loops of one host: the loop watchdog blames the hung kernel, not its neighbour', async () => {
      const host = newHost(1_500);
      const neighbour = await create(host, kernels.affine, AFFINE_WORDS * 4);
      const victim = await create(host, kernels.endless, 16, { index: 1 });
      const restarts: { reason: string; culprit?: string }[] = [];
      host.onRestart((event) => restarts.push(event));
      await neighbour.startLoop(0, () => {});
      await pollUntil('the neighbour to step', () => (neighbour.stepCount >= 3 ? true : undefined), { intervalMs: 10 });
      await victim.startLoop(0, () => {});
      const restart = await pollUntil('the loop watchdog', () => restarts[0], { timeoutMs: 15_000 });
      assert.equal(restart.culprit, 'endless');
      assert.match(restart.reason, /kernel "endless" did not finish a step within \d+ ms/);
      assert.equal(neighbour.alive, false, 'one host: the neighbour went with it');
    });

    if (kernels.fault) {
      const fault = kernels.fault;
      test('a loop whose step faults reports loopFailed, then the host restarts', async () => {
        const host = newHost();
        const kernel = await create(host, fault, 16);
        const failures: GpuError[] = [];
        const restarted = new Promise<{ culprit?: string }>((resolve) => host.onRestart(resolve));
        await kernel.startLoop(0, (event) => {
          if (event.kind === 'failed') failures.push(event.error);
        });
        const failure = await pollUntil('loopFailed', () => failures[0]);
        assert.equal(failure.code, 'KERNEL_FAULT');
        assert.match(failure.message, /kernel "fault"/);
        await restarted;
        assert.equal(kernel.alive, false);
        assert.ok((await host.devices()).length >= 1);
      });
    }

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
      assert.deepEqual([...(await host.read(a, 4096, 16)).data], [...pattern.subarray(4096, 4112)]);
    });

    test('a kernel that does not compile is refused with the compiler log, naming the kernel', async () => {
      await assert.rejects(
        DeviceKernel.create(newHost(), kernels.broken, place(kernels.affine, 16)),
        (error: GpuError) =>
          error.code === 'COMPILE_FAILED' && /kernel "broken"/.test(error.message) && /error/.test(error.log ?? ''),
      );
    });

    test('a missing entry point is refused, naming it', async () => {
      await assert.rejects(
        DeviceKernel.create(newHost(), { ...kernels.affine.source, entryPoint: 'nope' }, place(kernels.affine, 16)),
        (error: GpuError) =>
          ['ENTRY_POINT_MISSING', 'COMPILE_FAILED'].includes(error.code) && /"nope"/.test(error.message),
      );
    });

    test('a buffer larger than the device allows is refused with the limit, and the host stays up', async () => {
      const host = newHost();
      const [device] = await host.devices();
      const tooMany = (device!.memoryTotalBytes ?? device!.limits.maxBindingBytes) + 4096;
      await assert.rejects(
        host.allocate(0, Math.max(tooMany, device!.limits.maxBindingBytes + 4), 'huge'),
        (error: GpuError) => error.code === 'BUFFER_TOO_LARGE' && /"huge"/.test(error.message),
      );
      assert.equal((await host.devices()).length >= 1, true);
    });

    test('a launch with wrong sizes is refused, naming the kernel', async () => {
      const kernel = await create(newHost(), { ...kernels.affine, grid: [0, 1, 1] }, 64);
      await assert.rejects(
        kernel.step(),
        (error: GpuError) => error.code === 'INVALID_LAUNCH' && /kernel "affine"/.test(error.message),
      );
    });

    if (kernels.fault) {
      const fault = kernels.fault;
      test('a kernel that faults fails its step clearly; the host restarts and other kernels are not disturbed', async () => {
        const host = newHost();
        const other = newHost();
        const worker = await create(other, kernels.affine, AFFINE_WORDS * 4);
        const bad = await create(host, fault, 16, { index: 0 });
        await assert.rejects(
          bad.step(),
          (error: GpuError) => error.code === 'KERNEL_FAULT' && /kernel "fault"/.test(error.message),
        );
        assert.equal((await worker.step()).step, 0);
        await pollUntil('the faulted host to come back', async () =>
          (await host.devices()).length > 0 ? true : undefined,
        );
      });
    }

    test('an endless kernel is killed by the watchdog in time while other kernels keep stepping', async () => {
      const hung = newHost(1_500);
      const healthy = newHost();
      const victim = await create(hung, kernels.endless, 16);
      const worker = await create(healthy, kernels.affine, AFFINE_WORDS * 4);
      const oldPid = hung.pid;
      let restarted = false;
      hung.onRestart(() => {
        restarted = true;
      });
      const started = Date.now();
      const hang = victim.step().then(
        () => assert.fail('the endless step returned'),
        (error: GpuError) => error,
      );
      let stepsMeanwhile = 0;
      let watching = true;
      const meanwhile = (async () => {
        while (watching && stepsMeanwhile < 5000) {
          await worker.step();
          stepsMeanwhile++;
        }
      })();
      const outcome = await Promise.race([hang, meanwhile.then(() => undefined)]);
      watching = false;
      await meanwhile;
      assert.ok(outcome instanceof GpuError, 'the watchdog fired before the healthy kernel made 5000 steps');
      assert.equal(outcome.code, 'WATCHDOG_TIMEOUT');
      assert.match(outcome.message, /kernel "endless" did not finish within 1500 ms/);
      assert.ok(Date.now() - started < 1_500 + 3_000, `the watchdog took ${Date.now() - started} ms`);
      const [device] = await healthy.devices();
      assert.ok(device);
      if (kernels.hungKernelBlocksDevice?.(device)) {
        const before = worker.stepCount;
        await worker.step();
        assert.equal(worker.stepCount, before + 1, 'the healthy kernel steps again once the hung one is killed');
      } else {
        assert.ok(stepsMeanwhile > 0, 'the healthy kernel made no progress while the other hung');
      }
      assert.ok(restarted);
      assert.notEqual(
        await pollUntil('a new host process', () => (hung.pid !== oldPid ? hung.pid : undefined)),
        oldPid,
      );
      assert.ok((await hung.devices()).length >= 1, 'the restarted host answers');
    });

    test('a host killed mid-step fails that step clearly, restarts, and leaves other hosts alone', async () => {
      const doomed = newHost();
      const other = newHost();
      const victim = await create(doomed, kernels.endless, 16);
      const worker = await create(other, kernels.affine, AFFINE_WORDS * 4);
      const pending = victim.step();
      process.kill(doomed.pid!, 'SIGKILL');
      await assert.rejects(
        pending,
        (error: GpuError) => error.code === 'HOST_EXITED' && /exited unexpectedly \(SIGKILL\)/.test(error.message),
      );
      assert.equal((await worker.step()).step, 0);
      assert.ok((await doomed.devices()).length >= 1);
    });
  });
}
