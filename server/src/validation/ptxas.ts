// Finding and running NVIDIA's PTX assembler. Order: the explicit setting
// (`ringkernel.ptxas.path`), then CUDA_HOME/bin and CUDA_PATH/bin, then PATH. Its diagnostics carry
// `ptxas <release>` as their source, read once from `ptxas --version`.
import { constants, accessSync, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ptxasLogToDiagnostics } from './ptxasLog';
import { runProcess } from './processRunner';
import type { Diagnostic } from './diagnostic';
import { errorMessage } from '../logger';

export type PtxasOrigin = 'setting' | 'CUDA_HOME' | 'CUDA_PATH' | 'PATH';

export interface PtxasTool {
  path: string;
  origin: PtxasOrigin;
  /** `ptxas 13.0`, or `ptxas` when the version could not be read. */
  source: string;
  /** The CUDA release, `13.0`. */
  release?: string;
  /** The `-arch` values this ptxas accepts (from `--help`); empty when unknown. */
  arches: string[];
}

/**
 * `explicit` is set when the path given explicitly (the setting, `--ptxas`) does not work: then
 * nothing else is tried, because quietly using another ptxas would hide the mistake.
 */
export type PtxasLookup =
  | { found: true; tool: PtxasTool; notes: string[] }
  | { found: false; reason: string; notes: string[]; explicit?: { path: string; problem: string } };

export interface PtxasLookupOptions {
  explicitPath?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Limit for `ptxas --version` and `--help`. */
  timeoutMs?: number | undefined;
}

const exe = process.platform === 'win32' ? 'ptxas.exe' : 'ptxas';

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function candidates(options: PtxasLookupOptions): { path: string; origin: PtxasOrigin }[] {
  const env = options.env ?? process.env;
  const list: { path: string; origin: PtxasOrigin }[] = [];
  if (options.explicitPath !== undefined && options.explicitPath.trim() !== '')
    list.push({ path: options.explicitPath.trim(), origin: 'setting' });
  if (env.CUDA_HOME) list.push({ path: join(env.CUDA_HOME, 'bin', exe), origin: 'CUDA_HOME' });
  if (env.CUDA_PATH) list.push({ path: join(env.CUDA_PATH, 'bin', exe), origin: 'CUDA_PATH' });
  for (const dir of (env.PATH ?? '').split(delimiter))
    if (dir !== '') list.push({ path: join(dir, exe), origin: 'PATH' });
  return list;
}

interface Identity {
  release?: string;
  arches: string[];
  /** Why `--version` did not answer (missing when it did). */
  problem?: string;
}
/** Keyed by path and modification time, so an upgraded toolkit is read again. */
const identities = new Map<string, Promise<Identity>>();

async function identify(path: string, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Identity> {
  let mtime = 0;
  try {
    mtime = statSync(path).mtimeMs;
  } catch {
    // Checked by the caller; a race only costs a re-read.
  }
  const key = `${path}\0${mtime}`;
  let identity = identities.get(key);
  if (!identity) {
    identity = (async (): Promise<Identity> => {
      const version = await runProcess(path, ['--version'], { timeoutMs, env });
      if (version.kind !== 'exited' || version.code !== 0) {
        identities.delete(key);
        const problem =
          version.kind === 'exited'
            ? `\`${path} --version\` exited with ${version.code ?? version.signal ?? 'nothing'}${(version.stderr + version.stdout).trim() !== '' ? `: ${(version.stderr + version.stdout).trim().slice(0, 200)}` : ''}`
            : version.kind === 'timeout'
              ? `\`${path} --version\` did not answer within ${timeoutMs} ms`
              : `${path} could not be started: ${version.kind === 'failed' ? version.error : version.kind}`;
        return { arches: [], problem };
      }
      const release = /release (\d+\.\d+)/.exec(version.stdout + version.stderr)?.[1];
      const help = await runProcess(path, ['--help'], { timeoutMs, env });
      const arches = help.kind === 'exited' ? parseAllowedArches(help.stdout + help.stderr) : [];
      return release !== undefined ? { release, arches } : { arches };
    })();
    identities.set(key, identity);
  }
  return identity;
}

/** The `Allowed values` list of `--gpu-name` in `ptxas --help`. */
export function parseAllowedArches(help: string): string[] {
  const at = help.indexOf('--gpu-name');
  if (at < 0) return [];
  const section = help.slice(at, at + 4000);
  const allowed = /Allowed values for this option:([\s\S]*?)(?:Default value|\n\s*\n)/.exec(section)?.[1] ?? '';
  return [...allowed.matchAll(/'(sm_\w+)'/g)].map((m) => m[1] ?? '').filter((arch) => arch !== '');
}

export async function findPtxas(options: PtxasLookupOptions = {}): Promise<PtxasLookup> {
  const notes: string[] = [];
  const tried: string[] = [];
  for (const candidate of candidates(options)) {
    if (!isExecutable(candidate.path)) {
      if (candidate.origin === 'setting') {
        const problem = existsSync(candidate.path) ? 'is not an executable file' : 'does not exist';
        return {
          found: false,
          reason: `the ptxas given explicitly (${candidate.path}) ${problem}`,
          notes,
          explicit: { path: candidate.path, problem },
        };
      }
      if (candidate.origin !== 'PATH') {
        notes.push(`ptxas from ${candidate.origin} (${candidate.path}) is missing or not executable`);
        tried.push(`${candidate.origin}: ${candidate.path}`);
      }
      continue;
    }
    const identity = await identify(candidate.path, options.timeoutMs ?? 5000, options.env ?? process.env);
    if (identity.problem !== undefined) {
      if (candidate.origin === 'setting') {
        return {
          found: false,
          reason: `the ptxas given explicitly (${candidate.path}) does not work: ${identity.problem}`,
          notes,
          explicit: { path: candidate.path, problem: `does not work: ${identity.problem}` },
        };
      }
      notes.push(`${identity.problem}; using it anyway`);
    }
    const tool: PtxasTool = {
      path: candidate.path,
      origin: candidate.origin,
      source: identity.release !== undefined ? `ptxas ${identity.release}` : 'ptxas',
      arches: identity.arches,
    };
    if (identity.release !== undefined) tool.release = identity.release;
    else if (identity.problem === undefined)
      notes.push(`${candidate.path} --version named no release; using it anyway`);
    return { found: true, tool, notes };
  }
  tried.push('PATH');
  return {
    found: false,
    reason: `ptxas not found (tried ${tried.join(', ')}). Install the CUDA toolkit, or set ringkernel.ptxas.path or CUDA_HOME`,
    notes,
  };
}

/**
 * The `-arch` for a module: the requested device arch when given, else the module's `.target`
 * when this ptxas accepts it; else nothing (ptxas's default, which is at least every target it can
 * still assemble for: PTX for sm_XY assembles for any sm_MN with MN >= XY).
 */
export function chooseArch(target: string | undefined, tool: PtxasTool, deviceArch?: string): string | undefined {
  if (deviceArch !== undefined) return deviceArch;
  if (target === undefined) return undefined;
  const sm = target.replace(/^compute_/, 'sm_');
  if (tool.arches.length === 0 || tool.arches.includes(sm)) return sm;
  const number = Number(/^sm_(\d+)/.exec(sm)?.[1] ?? NaN);
  if (Number.isFinite(number)) {
    // An old target: the oldest arch this ptxas knows is newer, and accepts it.
    const newer = tool.arches
      .map((arch) => ({ arch, n: Number(/^sm_(\d+)$/.exec(arch)?.[1] ?? NaN) }))
      .filter((a) => Number.isFinite(a.n) && a.n >= number)
      .sort((a, b) => a.n - b.n)[0];
    if (newer) return newer.arch;
  }
  return undefined;
}

export interface PtxasRunOptions {
  /** The `.target` of the module, e.g. `sm_90`. */
  target?: string | undefined;
  /** Assemble for this arch instead (a device's `sm_XY`). */
  deviceArch?: string | undefined;
  /** The deadline; by default ptxasDeadlineMs of the text's size. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** The user's name for the file, put in place of the temporary file's path in every message. */
  displayName?: string | undefined;
}

export type PtxasRun =
  | { kind: 'ran'; diagnostics: Diagnostic[]; arch: string | undefined; ms: number; exitCode: number | null }
  | { kind: 'skipped'; reason: string };

/** The deadline for a small file. */
export const DEFAULT_PTXAS_TIMEOUT_MS = 10_000;
/** Per this many characters the deadline grows by its base again. */
const DEADLINE_STEP_CHARACTERS = 512 * 1024;

/**
 * How long ptxas may take on a file: the base for a small one, and as much again per 512 K
 * characters. Measured: 1.2 MB takes 5.5 s on an idle 2-core machine and up to 12 s on a loaded
 * one, so a fixed 10 s made a big file's result depend on the machine's load; this gives it 33 s.
 */
export function ptxasDeadlineMs(characters: number, baseMs = DEFAULT_PTXAS_TIMEOUT_MS): number {
  return Math.round(baseMs * (1 + Math.max(0, characters) / DEADLINE_STEP_CHARACTERS));
}

/** Replaces every mention of the temporary input (absolute, or as ptxas shortens it) by the user's name for it. */
function mapTemporaryPath(log: string, input: string, displayName: string): string {
  return log.split(input).join(displayName);
}

/** Assembles `text` with ptxas (output discarded) and turns its log into diagnostics. */
export async function runPtxas(tool: PtxasTool, text: string, options: PtxasRunOptions = {}): Promise<PtxasRun> {
  const timeoutMs = options.timeoutMs ?? ptxasDeadlineMs(text.length);
  const arch = chooseArch(options.target, tool, options.deviceArch);
  const displayName = options.displayName ?? 'the PTX file';
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'ringkernel-ptxas-'));
    const input = join(dir, 'input.ptx');
    await writeFile(input, text, 'utf8');
    const args = [
      ...(arch !== undefined ? [`-arch=${arch}`] : []),
      input,
      '-o',
      process.platform === 'win32' ? 'NUL' : '/dev/null',
    ];
    const outcome = await runProcess(tool.path, args, { timeoutMs, cwd: dir, signal: options.signal });
    if (outcome.kind === 'aborted')
      return { kind: 'skipped', reason: 'cancelled: a newer version of the file is being validated' };
    if (outcome.kind === 'timeout') {
      return {
        kind: 'skipped',
        reason: `${tool.path} did not finish within ${timeoutMs} ms on ${displayName} (${text.length} characters) and was killed`,
      };
    }
    if (outcome.kind === 'failed')
      return { kind: 'skipped', reason: `${tool.path} could not be started: ${outcome.error}` };
    const log = mapTemporaryPath(outcome.stderr + outcome.stdout, input, displayName);
    if (/Input file .* could not be opened/.test(log)) {
      return { kind: 'skipped', reason: `ptxas could not read its temporary copy of ${displayName}: ${log.trim()}` };
    }
    const diagnostics = ptxasLogToDiagnostics(log, text, tool.source);
    if (outcome.code !== 0 && diagnostics.length === 0) {
      return {
        kind: 'skipped',
        reason: `${tool.path} exited with ${outcome.code ?? outcome.signal ?? 'nothing'} and no message we could read: ${log.trim().slice(0, 500)}`,
      };
    }
    return { kind: 'ran', diagnostics, arch, ms: outcome.ms, exitCode: outcome.code };
  } catch (error) {
    return { kind: 'skipped', reason: `ptxas could not run: ${errorMessage(error)}` };
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
