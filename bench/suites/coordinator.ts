// coordinator: placing 1,000 kernels on the 8 GPUs of a DGX H100's probe records, per strategy;
// raw: the same decisions over plain arrays (counts, free memory, capability), the least any
// placement can cost. Topology: building it from the probe records, its JSON, and probing this
// machine; these have no raw counterpart (there is no API that does it), so raw is null.
import { probeMachine } from '../../server/src/probe/machineProbe';
import { MultiGpuCoordinator } from '../../server/src/coordinator';
import type { LoadBalancingStrategy } from '../../server/src/coordinator/coordinatorTypes';
import { buildTopology } from '../../server/src/topology/buildTopology';
import { deviceInfo, machineProbes } from '../../test/unit/topology/machines';
import { timeEach, type BenchContext } from '../method';

const SUITE = 'coordinator';
const STRATEGIES: LoadBalancingStrategy[] = [
  'firstAvailable',
  'leastLoaded',
  'roundRobin',
  'memoryBased',
  'computeCapability',
];
const KERNELS = 1000;
const KERNEL_BYTES = 4 << 20;

/** One strategy's decision made directly: the index of the device that takes the next kernel. */
function rawDecider(
  strategy: LoadBalancingStrategy,
  free: number[],
  counts: number[],
  capability: number[],
): () => number {
  const n = free.length;
  let next = 0;
  const fits = (i: number): boolean => (free[i] ?? 0) >= KERNEL_BYTES && (counts[i] ?? 0) < KERNELS;
  const best = (score: (i: number) => number): number => {
    let chosen = -1;
    for (let i = 0; i < n; i++) if (fits(i) && (chosen < 0 || score(i) > score(chosen))) chosen = i;
    return chosen;
  };
  switch (strategy) {
    case 'firstAvailable':
      return () => {
        for (let i = 0; i < n; i++) if (fits(i)) return i;
        return -1;
      };
    case 'leastLoaded':
      return () => best((i) => -(counts[i] ?? 0));
    case 'roundRobin':
      return () => {
        for (let k = 0; k < n; k++) {
          const i = (next + k) % n;
          if (fits(i)) {
            next = i + 1;
            return i;
          }
        }
        return -1;
      };
    case 'memoryBased':
      return () => best((i) => free[i] ?? 0);
    default:
      return () => best((i) => capability[i] ?? 0);
  }
}

export async function coordinatorSuite(bench: BenchContext): Promise<void> {
  const probes = machineProbes('dgx-h100');
  const topology = buildTopology(probes);
  const infos = probes.devices.map(deviceInfo);
  const repeats = bench.plan.quick ? 3 : 10;
  for (const strategy of STRATEGIES) {
    const name = `place ${KERNELS} kernels on ${infos.length} GPUs, ${strategy}`;
    await bench.pair({
      suite: SUITE,
      figures: [{ name, unit: 'ms' }],
      ours: async () => ({
        [name]: await timeEach(repeats, () => {
          const coordinator = new MultiGpuCoordinator({ loadBalancing: strategy, maxKernelsPerDevice: KERNELS });
          for (const info of infos) coordinator.registerDevice(info);
          coordinator.setTopology(topology);
          for (let k = 0; k < KERNELS; k++) {
            const placed = coordinator.place(`kernel-${k}`, { stateBytes: KERNEL_BYTES });
            if (!placed.ok) throw new Error(`${strategy}: kernel ${k} was not placed: ${placed.error.message}`);
          }
          return Promise.resolve();
        }),
      }),
      raw: async () => ({
        [name]: await timeEach(repeats, () => {
          const free = infos.map((d) => d.memoryFreeBytes ?? d.memoryTotalBytes ?? 0);
          const counts = infos.map(() => 0);
          const capability = infos.map((d) =>
            d.computeCapability ? d.computeCapability.major * 10 + d.computeCapability.minor : 0,
          );
          const decide = rawDecider(strategy, free, counts, capability);
          for (let k = 0; k < KERNELS; k++) {
            const i = decide();
            if (i < 0) throw new Error(`${strategy} (raw): kernel ${k} found no device`);
            counts[i] = (counts[i] ?? 0) + 1;
            free[i] = (free[i] ?? 0) - KERNEL_BYTES;
          }
          return Promise.resolve();
        }),
      }),
    });
  }
  await bench.pair({
    suite: SUITE,
    figures: [
      { name: 'topology from DGX H100 probe records', unit: 'ms' },
      { name: 'topology JSON with every best path', unit: 'ms' },
    ],
    ours: () => {
      const build: number[] = [];
      const json: number[] = [];
      for (let i = 0; i < repeats; i++) {
        let started = performance.now();
        const built = buildTopology(probes);
        build.push(performance.now() - started);
        started = performance.now();
        JSON.stringify(built.toJSON());
        json.push(performance.now() - started);
      }
      return Promise.resolve({
        'topology from DGX H100 probe records': build,
        'topology JSON with every best path': json,
      });
    },
  });
  let devices = 0;
  await bench.pair({
    suite: SUITE,
    figures: [{ name: 'probe this machine (child process, every backend)', unit: 'ms' }],
    ours: async () => ({
      'probe this machine (child process, every backend)': await timeEach(1, async () => {
        const probed = await probeMachine({});
        devices = probed.reports.reduce((n, r) => n + r.devices.length, 0);
      }),
    }),
    detail: () => ({ devicesFound: devices }),
  });
}
