// `node out/bench/report.js RESULTS.json... [--into FILE]`: the bench's JSON documents as
// Markdown tables on stdout, or written between the bench markers of FILE (docs/gpu-results.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { formatTable, parseBenchJson, replaceGenerated } from './reportFormat';

function main(argv: string[]): void {
  const files: string[] = [];
  let into: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--into') into = argv[++i];
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}; use RESULTS.json... [--into FILE]`);
    else files.push(arg);
  }
  if (files.length === 0)
    throw new Error('name one or more JSON files written by `npm run bench -- --json` (or out/bench/results.json)');
  const tables = formatTable(files.map((file) => parseBenchJson(readFileSync(file, 'utf8'), file)));
  if (into === undefined) {
    process.stdout.write(tables);
    return;
  }
  writeFileSync(into, replaceGenerated(readFileSync(into, 'utf8'), tables));
  process.stderr.write(`report: wrote the tables of ${files.length} run(s) into ${into}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`report: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
