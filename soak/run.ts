// `npm run soak -- --minutes N [--json] [--seed S]`, or `node out/soak/run.js ...` from a built tree
// (the GPU machine has no npm). The real language server runs the soak's workspace (the examples'
// heat and ring kernels on every device present) while the soak reloads, migrates, validates and
// kills device hosts (soak/soakRun.ts says what and how often). Progress goes to stderr; with
// --json, stdout is one JSON document. Exit code 1 when a message or a kernel was lost, a killed
// host's kernels did not come back, or memory grew after the warm-up past the stated bound.
import { execFileSync } from 'node:child_process';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../server/src/logger';
import { extensionRoot } from '../server/src/paths';
import { probeBackends } from '../server/src/probe/machineProbe';
import { minuteLine, runSoak, type SoakResult } from './soakRun';
import { createSoakWorkspace, type SoakDevices } from './soakWorkspace';

interface Args {
  minutes: number;
  json: boolean;
  seed: number;
}

class UsageError extends Error {}

const USAGE = 'usage: npm run soak -- --minutes N [--json] [--seed S]   (or node out/soak/run.js ...)';

function parseArgs(argv: string[]): Args {
  const args: Args = { minutes: 2, json: false, seed: (Date.now() ^ (process.pid << 8)) >>> 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--json') args.json = true;
    else if (arg === '--minutes') {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0)
        throw new UsageError(`--minutes needs a number of minutes above 0, not ${value ?? 'nothing'}`);
      args.minutes = n;
      i++;
    } else if (arg === '--seed') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
        throw new UsageError(`--seed needs a whole number from 0 to 4294967295, not ${value ?? 'nothing'}`);
      args.seed = n;
      i++;
    } else if (arg === '--help' || arg === '-h') throw new UsageError(USAGE);
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
  }
  return args;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: extensionRoot(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined; // a copied tree without .git
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const progress = (line: string): void => void process.stderr.write(`${line}\n`);
  progress(`soak: seed ${args.seed} (--seed ${args.seed} repeats its choices), ${args.minutes} min`);
  const reports = await probeBackends({});
  const webgpu = reports.find((r) => r.backend === 'webgpu');
  const cuda = reports.find((r) => r.backend === 'cuda');
  const devices: SoakDevices = {
    webgpu: webgpu?.available ? 2 : 0,
    cuda: cuda?.available ? cuda.devices.length : 0,
  };
  for (const r of reports)
    progress(
      `soak: ${r.backend}: ${r.available ? r.devices.map((d) => d.name).join(', ') : `unavailable (${r.reason ?? 'no reason given'})`}`,
    );
  const workspace = createSoakWorkspace(join(extensionRoot(), 'examples'), devices);
  const result = await runSoak(workspace, { minutes: args.minutes, seed: args.seed, progress });
  const document = {
    command: `soak --minutes ${args.minutes} --seed ${args.seed}${args.json ? ' --json' : ''}`,
    machine: {
      hostname: hostname(),
      os: `${process.platform} ${release()}`,
      cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      commit: gitCommit(),
      date: new Date().toISOString(),
      backends: reports.map((r) => ({
        backend: r.backend,
        available: r.available,
        devices: r.devices.map((d) => d.name),
        reason: r.reason,
      })),
    },
    seed: args.seed,
    minutesAsked: args.minutes,
    ...result,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else process.stdout.write(summary(result));
  progress(`soak: ${result.ok ? 'passed' : `FAILED: ${result.reasons.join('; ')}`}`);
  return result.ok ? 0 : 1;
}

function summary(result: SoakResult): string {
  const t = result.totals;
  const lines = result.minutes.map(minuteLine);
  const mem = result.memory.server;
  lines.push(
    `totals: saves ${t.reloadSaves} (${Object.entries(t.reloadOutcomes)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}), migrations ${t.migrations} (+${t.migrationsFailed} not), validations ${t.validations}, ` +
      `hosts killed ${t.hostsKilled}, survived ${t.faultsSurvived}, steps re-run ${t.stepsRerun}, messages sent ${t.messagesSent}, delivered ${t.messagesDelivered}, ` +
      `lost ${t.messagesLost} (with host ${t.lostWithHost}, router failed ${t.routerFailed}), kernels lost ${t.kernelsLost}`,
    mem
      ? `server memory after warm-up: ${mem.minMiB.toFixed(0)}-${mem.maxMiB.toFixed(0)} MiB, slope ${mem.slopeMiBPerMinute.toFixed(2)} MiB/min (bound ${result.memory.bound.maxSlopeMiBPerMinute} MiB/min beyond ${result.memory.bound.noiseMiB} MiB)`
      : 'server memory after warm-up: no samples (the run is not longer than the warm-up)',
    result.ok ? 'passed' : `FAILED: ${result.reasons.join('; ')}`,
  );
  return `${lines.join('\n')}\n`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof UsageError ? error.message : `soak failed: ${errorMessage(error)}`}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
