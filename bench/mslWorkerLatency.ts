// The Metal parser's worker thread against the same parse in the calling thread, on the example
// kernel: what moving the parse off the server's thread adds to a file's validation.
// Usage: node out/bench/mslWorkerLatency.js [ROUNDS]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extensionRoot } from '../server/src/paths';
import { validateMslInThisThread, validateMslWithParser } from '../server/src/validation/msl/mslValidator';
import { disposeSharedMslParser } from '../server/src/validation/msl/mslParserWorker';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 300);
  const text = readFileSync(join(extensionRoot(), 'examples', 'kernels', 'saxpy.metal'), 'utf8');
  const inThread: number[] = [];
  const inWorker: number[] = [];
  await validateMslInThisThread(text);
  await validateMslWithParser(text);
  for (let i = 0; i < rounds; i++) {
    // Interleaved, each with new text (nothing cached), so load on the machine hits both alike.
    const edited = `${text}\n// ${i}\n`;
    let started = performance.now();
    await validateMslInThisThread(edited);
    inThread.push(performance.now() - started);
    started = performance.now();
    await validateMslWithParser(edited);
    inWorker.push(performance.now() - started);
  }
  await disposeSharedMslParser();
  const pct = (values: number[], p: number): string =>
    (
      [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0
    ).toFixed(3);
  for (const [name, values] of [
    ['calling thread', inThread],
    ['worker thread', inWorker],
  ] as const)
    console.log(`${name}: p50 ${pct(values, 50)} ms, p95 ${pct(values, 95)} ms (${rounds} rounds, saxpy.metal)`);
}

void main();
