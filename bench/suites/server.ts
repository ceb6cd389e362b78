// server: the language server from its start to ready, and the memory it holds then, with 0, 1
// and 16 kernels in the workspace's manifest (each 4,096 words at 30 steps/s, as a typical
// manifest's). Ours: spawn `ringkernel-language-server --stdio`, initialize (trusted, kernels
// start on their own), and poll until ready: with kernels, every one running and past its first
// step (ringkernel/kernels); without, the device probe done (ringkernel/serverInfo). Memory: the
// resident set (VmRSS) of the server and every process below it (device hosts, Tint host) at
// that moment, in all, of the server process alone, and per device host. Raw: one Node process
// (bench/rawChild.ts start) that opens the backend, creates the same kernels and steps each once;
// its start to "ready", and its VmRSS; for the server process alone, a bare Node process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { probeBackends } from '../../server/src/probe/machineProbe';
import type { BackendName } from '../../server/src/backends/backendReport';
import { kernelsRequest, serverInfoRequest } from '../../server/src/lsp/protocol';
import { benchKernel, kernelCode } from '../kernels';
import { LspSession } from '../lspSession';
import { tidy, type BenchContext } from '../method';
import { RawChild, rawChildScript } from '../raw';
import { withDeadline } from './backend';

const SUITE = 'server';
const READY_DEADLINE_MS = 180_000;
const POLL_MS = 5;

interface ProcessMemory {
  pid: number;
  command: string;
  rssMiB: number;
}

/** VmRSS of `pid` and of every process below it (Linux /proc); empty elsewhere. */
export function processTreeMemory(root: number): ProcessMemory[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const parentOf = new Map<number, number>();
  for (const name of entries) {
    try {
      // The command may hold spaces and parentheses: the fields after its last ')' are fixed.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(fields[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parentOf)
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
  }
  const memory: ProcessMemory[] = [];
  for (const pid of tree) {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((part) => part.split('/').pop())
        .join(' ');
      if (rss !== undefined) memory.push({ pid, command, rssMiB: Number(rss) / 1024 });
    } catch {
      // Gone meanwhile.
    }
  }
  return memory;
}

/** A workspace whose manifest runs `count` kernels on `backend` (none: no manifest at all). */
function workspace(backend: BackendName, count: number): { folder: string; dispose(): void } {
  const folder = mkdtempSync(join(tmpdir(), 'ringkernel-bench-server-'));
  if (count > 0) {
    const kernel = benchKernel(backend, 4096);
    const file = `bench.${kernel.source.language}`;
    writeFileSync(join(folder, file), kernelCode(backend));
    const kernels = Array.from({ length: count }, (_, i) => ({
      id: `k${i}`,
      source: file,
      entryPoint: 'step',
      backend,
      stateBytes: kernel.words * 4,
      grid: kernel.grid,
      ...(backend === 'cuda' ? { block: kernel.block } : {}),
      rateHz: 30,
    }));
    writeFileSync(join(folder, 'ringkernel.json'), JSON.stringify({ version: 1, kernels }, null, 2));
  }
  return { folder, dispose: () => rmSync(folder, { recursive: true, force: true }) };
}

interface StartSample {
  readyMs: number;
  memory: ProcessMemory[];
}

async function pollUntil(what: () => string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + READY_DEADLINE_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what()}: not ready within ${READY_DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function startServer(backend: BackendName, count: number): Promise<StartSample> {
  const space = workspace(backend, count);
  const started = performance.now();
  const session = LspSession.spawn();
  try {
    await session.initialize(pathToFileURL(space.folder).href);
    let last = '';
    await pollUntil(
      () => `the server with ${count} ${backend} kernel(s) (last seen: ${last || 'nothing'})`,
      async () => {
        if (count === 0) return !(await session.connection.sendRequest(serverInfoRequest)).probing;
        const info = await session.connection.sendRequest(kernelsRequest);
        last = info.kernels.map((k) => `${k.id} ${k.state} step ${k.step}${k.error ? ` (${k.error})` : ''}`).join(', ');
        const failed = info.kernels.find((k) => k.state === 'failed');
        if (failed) throw new Error(`kernel ${failed.id} failed to start: ${failed.error ?? 'no reason given'}`);
        return info.kernels.length === count && info.kernels.every((k) => k.state === 'running' && k.step >= 1);
      },
    );
    const readyMs = performance.now() - started;
    return { readyMs, memory: processTreeMemory(session.pid) };
  } finally {
    await session.close();
    space.dispose();
  }
}

async function startRaw(backend: BackendName, count: number): Promise<StartSample> {
  const started = performance.now();
  const child = spawn(process.execPath, [rawChildScript(), 'start', backend, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let errors = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      errors += chunk;
    });
    const ready = new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      // Dawn may print its own lines: only a line that says "ready" counts.
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (/^ready$/m.test(out)) resolve();
      });
      child.on('exit', (code, signal) =>
        reject(new Error(`the raw start process exited (${signal ?? `code ${code}`}): ${errors.trim()}`)),
      );
    });
    await withDeadline(ready, READY_DEADLINE_MS, `raw start of ${count} ${backend} kernel(s)`);
    const readyMs = performance.now() - started;
    if (child.pid === undefined) throw new Error('the raw start process has no pid');
    return { readyMs, memory: processTreeMemory(child.pid) };
  } finally {
    child.kill('SIGKILL');
  }
}

const totalMiB = (memory: ProcessMemory[]): number => memory.reduce((sum, p) => sum + p.rssMiB, 0);

/** The server process itself in a tree measured by processTreeMemory. */
const serverOf = (memory: ProcessMemory[]): ProcessMemory | undefined =>
  memory.find((p) => p.command.includes('ringkernel-language-server'));
const hostsOf = (memory: ProcessMemory[]): ProcessMemory[] => memory.filter((p) => p.command.includes('deviceHost.js'));
const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

/** VmRSS of a bare Node process (the raw child's echo mode: Node and its IPC channel, nothing loaded). */
async function bareNodeMiB(): Promise<number> {
  const child = RawChild.start('echo');
  try {
    // Answering proves it has started and settled; then its memory is read.
    await withDeadline(child.ask('echo', null), READY_DEADLINE_MS, 'a bare Node process');
    const memory = processTreeMemory(child.pid);
    if (memory.length === 0) throw new Error('the bare Node process has no readable memory (/proc)');
    return totalMiB(memory);
  } finally {
    child.dispose();
  }
}

export async function serverSuite(bench: BenchContext): Promise<void> {
  const reports = await probeBackends({});
  const cases: { backend: BackendName; count: number }[] = [{ backend: 'webgpu', count: 0 }];
  for (const backend of ['webgpu', 'cuda'] as const) {
    const report = reports.find((r) => r.backend === backend);
    if (!report?.available) {
      bench.skip(
        SUITE,
        `start → ready with ${backend} kernels`,
        `${backend} is unavailable here: ${report?.reason ?? 'not probed'}`,
      );
      continue;
    }
    // 16 with --quick too: the figure issue 16 asks for (4 hosts of 4 kernels each by default).
    cases.push({ backend, count: 1 }, { backend, count: 16 });
  }
  for (const { backend, count } of cases) {
    const what =
      count === 0
        ? 'no kernels'
        : `${count} ${backend === 'webgpu' ? 'WebGPU' : 'CUDA'} kernel${count === 1 ? '' : 's'}`;
    const ready = `start → ready, ${what}`;
    const memory = `memory at ready (all processes), ${what}`;
    const serverMemory = `memory at ready, server process, ${what}`;
    const hostMemory = `memory at ready, per device host (mean), ${what}`;
    let last: { ours?: ProcessMemory[]; raw?: ProcessMemory[] } = {};
    await bench.pair({
      suite: SUITE,
      figures: [
        { name: ready, unit: 'ms' },
        { name: memory, unit: 'MiB' },
        { name: serverMemory, unit: 'MiB' },
        // Without kernels there is no device host to weigh.
        ...(count > 0 ? [{ name: hostMemory, unit: 'MiB' as const }] : []),
      ],
      ours: async () => {
        const sample = await startServer(backend, count);
        last = { ...last, ours: sample.memory };
        const server = serverOf(sample.memory);
        if (!server) throw new Error('the language server process was not among the processes measured');
        const hosts = hostsOf(sample.memory);
        if (count > 0 && hosts.length === 0) throw new Error(`${what} are running, but no device host was found`);
        return {
          [ready]: [sample.readyMs],
          [memory]: [totalMiB(sample.memory)],
          [serverMemory]: [server.rssMiB],
          ...(count > 0 ? { [hostMemory]: [mean(hosts.map((p) => p.rssMiB))] } : {}),
        };
      },
      raw: async () => {
        const sample = await startRaw(backend, count);
        last = { ...last, raw: sample.memory };
        const rawMiB = totalMiB(sample.memory);
        return {
          [ready]: [sample.readyMs],
          [memory]: [rawMiB],
          [serverMemory]: [await bareNodeMiB()],
          ...(count > 0 ? { [hostMemory]: [rawMiB] } : {}),
        };
      },
      detail: () => {
        const ours = last.ours ?? [];
        const hosts = hostsOf(ours);
        const server = serverOf(ours);
        return {
          note: 'the last measured round; RSS counts shared pages (the Dawn library) once per process',
          oursServerMiB: server ? tidy(server.rssMiB) : null,
          oursDeviceHosts: hosts.length,
          oursPerDeviceHostMiB: hosts.map((p) => tidy(p.rssMiB)),
          oursOtherProcesses: ours
            .filter((p) => p !== server && !hosts.includes(p))
            .map((p) => `${p.command.slice(0, 80)}: ${tidy(p.rssMiB)} MiB`),
          rawMiB: tidy(totalMiB(last.raw ?? [])),
          rawBackend: backend,
        };
      },
    });
  }
}
