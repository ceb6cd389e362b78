// CUDA: the engine (device host) beside raw driver calls through the addon in this process,
// doing the same work. Skipped, with the reason, where CUDA is unavailable.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCudaAddon } from '../server/src/backends/cuda/cudaAddonLoader';
import { OUTBOX_HEADER_BYTES, encodeControl } from '../server/src/kernel/abi';
import { extensionRoot } from '../server/src/paths';
import { engineSamples } from './engineBench';
import { sideBySide, type BackendBenchResult, type RawSamples } from './report';
import { timeMany } from './stats';

const STATE_WORDS = 4096;
const BLOCK = 64;

/** The ABI test kernels (test/fixtures/kernels/abi_kernels.cu); `affine` is the bench's step. */
function benchPtx(): string {
  return readFileSync(join(extensionRoot(), 'test', 'fixtures', 'kernels', 'abi_kernels.ptx'), 'utf8');
}

async function rawDriver(steps: number, copyBytes: number, copies: number): Promise<RawSamples> {
  const loaded = loadCudaAddon();
  if (!loaded.ok) throw new Error(loaded.reason);
  const cuda = loaded.addon;
  const { module } = await cuda.moduleLoad(0, benchPtx());
  const fn = cuda.getFunction(module, 'affine');
  const stream = cuda.streamCreate(0, { nonBlocking: true });
  const control = cuda.memAlloc(0, 16);
  const state = cuda.memAlloc(0, STATE_WORDS * 4);
  const inbox = cuda.memAlloc(0, 64);
  const outbox = cuda.memAlloc(0, 80);
  cuda.memsetD8(state, 0, STATE_WORDS * 4);
  cuda.memsetD8(outbox, 0, 80);
  const header = new Uint8Array(cuda.memAllocHost(0, OUTBOX_HEADER_BYTES), 0, OUTBOX_HEADER_BYTES);
  let n = 0;
  // The same work as an engine step: control in, launch, outbox counter back, one wait.
  const stepOnce = (): Promise<void> => {
    cuda.memcpyHtoDAsync(stream, control, encodeControl({ step: n++, kernelIndex: 0, inboxCount: 0, outboxCapacity: 1 }));
    cuda.launchKernel(fn, { grid: [STATE_WORDS / BLOCK, 1, 1], block: [BLOCK, 1, 1], stream }, [control, state, inbox, outbox]);
    cuda.memcpyDtoHAsync(stream, header, outbox);
    return cuda.streamSynchronizeAsync(stream);
  };
  await timeMany(10, stepOnce);
  const step = await timeMany(steps, stepOnce);
  const big = cuda.memAlloc(0, copyBytes);
  const other = cuda.memAlloc(0, copyBytes);
  // Pageable host memory, as the engine's host copies from: the raw call does the same.
  const payload = new Uint8Array(copyBytes).fill(7);
  const withWarmUp = async (run: () => Promise<void>): Promise<number[]> => { await run(); return timeMany(copies, run); };
  const hostToDevice = await withWarmUp(() => { cuda.memcpyHtoDAsync(stream, big, payload); return cuda.streamSynchronizeAsync(stream); });
  // Host memory touched before the clock starts, as the engine's read does: first-touch page
  // faults would otherwise be timed as copy time.
  const landing = new Uint8Array(copyBytes).fill(0);
  const deviceToHost = await withWarmUp(() => { cuda.memcpyDtoHAsync(stream, landing, big); return cuda.streamSynchronizeAsync(stream); });
  const deviceToDevice = await withWarmUp(() => { cuda.memcpyDtoDAsync(stream, other, big, copyBytes); return cuda.streamSynchronizeAsync(stream); });
  for (const allocation of [control, state, inbox, outbox, big, other]) cuda.memFree(allocation);
  cuda.memFreeHost(header.buffer);
  cuda.streamDestroy(stream);
  cuda.moduleUnload(module);
  return { device: cuda.deviceInfo(0).name, step, copies: { hostToDevice, deviceToHost, deviceToDevice } };
}

export type CudaBenchResult = BackendBenchResult | { skipped: string };

export async function benchCuda(options: { steps: number; copyBytes: number; copies: number }): Promise<CudaBenchResult> {
  const loaded = loadCudaAddon();
  if (!loaded.ok) return { skipped: loaded.reason };
  const status = loaded.addon.driverStatus();
  if (!status.available) return { skipped: status.reason ?? 'the CUDA driver did not initialise' };
  // A raw run first, discarded, so neither side gets a GPU its predecessor warmed up.
  await rawDriver(Math.min(options.steps, 50), options.copyBytes, 1);
  const engine = await engineSamples('cuda', { language: 'ptx', label: 'bench', code: benchPtx(), entryPoint: 'affine' },
    { index: 0, device: 0, stateBytes: STATE_WORDS * 4, grid: [STATE_WORDS / BLOCK, 1, 1], block: [BLOCK, 1, 1], inboxCapacity: 1, outboxCapacity: 1 }, options);
  return sideBySide(engine, await rawDriver(options.steps, options.copyBytes, options.copies), options.copyBytes);
}
