// Placement decisions per second with 1,000 kernels on 8 devices (a DGX H100's probe records),
// per strategy, and topology discovery time: building the topology from probe records, and the
// real probe of this machine (a child process opening every backend).
import { probeMachine } from '../server/src/probe/machineProbe';
import { MultiGpuCoordinator } from '../server/src/coordinator';
import type { LoadBalancingStrategy } from '../server/src/coordinator/coordinatorTypes';
import { buildTopology } from '../server/src/topology/buildTopology';
import { deviceInfo, machineProbes } from '../test/unit/topology/machines';
import { summarize, type LatencySummary } from './stats';

const STRATEGIES: LoadBalancingStrategy[] = ['firstAvailable', 'leastLoaded', 'roundRobin', 'memoryBased', 'computeCapability'];
const KERNELS = 1000;

export interface CoordinatorBenchResult {
  placement: Record<string, { kernels: number; devices: number; decisionsPerSecond: number; msFor1000: LatencySummary }>;
  topology: { buildFromProbesMs: LatencySummary; toJsonMs: LatencySummary; probeThisMachineMs: number; devicesFound: number };
}

export async function benchCoordinator(rounds: number): Promise<CoordinatorBenchResult> {
  const probes = machineProbes('dgx-h100');
  const topology = buildTopology(probes);
  const placement: CoordinatorBenchResult['placement'] = {};
  for (const strategy of STRATEGIES) {
    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const coordinator = new MultiGpuCoordinator({ loadBalancing: strategy, maxKernelsPerDevice: KERNELS });
      for (const device of probes.devices) coordinator.registerDevice(deviceInfo(device));
      coordinator.setTopology(topology);
      const started = performance.now();
      for (let k = 0; k < KERNELS; k++) {
        const placed = coordinator.place(`kernel-${k}`, { stateBytes: 4 << 20 });
        if (!placed.ok) throw new Error(`${strategy}: kernel ${k} was not placed: ${placed.error.message}`);
      }
      samples.push(performance.now() - started);
    }
    const summary = summarize(samples);
    placement[strategy] = { kernels: KERNELS, devices: probes.devices.length, decisionsPerSecond: Math.round(KERNELS / (summary.p50Ms / 1000)), msFor1000: summary };
  }
  const build: number[] = [];
  const json: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let started = performance.now();
    const built = buildTopology(probes);
    build.push(performance.now() - started);
    started = performance.now();
    JSON.stringify(built.toJSON());
    json.push(performance.now() - started);
  }
  const started = performance.now();
  const machine = await probeMachine({});
  const probeThisMachineMs = Math.round(performance.now() - started);
  return {
    placement,
    topology: {
      buildFromProbesMs: summarize(build), toJsonMs: summarize(json), probeThisMachineMs,
      devicesFound: machine.reports.reduce((n, r) => n + r.devices.length, 0),
    },
  };
}
