// The raw side's own processes (bench/raw.ts says what each one stands for):
//   rawChild.js echo              answers every IPC request at once with its arguments
//   rawChild.js compiler          runs the validator's compiler in-process, timing only that call
//   rawChild.js start BACKEND N   opens BACKEND, creates and steps N kernels, prints "ready"
import type { BackendName } from '../server/src/backends/backendReport';
import { errorMessage } from '../server/src/logger';
import { benchKernel } from './kernels';
import { rawCompiler, rawStart, type RawChildReply, type RawChildRequest, type ValidatedLanguage } from './raw';

function answer(reply: RawChildReply): void {
  process.send?.(reply);
}

function serveEcho(): void {
  process.on('message', (request: RawChildRequest) => answer({ id: request.id, ok: true, result: request.args }));
}

function serveCompiler(): void {
  const compilers = new Map<ValidatedLanguage, ReturnType<typeof rawCompiler>>();
  process.on('message', (request: RawChildRequest) => {
    const { language, text } = request.args as { language: ValidatedLanguage; text: string };
    void (async () => {
      try {
        let compiler = compilers.get(language);
        if (!compiler) {
          compiler = rawCompiler(language);
          compilers.set(language, compiler);
        }
        const chosen = await compiler;
        const started = performance.now();
        await chosen.run(text);
        answer({ id: request.id, ok: true, result: { ms: performance.now() - started, compiler: chosen.name } });
      } catch (error) {
        answer({ id: request.id, ok: false, error: errorMessage(error) });
      }
    })();
  });
}

async function start(backend: string | undefined, count: string | undefined): Promise<void> {
  if (backend !== 'webgpu' && backend !== 'cuda')
    throw new Error(`start needs a backend (webgpu or cuda), not ${backend ?? 'nothing'}`);
  const n = Number(count);
  if (!Number.isInteger(n) || n < 0) throw new Error(`start needs a kernel count, not ${count ?? 'nothing'}`);
  const name: BackendName = backend;
  await rawStart(name, n, (i) => benchKernel(name, 4096, `k${i}`));
  process.stdout.write('ready\n');
  // Stays up, kernels held, until the bench has read its memory and kills it.
  setInterval(() => undefined, 60_000);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'echo') serveEcho();
else if (mode === 'compiler') serveCompiler();
else if (mode === 'start') {
  start(rest[0], rest[1]).catch((error: unknown) => {
    process.stderr.write(`raw start failed: ${errorMessage(error)}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write(`rawChild: unknown mode ${mode ?? '(none)'}; use echo, compiler or start BACKEND N\n`);
  process.exit(2);
}
