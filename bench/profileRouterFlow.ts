// A driver for profiling the router bench's cross-device flow outside the bench's rounds: a sender
// kernel in a device host on webgpu:0 fills its outbox every step, MessageDelivery routes the
// messages to a receiver kernel in a host on webgpu:1, for a fixed window; prints delivered/s and
// where the server's time went. Run under a profiler, children included:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof out/bench/profileRouterFlow.js [batch] [seconds]
// (Node 20 refuses --cpu-prof in NODE_OPTIONS, and hosts start without execArgv: to profile the
// hosts too, ROUTERFLOW_HOST_SCRIPT names a script to start them with instead of dist/deviceHost.js,
// e.g. one that starts node:inspector's profiler and then requires dist/deviceHost.js.)
import { readFileSync } from 'node:fs';
import { DeviceHost } from '../server/src/hosts/deviceHost';
import type { Logger } from '../server/src/logger';
import { MessageDelivery } from '../server/src/runtime/messageDelivery';
import { COUNT, FLOOD, placeRouterKernel, words } from './routerKernels';

/** CPU milliseconds (user + system) of this process's children, by pid (Linux /proc; empty elsewhere). */
function childCpuMs(): Map<number, number> {
  const cpu = new Map<number, number>();
  try {
    const pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    for (const pid of pids) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      cpu.set(Number(pid), ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    }
  } catch {
    // Not Linux: no per-host figures.
  }
  return cpu;
}

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

async function main(): Promise<void> {
  const batch = Number(process.argv[2] ?? 4096);
  const seconds = Number(process.argv[3] ?? 10);
  const hosts = [0, 1].map(
    (instance) =>
      new DeviceHost({
        backend: 'webgpu',
        instance,
        stepTimeoutMs: 60_000,
        ...(process.env.ROUTERFLOW_HOST_SCRIPT ? { script: process.env.ROUTERFLOW_HOST_SCRIPT } : {}),
      }),
  );
  const [h0, h1] = hosts as [DeviceHost, DeviceHost];
  const delivery = new MessageDelivery({ log: quiet, pendingLimit: 4 * batch });
  try {
    const receiver = await placeRouterKernel(delivery, h1, 0, COUNT, { inbox: batch, outbox: 1 }, words(0));
    const sender = await placeRouterKernel(delivery, h0, 1, FLOOD, { inbox: 0, outbox: batch }, words(1, batch, 0));
    const steps = { sender: 0, receiver: 0 };
    if (process.env.ROUTERFLOW_TRACE) {
      // A timeline of the receiver's inboxes: when each went out and when its consumption was reported.
      const t0 = performance.now();
      const deliver = h1.deliver.bind(h1);
      h1.deliver = (kernel, inbox) => {
        console.error(
          `${(performance.now() - t0).toFixed(1)} deliver ${inbox.count} pending ${delivery.router.pendingFor(0)}`,
        );
        return deliver(kernel, inbox);
      };
      h1.onLoopMessages((batch) => {
        if (batch.inboxSteps.length > 0)
          console.error(
            `${(performance.now() - t0).toFixed(1)} consumed ${batch.inboxSteps.join(',')} next ${batch.nextStep}`,
          );
      });
      h0.onLoopMessages((batch) => {
        console.error(
          `${(performance.now() - t0).toFixed(1)} sent ${batch.steps.length} steps, pending ${delivery.router.pendingFor(0)}`,
        );
      });
    }
    await receiver.startLoop(0, (event) => {
      if (event.kind === 'progress') steps.receiver = event.step;
    });
    await sender.startLoop(0, (event) => {
      if (event.kind === 'progress') steps.sender = event.step;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = { at: performance.now(), ...delivery.router.snapshot().totals, ...steps };
    const cpu = process.cpuUsage();
    const hostCpu = childCpuMs();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = { at: performance.now(), ...delivery.router.snapshot().totals, ...steps };
    const used = process.cpuUsage(cpu);
    const hostCpuAfter = childCpuMs();
    const s = (after.at - before.at) / 1000;
    await sender.stopLoop();
    await receiver.stopLoop();
    const result = {
      batch,
      seconds: s,
      deliveredPerSecond: Math.round((after.delivered - before.delivered) / s),
      submittedPerSecond: Math.round((after.submitted - before.submitted) / s),
      refusedPerSecond: Math.round((after.refused - before.refused) / s),
      senderStepsPerSecond: (after.sender - before.sender) / s,
      receiverStepsPerSecond: (after.receiver - before.receiver) / s,
      serverCpuPercent: Math.round(((used.user + used.system) / 1000 / (after.at - before.at)) * 100),
      // CPU per delivered message: the server's, and each host process's (sender and receiver, by pid).
      serverCpuUsPerMessage: ((used.user + used.system) / (after.delivered - before.delivered)).toFixed(3),
      serverCpuUsPerSubmitted: ((used.user + used.system) / (after.submitted - before.submitted)).toFixed(3),
      hostCpuMsPerSecond: [...hostCpuAfter].map(([pid, ms]) => Math.round((ms - (hostCpu.get(pid) ?? 0)) / s)),
      hostCpuUsPerSubmitted: [...hostCpuAfter].map(([pid, ms]) =>
        (((ms - (hostCpu.get(pid) ?? 0)) * 1000) / (after.submitted - before.submitted)).toFixed(3),
      ),
      totals: delivery.router.snapshot().totals,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    delivery.dispose();
    for (const host of hosts) host.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
