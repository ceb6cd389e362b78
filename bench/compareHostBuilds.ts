// Compares device-host builds on the router suite's step figure, in one interleaved run:
// `node out/bench/compareHostBuilds.js [--rounds N] [--window MS] NAME=path/to/dist/deviceHost.js ...`
// For each build, the sender loop of `sender step loop, 64 messages a step webgpu:0 → webgpu:1` (suites/router.ts)
// with messages flowing and with none, the receiver stepping on webgpu:1 in a host of the same build.
// Builds, and within a build the two sides, take turns in an order that rotates each round, so
// a machine whose load drifts (the 2 shared cores here) weighs on every build alike. Prints, per
// build, the median over rounds of the per-round ratio (ms per step flowing / none) and the rates.
// It measures a change to the host side (stepRunner, stepLoop, the backends) before and after:
// build the old commit elsewhere (git archive, node scripts/build.mjs) and name both bundles.
import { readFileSync } from 'node:fs';
import { DeviceHost } from '../server/src/hosts/deviceHost';
import type { DeviceKernel } from '../server/src/hosts/deviceKernel';
import type { Logger } from '../server/src/logger';
import { MessageDelivery } from '../server/src/runtime/messageDelivery';
import { COUNT, FLOOD, placeRouterKernel, words } from './routerKernels';
import { sampleLoop } from './suites/backend';

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

interface Build {
  name: string;
  script: string;
  hosts: DeviceHost[];
  delivery: MessageDelivery;
  sender: DeviceKernel;
  receiver: DeviceKernel;
  ratios: number[];
  flowing: number[];
  none: number[];
  cpuFlowing: number[];
  cpuNone: number[];
}

async function place(
  build: Pick<Build, 'script' | 'hosts' | 'delivery'>,
  instance: number,
  index: number,
  code: string,
  capacities: { inbox: number; outbox: number },
): Promise<DeviceKernel> {
  const host = new DeviceHost({ backend: 'webgpu', instance, script: build.script, stepTimeoutMs: 60_000 });
  build.hosts.push(host);
  return placeRouterKernel(build.delivery, host, index, code, capacities);
}

/** CPU seconds a process has used (user + system), from /proc (Linux); lavapipe runs inside the host process. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The sender's loop over `windowMs`, sending 64 messages a step or none: median ms per step, and
 * the sender host's CPU ms per step (on lavapipe the device's work is that process's too), which
 * the other processes' load on a shared machine changes far less than wall time.
 */
async function window(build: Build, sending: boolean, windowMs: number): Promise<{ ms: number; cpuMs: number }> {
  await build.sender.writeState(new Uint8Array([...words(sending ? 1 : 0, 64, 0), ...new Uint8Array(4)]));
  await build.receiver.startLoop(0, () => undefined);
  try {
    const pid = build.hosts[1]?.pid;
    const before = { cpu: cpuSeconds(pid), step: build.sender.stepCount };
    const samples = await sampleLoop(build.sender, () => new Promise((resolve) => setTimeout(resolve, windowMs)));
    const cpuMs = ((cpuSeconds(pid) - before.cpu) * 1000) / (build.sender.stepCount - before.step);
    return { ms: median(samples), cpuMs };
  } finally {
    await build.receiver.stopLoop().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let rounds = 7;
  let windowMs = 1500;
  const specs: { name: string; script: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--rounds') rounds = Number(args[++i]);
    else if (arg === '--window') windowMs = Number(args[++i]);
    else if (arg.includes('='))
      specs.push({ name: arg.slice(0, arg.indexOf('=')), script: arg.slice(arg.indexOf('=') + 1) });
    else throw new Error(`unknown argument ${arg}: use [--rounds N] [--window MS] NAME=path/to/deviceHost.js ...`);
  }
  if (specs.length === 0) throw new Error('name at least one build: NAME=path/to/dist/deviceHost.js');
  const builds: Build[] = [];
  try {
    for (const spec of specs) {
      const partial = {
        ...spec,
        hosts: [],
        delivery: new MessageDelivery({ log: quiet }),
        ratios: [],
        flowing: [],
        none: [],
        cpuFlowing: [],
        cpuNone: [],
      };
      const receiver = await place(partial, 1, 0, COUNT, { inbox: 256, outbox: 1 });
      const sender = await place(partial, 0, 1, FLOOD, { inbox: 0, outbox: 64 });
      builds.push({ ...partial, receiver, sender });
    }
    for (let round = -1; round < rounds; round++) {
      const order = builds.map((_, i) => builds[(i + Math.max(0, round)) % builds.length] as Build);
      for (const build of order) {
        const flowingFirst = (round + builds.indexOf(build)) % 2 === 0;
        const first = await window(build, flowingFirst, windowMs);
        const second = await window(build, !flowingFirst, windowMs);
        const [flowing, none] = flowingFirst ? [first, second] : [second, first];
        if (round < 0) continue; // warm-up
        build.flowing.push(flowing.ms);
        build.none.push(none.ms);
        build.ratios.push(flowing.ms / none.ms);
        build.cpuFlowing.push(flowing.cpuMs);
        build.cpuNone.push(none.cpuMs);
      }
      if (round >= 0)
        process.stderr.write(
          `round ${round + 1}/${rounds}: ${builds.map((b) => `${b.name} ${b.ratios.at(-1)?.toFixed(2)}`).join(', ')}\n`,
        );
    }
    for (const build of builds)
      process.stdout.write(
        `${build.name}: ratio flowing/none ${median(build.ratios).toFixed(3)} (rounds ${build.ratios.map((r) => r.toFixed(2)).join(' ')}); ` +
          `flowing ${(1000 / median(build.flowing)).toFixed(0)} steps/s, none ${(1000 / median(build.none)).toFixed(0)} steps/s; ` +
          `sender host CPU per step: flowing ${(1000 * median(build.cpuFlowing)).toFixed(0)} µs, none ${(1000 * median(build.cpuNone)).toFixed(0)} µs\n`,
      );
  } finally {
    for (const build of builds) {
      build.delivery.dispose();
      for (const host of build.hosts) host.dispose();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
