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
    const host = this.choose(device, create);
    this.assign(device, kernelId, host);
    return host;
  }

  /**
   * The host a kernel arriving on `device` would get (a new one while under the limit, else the
   * next shared one), without recording it: a migration's target until its switch (assign).
   */
  choose(device: string, create: () => H): H {
    const hosts = this.hostsByDevice.get(device) ?? [];
    if (hosts.length < Math.max(1, this.maxPerDevice())) return create();
    // Round-robin over the existing hosts, least recently given first.
    const next = (this.nextShared.get(device) ?? 0) % hosts.length;
    this.nextShared.set(device, next + 1);
    return hosts[next] as H;
  }

  /** `kernelId` now runs in `host` on `device`; its previous host leaves the pool when no kernel uses it (the caller disposes it: see holds). */
  assign(device: string, kernelId: string, host: H): void {
    this.release(kernelId);
    const hosts = this.hostsByDevice.get(device) ?? [];
    this.hostsByDevice.set(device, hosts);
    if (!hosts.includes(host)) hosts.push(host);
    this.hostOfKernel.set(kernelId, { device, host });
  }

  /** Whether some kernel runs in `host`. */
  holds(host: H): boolean {
    return [...this.hostOfKernel.values()].some((entry) => entry.host === host);
  }

  /** Forgets `kernelId`; returns its host when no kernel uses it any more (the caller disposes it). */
  release(kernelId: string): H | undefined {
    const entry = this.hostOfKernel.get(kernelId);
    if (!entry) return undefined;
    this.hostOfKernel.delete(kernelId);
    if (this.holds(entry.host)) return undefined;
    const hosts = this.hostsByDevice.get(entry.device) ?? [];
    const index = hosts.indexOf(entry.host);
    if (index >= 0) hosts.splice(index, 1);
    if (hosts.length === 0) this.hostsByDevice.delete(entry.device);
    return entry.host;
  }

  /** The hosts of one device. */
  hostsOn(device: string): H[] {
    return [...(this.hostsByDevice.get(device) ?? [])];
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
