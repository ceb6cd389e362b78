// Runs the probe child (dist/probe.js) and collects its reports, with a time limit: a driver that
// hangs makes its backend "unavailable (probe timed out)", never a hung server.
import { fork } from 'node:child_process';
import type { BackendName, BackendReport } from '../backends/backendReport';
import { bundlePath } from '../paths';
import type { ProbeResult } from './probeMessage';
import type { TopologyProbes } from './probeRecords';
import { errorMessage } from '../logger';

/** What the probe child found: every backend, and the topology facts about their devices. */
export interface MachineProbe {
  reports: BackendReport[];
  topology: TopologyProbes;
}

export interface ProbeOptions {
  /** Give up after this many milliseconds (default 30 s: a cold Vulkan driver can take seconds). */
  timeoutMs?: number;
  /** Receives the child's own output lines (driver warnings), for the log. */
  onOutput?: (line: string) => void;
  /** The probe bundle to run; defaults to dist/probe.js of this installation. */
  probeScript?: string;
}

const ALL_BACKENDS: BackendName[] = ['webgpu', 'cuda'];

function unavailableEverywhere(reason: string): BackendReport[] {
  return ALL_BACKENDS.map((backend) => ({ backend, available: false, reason, devices: [], probeMs: 0 }));
}

function failedProbe(reports: BackendReport[]): MachineProbe {
  return {
    reports,
    topology: {
      devices: [],
      unavailable: reports.map((r) => ({ probe: r.backend, reason: r.reason ?? 'the device probe failed' })),
    },
  };
}

export function probeBackends(options: ProbeOptions = {}): Promise<BackendReport[]> {
  return probeMachine(options).then((probe) => probe.reports);
}

/** Runs the probe child: the backends' reports and the topology probes, never a rejection. */
export function probeMachine(options: ProbeOptions = {}): Promise<MachineProbe> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let script: string;
  try {
    script = options.probeScript ?? bundlePath('probe.js');
  } catch (error) {
    return Promise.resolve(failedProbe(unavailableEverywhere(errorMessage(error))));
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (probe: MachineProbe | BackendReport[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      resolve(Array.isArray(probe) ? failedProbe(probe) : probe);
    };
    const child = fork(script, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.trim()) options.onOutput?.(line);
      });
    }
    const timer = setTimeout(() => {
      finish(
        unavailableEverywhere(
          `the device probe did not answer within ${timeoutMs} ms (a GPU driver may be hanging); ` +
            'run `ringkernel devices` in a terminal to see where it stops',
        ),
      );
    }, timeoutMs);
    child.on('message', (message: ProbeResult) => {
      if (message.kind === 'probe-result') finish({ reports: message.reports, topology: message.topology });
    });
    child.on('error', (error) => finish(unavailableEverywhere(`the device probe could not start: ${error.message}`)));
    child.on('exit', (code, signal) => {
      finish(
        unavailableEverywhere(
          `the device probe exited (${signal ?? `code ${code}`}) before reporting; ` +
            'a GPU driver crashed while being queried: run `ringkernel devices` in a terminal to see its output',
        ),
      );
    });
  });
}
