// Runs an external compiler with a deadline and a cancel switch, and never waits on a process that
// will not end: on timeout or abort its whole process group is killed (a shell script that runs
// `sleep` would otherwise keep the pipes open after the shell itself is gone).
import { spawn } from 'node:child_process';
import { errorMessage } from '../logger';

export type ProcessOutcome =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }
  | { kind: 'timeout'; ms: number; stdout: string; stderr: string }
  | { kind: 'aborted'; ms: number }
  | { kind: 'failed'; error: string; ms: number };

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Output kept per stream; a compiler reporting 10,000 errors writes about a megabyte. */
  maxOutputBytes?: number | undefined;
}

const DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024;

export function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<ProcessOutcome> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  if (options.signal?.aborted) return Promise.resolve({ kind: 'aborted', ms: 0 });
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;

  return new Promise<ProcessOutcome>((resolve) => {
    let settled = false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, [...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a timeout can kill everything it started.
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
    } catch (error) {
      resolve({ kind: 'failed', error: errorMessage(error), ms: elapsed() });
      return;
    }

    const killTree = (): void => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
    };

    const finish = (outcome: ProcessOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };

    const onAbort = (): void => {
      killTree();
      finish({ kind: 'aborted', ms: elapsed() });
    };
    const timer = setTimeout(() => {
      killTree();
      finish({ kind: 'timeout', ms: elapsed(), stdout: text(stdout), stderr: text(stderr) });
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdoutBytes < maxOutput) stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderrBytes < maxOutput) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    child.on('error', (error) => finish({ kind: 'failed', error: error.message, ms: elapsed() }));
    // 'close' waits for the pipes, so output is complete; the timer covers a grandchild holding them.
    child.on('close', (code, signal) =>
      finish({ kind: 'exited', code, signal, stdout: text(stdout), stderr: text(stderr), ms: elapsed() }),
    );
  });
}
