// `npm run bench -- [--json] [--quick] [--suite NAME]... [--rounds N] [--warmup N] [--out FILE]`
// Every figure is ours against raw, measured by bench/method.ts; bench/README.md says what each is.
// With --json, stdout is one JSON document ({ machine, results, skipped }); progress goes to
// stderr. The same document is written to out/bench/results.json (and to --out).
//
// The suites run in a worker process whose stdout is this process's stderr: Dawn and the Vulkan
// loader print to file descriptor 1 from native code (seen: "maxDynamicUniformBuffersPerPipeline-
// Layout artificially reduced"), which would corrupt the JSON. Only this process writes stdout.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { probeBackends } from '../server/src/probe/machineProbe';
import { errorMessage } from '../server/src/logger';
import { extensionRoot } from '../server/src/paths';
import { MIN_ROUNDS, measurePair, type BenchContext, type Figure, type MeasurePlan, type Skip } from './method';
import { formatTable } from './reportFormat';
import { backendSuite } from './suites/backend';
import { coordinatorSuite } from './suites/coordinator';
import { hotReloadSuite } from './suites/hotReload';
import { routerSuite } from './suites/router';
import { migrationSuite } from './suites/migration';
import { serverSuite } from './suites/server';
import { stateViewSuite } from './suites/stateView';
import { validationSuite } from './suites/validation';

const SUITES: Record<string, (bench: BenchContext) => Promise<void>> = {
  validation: validationSuite,
  webgpu: (bench) => backendSuite(bench, 'webgpu'),
  cuda: (bench) => backendSuite(bench, 'cuda'),
  hotReload: hotReloadSuite,
  server: serverSuite,
  coordinator: coordinatorSuite,
  stateView: stateViewSuite,
  router: routerSuite,
  migration: migrationSuite,
};

export interface BenchDocument {
  machine: Record<string, unknown>;
  results: Figure[];
  skipped: Skip[];
}

interface Args {
  json: boolean;
  suites: string[];
  plan: MeasurePlan;
  out: string | undefined;
}

/** A wrong command line: its message is all the user needs, no stack. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, suites: [], plan: { rounds: MIN_ROUNDS, warmup: 1, quick: false }, out: undefined };
  const count = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`${flag} needs a whole number from ${min}, not ${value ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--quick') args.plan.quick = true;
    else if (arg === '--suite') {
      const name = argv[++i];
      if (name === undefined || !(name in SUITES))
        throw new UsageError(`--suite needs one of ${Object.keys(SUITES).join(', ')}, not ${name ?? 'nothing'}`);
      args.suites.push(name);
    } else if (arg === '--rounds') args.plan.rounds = count('--rounds', argv[++i], MIN_ROUNDS);
    else if (arg === '--warmup') args.plan.warmup = count('--warmup', argv[++i], 0);
    else if (arg === '--out') args.out = argv[++i];
    else
      throw new UsageError(
        `unknown argument ${arg}; use --json, --quick, --suite NAME, --rounds N (at least ${MIN_ROUNDS}), --warmup N, --out FILE`,
      );
  }
  if (args.suites.length === 0) args.suites = Object.keys(SUITES);
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
    return undefined;
  }
}

async function machine(plan: MeasurePlan, suites: string[]): Promise<Record<string, unknown>> {
  const cpu = cpus();
  const backends = await probeBackends({});
  return {
    hostname: hostname(),
    os: `${process.platform} ${release()}`,
    cpu: { model: cpu[0]?.model ?? 'unknown', cores: cpu.length },
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.versions.node,
    date: new Date().toISOString(),
    commit: gitCommit(),
    backends: backends.map((b) => ({
      backend: b.backend,
      available: b.available,
      devices: b.devices.map((d) => `${d.name} [${d.detail}]`),
      ...(b.reason ? { reason: b.reason } : {}),
    })),
    plan: { ...plan, suites },
    ...(behaviourSwitches().length > 0 ? { switches: behaviourSwitches() } : {}),
  };
}

/**
 * The RINGKERNEL_TEST_* switches set for this run: they change what is measured (a test's path
 * forced), so the run's label names them (bench/reportFormat.ts).
 */
function behaviourSwitches(): string[] {
  return Object.entries(process.env)
    .filter(([name, value]) => name.startsWith('RINGKERNEL_TEST_') && name !== 'RINGKERNEL_TEST_GPU' && value)
    .map(([name, value]) => `${name}=${value ?? ''}`)
    .sort();
}

const WORKER_ENV = 'RINGKERNEL_BENCH_WORKER';

/** Runs the suites in a worker (see the top of this file) and prints what it sends back. */
async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const worker = fork(__filename, process.argv.slice(2), {
    stdio: ['ignore', 2, 2, 'ipc'],
    env: { ...process.env, [WORKER_ENV]: '1' },
    execArgv: [],
  });
  let document: BenchDocument | undefined;
  worker.on('message', (message: BenchDocument) => {
    document = message;
  });
  const code = await new Promise<number | null>((resolve) => worker.on('exit', (exitCode) => resolve(exitCode)));
  if (!document)
    throw new Error(`the bench's worker exited (code ${code ?? 'none'}) without results; its messages are above`);
  const json = `${JSON.stringify(document, null, 2)}\n`;
  for (const path of [join(__dirname, 'results.json'), ...(args.out ? [args.out] : [])]) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, json);
  }
  process.stdout.write(args.json ? json : formatTable([document]));
  if (code !== 0) process.exitCode = code ?? 1;
}

/** The worker: runs the suites, sends the document to the parent. */
async function work(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const progress = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };
  const document: BenchDocument = { machine: await machine(args.plan, args.suites), results: [], skipped: [] };
  const bench: BenchContext = {
    plan: args.plan,
    progress,
    async pair(spec) {
      document.results.push(...(await measurePair(spec, args.plan, progress)));
    },
    skip(suite, name, reason) {
      progress(`${suite}: ${name}: skipped: ${reason}`);
      document.skipped.push({ suite, name, skipped: reason });
    },
  };
  for (const suite of args.suites) {
    const run = SUITES[suite];
    if (!run) continue;
    try {
      await run(bench);
    } catch (error) {
      // One suite failing leaves the others' figures; the run still fails at the end.
      bench.skip(suite, '*', `the suite failed: ${errorMessage(error)}`);
      process.exitCode = 1;
    }
  }
  // Sent, then gone: Dawn devices left open must not keep the worker alive.
  await new Promise<void>((resolve, reject) =>
    process.send?.(document, (error: Error | null) => (error ? reject(error) : resolve())),
  );
  process.exit();
}

(process.env[WORKER_ENV] ? work() : main()).catch((error: unknown) => {
  const text =
    error instanceof UsageError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`bench failed: ${text}\n`);
  process.exitCode = 1;
});
