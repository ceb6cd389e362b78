// Routing decisions cached per (sender's device, receiver's device). Every message asks for one,
// so the lookup is two array reads: devices get small slot numbers once, and the table is a flat
// array indexed by slot pair. A new topology or a new enableP2P setting empties it; a kernel that
// moves only changes which slot it looks up, so its next decision is the new pair's.
import { GpuTopology } from '../topology/gpuTopology';
import type { DeviceKey } from '../probe/probeRecords';
import { decideRoute, type RoutingDecision, type RoutingPolicy } from './routingDecision';

export class RoutingTable {
  private topology: GpuTopology;
  private policy: RoutingPolicy;
  private readonly slots = new Map<DeviceKey, number>();
  private readonly keys: DeviceKey[] = [];
  private stride = 8;
  private cache: (RoutingDecision | undefined)[] = new Array<RoutingDecision | undefined>(this.stride * this.stride);
  /** Changes whenever cached decisions are thrown away. */
  generation = 0;

  constructor(topology: GpuTopology = GpuTopology.empty(), policy: RoutingPolicy = { enableP2P: true }) {
    this.topology = topology;
    this.policy = { ...policy };
  }

  setTopology(topology: GpuTopology): void {
    this.topology = topology;
    this.invalidate();
  }

  setPolicy(policy: RoutingPolicy): void {
    if (policy.enableP2P === this.policy.enableP2P) return;
    this.policy = { ...policy };
    this.invalidate();
  }

  get enableP2P(): boolean {
    return this.policy.enableP2P;
  }

  /** A device's slot, assigned on first sight and kept for the table's life. */
  slotOf(device: DeviceKey): number {
    const known = this.slots.get(device);
    if (known !== undefined) return known;
    const slot = this.keys.length;
    this.slots.set(device, slot);
    this.keys.push(device);
    if (slot >= this.stride) this.grow();
    return slot;
  }

  deviceOf(slot: number): DeviceKey {
    const key = this.keys[slot];
    if (key === undefined) throw new RangeError(`routing table: no device has slot ${slot}`);
    return key;
  }

  /** The decision for a slot pair, computed on first use after each invalidation. */
  decide(fromSlot: number, toSlot: number): RoutingDecision {
    const at = fromSlot * this.stride + toSlot;
    return this.cache[at] ?? this.compute(at, fromSlot, toSlot);
  }

  decideDevices(from: DeviceKey, to: DeviceKey): RoutingDecision {
    return this.decide(this.slotOf(from), this.slotOf(to));
  }

  /** The decisions computed since the last invalidation. */
  decisions(): RoutingDecision[] {
    return this.cache.filter((decision): decision is RoutingDecision => decision !== undefined);
  }

  private compute(at: number, fromSlot: number, toSlot: number): RoutingDecision {
    const decision = decideRoute(this.topology, this.deviceOf(fromSlot), this.deviceOf(toSlot), this.policy);
    this.cache[at] = decision;
    return decision;
  }

  private invalidate(): void {
    this.cache.fill(undefined);
    this.generation++;
  }

  private grow(): void {
    const old = this.cache;
    const oldStride = this.stride;
    while (this.stride <= this.keys.length) this.stride *= 2;
    this.cache = new Array<RoutingDecision | undefined>(this.stride * this.stride);
    for (let a = 0; a < oldStride; a++) {
      for (let b = 0; b < oldStride; b++) this.cache[a * this.stride + b] = old[a * oldStride + b];
    }
  }
}
