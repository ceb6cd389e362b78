// Continuous step loops inside device hosts (server/src/hosts/child/stepLoop.ts), with real WGSL kernels
// on this machine's Vulkan device (lavapipe without a GPU): rates, requests between slices, stop
// and swap at a step boundary, the loop watchdog, failed steps, several loops in one host.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { KernelSource } from '../../server/src/backends/backend';
import { GpuError } from '../../server/src/backends/gpuError';
import { DeviceHost, type LoopEvent } from '../../server/src/hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../../server/src/hosts/deviceKernel';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';
import { WGSL_ABI, endlessWgsl } from '../support/kernelSources';

const wgsl = (label: string, body: string): KernelSource => ({
  language: 'wgsl',
  label,
  code: `${WGSL_ABI}\n${body}`,
  entryPoint: 'main',
});

/** state[0] += `by` each step; state[1] = the step number the host wrote into control. */
const counter = (label: string, by: number): KernelSource =>
  wgsl(
    label,
    `
@compute @workgroup_size(1)
fn main() {
  state[0] = state[0] + ${by}u;
  state[1] = control.step;
}`,
  );

const endless = wgsl('endless', endlessWgsl('main'));

const placement = (extra: Partial<KernelPlacement> = {}): KernelPlacement => ({
  index: 0,
  device: 0,
  stateBytes: 16,
  grid: [1, 1, 1],
  inboxCapacity: 1,
  outboxCapacity: 4,
  ...extra,
});

const words = async (kernel: DeviceKernel): Promise<Uint32Array> => {
  const bytes = await kernel.readState();
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

/** Records a loop's events, for polling. */
class Events {
  readonly all: { at: number; event: LoopEvent }[] = [];
  readonly listener = (event: LoopEvent): void => {
    this.all.push({ at: performance.now(), event });
  };
  get progress(): Extract<LoopEvent, { kind: 'progress' }>[] {
    return this.all.flatMap(({ event }) => (event.kind === 'progress' ? [event] : []));
  }
  get failed(): Extract<LoopEvent, { kind: 'failed' }> | undefined {
    return this.all.flatMap(({ event }) => (event.kind === 'failed' ? [event] : []))[0];
  }
}

/** Waits until a looping kernel's step count (from its progress events) reaches `step`. */
const reaches = (kernel: DeviceKernel, step: number): Promise<number> =>
  pollUntil(
    `kernel "${kernel.source.label}" to reach step ${step}`,
    () => (kernel.stepCount >= step ? kernel.stepCount : undefined),
    { intervalMs: 10 },
  );

/** Waits `ms` by polling the clock (the tests measure rates over at least this long). */
const elapse = (ms: number): Promise<boolean> => {
  const until = performance.now() + ms;
  return pollUntil(`${ms} ms to pass`, () => (performance.now() >= until ? true : undefined), {
    intervalMs: 20,
    timeoutMs: ms + 5_000,
  });
};

describe('step loops in a device host (webgpu)', () => {
  const hosts: DeviceHost[] = [];
  const newHost = (stepTimeoutMs = 20_000): DeviceHost => {
    const host = new DeviceHost({ backend: 'webgpu', script: distFile('deviceHost.js'), stepTimeoutMs });
    hosts.push(host);
    return host;
  };
  after(() => {
    for (const host of hosts) host.dispose();
  });

  test('a loop at rateHz 0 steps continuously, and the state matches the steps it reports', async (t) => {
    const kernel = await DeviceKernel.create(newHost(), counter('count', 1), placement());
    const events = new Events();
    const started = performance.now();
    await kernel.startLoop(0, events.listener);
    assert.equal(kernel.looping, true);
    await reaches(kernel, 50);
    const first = events.progress[0];
    assert.ok(first && first.step >= 1, 'the first progress comes after the first step');
    const steps = await kernel.stopLoop();
    t.diagnostic(`${(steps / ((performance.now() - started) / 1000)).toFixed(0)} steps/s`);
    assert.equal(kernel.looping, false);
    assert.equal(kernel.stepCount, steps);
    const state = await words(kernel);
    assert.equal(state[0], steps, 'one increment per reported step');
    assert.equal(state[1], steps - 1, 'the last step saw its own step number');
    const stepsReported = events.progress.map((e) => e.step);
    assert.deepEqual(
      stepsReported,
      [...stepsReported].sort((a, b) => a - b),
      'progress never goes back',
    );
    assert.ok(stepsReported.every((s) => s <= steps));
    // Stopping again answers where it stopped; nothing runs meanwhile.
    assert.equal(await kernel.stopLoop(), steps);
    assert.equal((await words(kernel))[0], steps);
  });

  test('a loop at rateHz 20 runs about 20 steps a second, with heartbeats between steps', async (t) => {
    const kernel = await DeviceKernel.create(newHost(), counter('slow', 1), placement());
    const events = new Events();
    const started = performance.now();
    await kernel.startLoop(20, events.listener);
    await elapse(1_500);
    const steps = await kernel.stopLoop();
    const seconds = (performance.now() - started) / 1000;
    const rate = steps / seconds;
    t.diagnostic(`${rate.toFixed(1)} steps/s`);
    assert.ok(
      rate >= 8 && rate <= 40,
      `${steps} steps in ${seconds.toFixed(2)} s = ${rate.toFixed(1)}/s, expected about 20`,
    );
    assert.equal((await words(kernel))[0], steps);
    // Progress arrives at least every ~200 ms (steps every 50 ms, throttled to one per 100 ms).
    const gaps = events.all.slice(1).map(({ at }, i) => at - events.all[i]!.at);
    assert.ok(Math.max(...gaps) < 600, `largest gap between loop events: ${Math.max(...gaps).toFixed(0)} ms`);
  });

  test('a slow loop (rateHz 2) sends heartbeats while it waits between steps', async () => {
    const kernel = await DeviceKernel.create(newHost(), counter('heartbeat', 1), placement());
    const events = new Events();
    await kernel.startLoop(2, events.listener);
    await pollUntil('a second step and a few heartbeats', () =>
      kernel.stepCount >= 2 && events.all.length >= 6 ? true : undefined,
    );
    const steps = await kernel.stopLoop();
    assert.ok(steps <= 6, `${steps} steps at 2 Hz`);
    const beats = events.progress.filter((e) => e.step === 1).length;
    assert.ok(beats >= 2, `progress events while waiting for step 1: ${beats}`);
    const gaps = events.all.slice(1).map(({ at }, i) => at - events.all[i]!.at);
    assert.ok(Math.max(...gaps) < 600, `largest gap between heartbeats: ${Math.max(...gaps).toFixed(0)} ms`);
  });

  test('requests are answered while a loop runs', async () => {
    const host = newHost();
    const kernel = await DeviceKernel.create(host, counter('busy', 1), placement());
    await kernel.startLoop(0, () => {});
    await reaches(kernel, 5);
    const a = (await words(kernel))[0]!;
    await reaches(kernel, kernel.stepCount + 5);
    const b = (await words(kernel))[0]!;
    assert.ok(b > a, `the state advanced between two reads (${a} then ${b})`);
    const handle = await kernel.compileVersion(counter('busy', 7));
    assert.equal(handle.device, 0);
    assert.ok((await host.devices()).length >= 1);
    assert.equal(kernel.looping, true, 'still looping after the requests');
    const before = kernel.stepCount;
    await reaches(kernel, before + 5);
    await kernel.releaseHandle(handle);
    const steps = await kernel.stopLoop();
    assert.equal((await words(kernel))[0], steps);
  });

  test('stop, swap to a new version, start: the state carries over and the new version runs', async () => {
    const kernel = await DeviceKernel.create(newHost(), counter('reload', 1), placement());
    await kernel.startLoop(0, () => {});
    const next = await kernel.compileVersion(counter('reload', 7));
    assert.throws(() => kernel.swap(next, counter('reload', 7)), /stepping in a loop: stop the loop before you swap/);
    await assert.rejects(kernel.run(1), /stepping in a loop/);
    await reaches(kernel, 20);
    const s1 = await kernel.stopLoop();
    const old = kernel.swap(next, counter('reload', 7));
    assert.match(kernel.source.code, /\+ 7u/);
    const events = new Events();
    await kernel.startLoop(0, events.listener);
    await pollUntil("the new version's first step", () => ((events.progress[0]?.step ?? 0) > s1 ? true : undefined));
    await reaches(kernel, s1 + 20);
    const s2 = await kernel.stopLoop();
    await kernel.releaseHandle(old);
    const state = await words(kernel);
    assert.equal(state[0], s1 + 7 * (s2 - s1), `s1 = ${s1}, s2 = ${s2}`);
    assert.equal(state[1], s2 - 1, 'the step number carried on across the swap');
    await assert.rejects(kernel.releaseHandle(next), /cannot release the version it is running/);
  });

  test('a kernel created at a restored step continues from it', async () => {
    const kernel = await DeviceKernel.create(newHost(), counter('restored', 1), placement(), { step: 1000 });
    assert.equal(kernel.stepCount, 1000);
    await kernel.startLoop(0, () => {});
    await reaches(kernel, 1003);
    const steps = await kernel.stopLoop();
    const state = await words(kernel);
    assert.equal(state[0], steps - 1000);
    assert.equal(state[1], steps - 1);
    kernel.setStepCount(5);
    assert.equal((await kernel.step()).step, 5);
  });

  test('two loops in one host both advance', async () => {
    const host = newHost();
    const a = await DeviceKernel.create(host, counter('left', 1), placement());
    const b = await DeviceKernel.create(host, counter('right', 3), placement({ index: 1 }));
    await a.startLoop(0, () => {});
    await b.startLoop(0, () => {});
    await reaches(a, 30);
    await reaches(b, 30);
    const [sa, sb] = await Promise.all([a.stopLoop(), b.stopLoop()]);
    assert.equal((await words(a))[0], sa);
    assert.equal((await words(b))[0], 3 * sb);
  });

  test('a failing step ends its loop with loopFailed, and the host keeps serving', async () => {
    const host = newHost();
    // Zero workgroups: WebGPU refuses the launch at its first step.
    const kernel = await DeviceKernel.create(host, counter('zero', 1), placement({ grid: [0, 1, 1] }));
    const events = new Events();
    await kernel.startLoop(0, events.listener);
    const failed = await pollUntil('loopFailed', () => events.failed);
    assert.equal(failed.step, 0);
    assert.equal(failed.error.code, 'INVALID_LAUNCH');
    assert.match(failed.error.message, /kernel "zero"/);
    assert.equal(kernel.looping, false);
    assert.equal(await kernel.stopLoop(), 0);
    assert.ok((await host.devices()).length >= 1);
    await assert.rejects(
      host.stopLoop(999_999),
      (error: GpuError) => error.code === 'INVALID_ARGUMENT' && /no loop 999999/.test(error.message),
    );
  });

  test('an endless kernel in a loop is caught by the loop watchdog, naming it; loops in other hosts keep running', async () => {
    const hung = newHost(1_500);
    const healthy = newHost();
    const victim = await DeviceKernel.create(hung, endless, placement());
    const worker = await DeviceKernel.create(healthy, counter('worker', 1), placement());
    const restarts: { reason: string; culprit?: string }[] = [];
    hung.onRestart((event) => restarts.push(event));
    const victimEvents = new Events();
    await worker.startLoop(0, () => {});
    await reaches(worker, 5);
    const workerBefore = worker.stepCount;
    const started = performance.now();
    await victim.startLoop(0, victimEvents.listener);
    const restart = await pollUntil('the loop watchdog to restart the host', () => restarts[0], { timeoutMs: 15_000 });
    const took = performance.now() - started;
    assert.equal(restart.culprit, 'endless');
    assert.match(
      restart.reason,
      /kernel "endless" did not finish a step within 1500 ms; the host was killed and is restarting/,
    );
    assert.ok(took >= 1_400 && took < 1_500 + 3_000, `the watchdog took ${took.toFixed(0)} ms`);
    assert.equal(victim.alive, false);
    assert.equal(victim.looping, false);
    // On lavapipe each host has CPU threads of its own, so the healthy loop steps during the hang;
    // on a real GPU the driver runs the hung dispatch alone until its process dies, then the
    // healthy loop goes on.
    await pollUntil('the healthy loop to step on', () => (worker.stepCount > workerBefore ? true : undefined), {
      timeoutMs: 15_000,
    });
    const atRestart = worker.stepCount;
    await reaches(worker, atRestart + 10);
    assert.equal(victimEvents.all.length, 0, 'the hung loop reported nothing');
    await assert.rejects(victim.readState(), (error: GpuError) => error.code === 'HOST_EXITED');
    assert.ok((await hung.devices()).length >= 1, 'the restarted host answers');
    await worker.stopLoop();
  });
});
