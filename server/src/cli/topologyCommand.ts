// `ringkernel topology [--json] [--measure]`: the machine's devices and the links between them, as
// a matrix like `nvidia-smi topo -m` plus a list of links, or as JSON. --measure measures bandwidth
// and latency first and caches them for this machine (the language server then uses them too).
import { probeMachine } from '../probe/machineProbe';
import type { Logger } from '../logger';
import { topologyCachePath } from '../topology/cacheLocation';
import type { GpuTopology } from '../topology/gpuTopology';
import type { TopologyLink } from '../topology/topologyModel';
import { interconnectLabel } from '../topology/interconnect';
import { MachineTopology } from '../topology/machineTopology';
import { printDriverLine } from '../driverNoise';

const OPTIONS = ['--json', '--measure'];

function stderrLogger(): Logger {
  return {
    error: (message) => process.stderr.write(`ringkernel topology: error: ${message}\n`),
    warn: (message) => process.stderr.write(`ringkernel topology: warning: ${message}\n`),
    info: () => undefined,
    debug: () => undefined,
  };
}

export async function topologyCommand(args: readonly string[]): Promise<number> {
  const unknown = args.filter((arg) => !OPTIONS.includes(arg));
  if (unknown.length > 0) {
    process.stderr.write(
      `ringkernel topology: unknown option ${unknown.join(' ')}; the options are ${OPTIONS.join(' and ')}\n`,
    );
    return 2;
  }
  const json = args.includes('--json');
  const log = stderrLogger();
  const probe = await probeMachine({ onOutput: printDriverLine });
  const machine = new MachineTopology({ cachePath: topologyCachePath(), log });
  let topology = await machine.update(probe);
  let failed = false;
  if (args.includes('--measure')) {
    const outcome = await machine.measure({
      onProgress: ({ done, total, what }) => {
        if (what !== 'done') process.stderr.write(`measuring ${what} (${done + 1} of ${total})\n`);
      },
    });
    topology = outcome.topology;
    failed = outcome.result.failures.length > 0;
    if (outcome.save.ok) process.stderr.write(`measurements cached in ${outcome.save.path}\n`);
  }
  process.stdout.write(json ? `${JSON.stringify(topology.toJSON(), null, 2)}\n` : `${topologyText(topology)}\n`);
  return failed ? 1 : 0;
}

function gbps(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} GB/s`;
}

function microseconds(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} µs`;
}

/** The matrix, then each device's host link and each link with its best route. */
export function topologyText(topology: GpuTopology): string {
  const lines = [topology.toMatrixText()];
  if (topology.devices.length === 0) return lines.join('\n');
  lines.push('', 'Host links (system memory ↔ device):');
  for (const device of topology.devices) {
    const host = device.hostLink;
    lines.push(
      `  ${device.key}: to device ${gbps(host.toDeviceGBps)}, to host ${gbps(host.toHostGBps)}, latency ${microseconds(host.latencyUs)}, ${host.basis} (${host.source})`,
    );
  }
  lines.push('', 'Links:');
  if (topology.links.length === 0) lines.push('  none (one device)');
  for (const link of topology.links) lines.push(`  ${linkLine(topology, link)}`);
  return lines.join('\n');
}

function linkLine(topology: GpuTopology, link: TopologyLink): string {
  const path = topology.bestPath(link.from, link.to);
  const route = !path
    ? 'no route'
    : path.hops === 1
      ? '1 hop'
      : `${path.hops} hops via ${path.devices.slice(1, -1).join(', ')} (${gbps(path.bottleneckGBps)})`;
  return `${link.from} → ${link.to}: ${interconnectLabel(link.interconnect)}, ${gbps(link.bandwidthGBps)}, ${microseconds(link.latencyUs)}, ${route}, ${link.basis}`;
}
