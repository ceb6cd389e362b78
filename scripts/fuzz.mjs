// Runs the fuzz tier (test/fuzz, built to out/test/fuzz) for a chosen time, seeded.
// Usage: npm run fuzz -- [--minutes N] [--seed S] [--only NAME] [--report FILE]
//   --minutes N  total time for all targets (default: RINGKERNEL_FUZZ_MS per target, else 8 s each)
//   --seed S     the seed every target starts from (default: a fresh one, printed)
//   --only NAME  only test/fuzz/NAME.fuzz.test.ts (validators, manifest, checkpoint, lspTransport, deviceHost)
//   --report F   append one JSON line per target (inputs, ms, seed) to F
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The targets' shares of the time, as test/fuzz gives them (fuzzRun's `share`): 10 targets, 8.5 shares. */
const SHARES = 8.5;

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};
const known = new Set(['--minutes', '--seed', '--only', '--report']);
for (let i = 0; i < args.length; i += 2) {
  if (!known.has(args[i]) || args[i + 1] === undefined) {
    console.error(
      `fuzz: unknown or incomplete option "${args[i]}"; usage: npm run fuzz -- [--minutes N] [--seed S] [--only NAME] [--report FILE]`,
    );
    process.exit(2);
  }
}
const env = { ...process.env };
const minutes = option('minutes');
if (minutes !== undefined) {
  const value = Number(minutes);
  if (!(value > 0)) {
    console.error(`fuzz: --minutes must be a positive number, got "${minutes}"`);
    process.exit(2);
  }
  env.RINGKERNEL_FUZZ_MS = String(Math.round((value * 60_000) / SHARES));
}
env.RINGKERNEL_FUZZ_SEED = option('seed') ?? env.RINGKERNEL_FUZZ_SEED ?? String(randomInt(2 ** 31));
if (option('report') !== undefined) env.RINGKERNEL_FUZZ_REPORT = option('report');

const folder = join('out', 'test', 'fuzz');
if (!existsSync(folder)) {
  console.error('fuzz: out/test/fuzz is missing; run npm run build first');
  process.exit(2);
}
const only = option('only');
const files = readdirSync(folder)
  .filter((name) => name.endsWith('.fuzz.test.js') && (only === undefined || name === `${only}.fuzz.test.js`))
  .map((name) => join(folder, name));
if (files.length === 0) {
  console.error(`fuzz: no target named "${only}" in ${folder}`);
  process.exit(2);
}
console.error(
  `fuzz: seed ${env.RINGKERNEL_FUZZ_SEED}, ${env.RINGKERNEL_FUZZ_MS ?? 8000} ms per target, ${files.length} file(s)`,
);
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
