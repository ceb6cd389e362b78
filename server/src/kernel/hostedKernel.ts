// A kernel living in a device host: its compiled entry point and its four ABI buffers, stepped
// one dispatch (or launch) at a time by the host side.
import type { BufferHandle, KernelHandle, KernelSource, Timing } from '../backends/backend';
import type { DeviceHost } from '../hosts/deviceHost';
import { CONTROL_BYTES, decodeOutbox, inboxBytes, outboxBytes, type OutboxMessage } from './abi';

export interface KernelPlacement {
  /** Position of the kernel among all running kernels; written into its control block. */
  index: number;
  device: number;
  stateBytes: number;
  grid: [number, number, number];
  block?: [number, number, number];
  inboxCapacity: number;
  outboxCapacity: number;
}

export interface StepResult {
  step: number;
  timing: Timing;
  messages: OutboxMessage[];
  dropped: number;
}

export class HostedKernel {
  private steps = 0;

  private constructor(
    private readonly host: DeviceHost,
    readonly source: KernelSource,
    readonly placement: KernelPlacement,
    private readonly handle: KernelHandle,
    private readonly buffers: { control: BufferHandle; state: BufferHandle; inbox: BufferHandle; outbox: BufferHandle },
  ) {}

  /** Compiles the kernel on its device and allocates its buffers; the state starts zeroed. */
  static async create(host: DeviceHost, source: KernelSource, placement: KernelPlacement): Promise<HostedKernel> {
    const handle = await host.compile(placement.device, source);
    const allocated: BufferHandle[] = [];
    try {
      const allocate = async (bytes: number, role: string): Promise<BufferHandle> => {
        const buffer = await host.allocate(placement.device, bytes, `${source.label}.${role}`);
        allocated.push(buffer);
        return buffer;
      };
      const buffers = {
        control: await allocate(CONTROL_BYTES, 'control'),
        state: await allocate(placement.stateBytes, 'state'),
        inbox: await allocate(inboxBytes(placement.inboxCapacity), 'inbox'),
        outbox: await allocate(outboxBytes(placement.outboxCapacity), 'outbox'),
      };
      return new HostedKernel(host, source, placement, handle, buffers);
    } catch (error) {
      await Promise.allSettled([...allocated.map((b) => host.free(b)), host.releaseKernel(handle)]);
      throw error;
    }
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Runs one step: control block in, dispatch, the outbox drained. */
  async step(timeoutMs?: number): Promise<StepResult> {
    const [result] = await this.run(1, timeoutMs);
    if (!result) throw new Error('the device host returned no step');
    return result;
  }

  /** Runs `count` steps back to back in the device host (one IPC round trip for all of them). */
  async run(count: number, timeoutMs?: number): Promise<StepResult[]> {
    const { placement } = this;
    const launch = { kernel: this.handle, ...this.buffers, grid: placement.grid, ...(placement.block ? { block: placement.block } : {}) };
    const control = { step: this.steps, kernelIndex: placement.index, inboxCount: 0, outboxCapacity: placement.outboxCapacity };
    const outcomes = await this.host.steps({ launch, control, count }, timeoutMs);
    this.steps += outcomes.length;
    return outcomes.map(({ step, timing, outbox }) =>
      (outbox ? { step, timing, ...decodeOutbox(outbox, placement.outboxCapacity) } : { step, timing, messages: [], dropped: 0 }));
  }

  async readState(): Promise<Uint8Array> {
    return (await this.host.read(this.buffers.state, 0, this.placement.stateBytes)).data;
  }

  async writeState(bytes: Uint8Array): Promise<void> {
    await this.host.write(this.buffers.state, 0, bytes);
  }

  async release(): Promise<void> {
    await Promise.allSettled([...Object.values(this.buffers).map((b) => this.host.free(b)), this.host.releaseKernel(this.handle)]);
  }
}
