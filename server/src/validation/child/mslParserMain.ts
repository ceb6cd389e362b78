// Entry of the Metal parser's worker thread (dist/mslParser.js): tree-sitter's WebAssembly parses
// here, away from the language server's thread. A fault of its instance (a RuntimeError, or a later
// asynchronous error of a dead instance) ends this thread; a hang is ended by the server, which
// terminates the thread (WebAssembly stops at once; unlike Dawn's native calls it is safe to).
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../logger';
import { cppParser } from '../msl/cppParser';
import type { MslParseReply, MslParserRequest, MslParserWorkerData } from '../msl/mslParserProtocol';
import { validateMslInThisThread } from '../msl/mslValidator';

const port = parentPort;
if (!port) {
  process.stderr.write('mslParser.js is a worker thread of the RingKernel language server\n');
  process.exit(2);
}
const cancel = new Int32Array((workerData as MslParserWorkerData).cancel);

port.on('message', (request: MslParserRequest) => {
  if (request.kind === 'warmUp') {
    // A parser that cannot load says so with the first file.
    void cppParser().catch(() => undefined);
    return;
  }
  const { id } = request;
  // The server's AbortSignal, seen through the shared word.
  const signal = {
    get aborted(): boolean {
      return Atomics.load(cancel, 0) === id;
    },
  } as AbortSignal;
  validateMslInThisThread(request.text, {
    parseBudgetMs: request.parseBudgetMs,
    unlimited: request.unlimited,
    signal,
  }).then(
    (result) => port.postMessage({ id, ok: true, result } satisfies MslParseReply),
    (error: unknown) => {
      const name = error instanceof Error ? error.name : 'Error';
      port.postMessage({ id, ok: false, error: `${name}: ${errorMessage(error)}` } satisfies MslParseReply);
    },
  );
});
