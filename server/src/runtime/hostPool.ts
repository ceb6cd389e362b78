// Which device host a WebGPU kernel runs in. Up to `maxPerDevice` kernels of a device get a host
// each (an endless WGSL loop can only be stopped by killing its process, so isolation keeps the
// others running); past that, kernels share that device's hosts round-robin, so 10,000 kernels do
// not start 10,000 processes. A host is handed back for disposal when its last kernel leaves.
export class HostPool<H> {
  private readonly hostsByDevice = new Map<string, H[]>();
  private readonly hostOfKernel = new Map<string, { device: string; host: H }>();
  private readonly nextShared = new Map<string, number>();

  constructor(private readonly maxPerDevice: () => number) {}

  /** The host for `kernelId` on `device`: a new one from `create` while the device has fewer than the limit. */
  acquire(device: string, kernelId: string, create: () => H): H {
    const known = this.hostOfKernel.get(kernelId);
    if (known) return known.host;
    const hosts = this.hostsByDevice.get(device) ?? [];
    this.hostsByDevice.set(device, hosts);
    let host: H;
    if (hosts.length < Math.max(1, this.maxPerDevice())) {
      host = create();
      hosts.push(host);
    } else {
      // Round-robin over the existing hosts, least recently given first.
      const next = (this.nextShared.get(device) ?? 0) % hosts.length;
      this.nextShared.set(device, next + 1);
      host = hosts[next] as H;
    }
    this.hostOfKernel.set(kernelId, { device, host });
    return host;
  }

  /** Forgets `kernelId`; returns its host when no kernel uses it any more (the caller disposes it). */
  release(kernelId: string): H | undefined {
    const entry = this.hostOfKernel.get(kernelId);
    if (!entry) return undefined;
    this.hostOfKernel.delete(kernelId);
    if ([...this.hostOfKernel.values()].some((other) => other.host === entry.host)) return undefined;
    const hosts = this.hostsByDevice.get(entry.device) ?? [];
    const index = hosts.indexOf(entry.host);
    if (index >= 0) hosts.splice(index, 1);
    if (hosts.length === 0) this.hostsByDevice.delete(entry.device);
    return entry.host;
  }

  hosts(): H[] {
    return [...this.hostsByDevice.values()].flat();
  }

  clear(): void {
    this.hostsByDevice.clear();
    this.hostOfKernel.clear();
    this.nextShared.clear();
  }
}
