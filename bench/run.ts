// `npm run bench`: the engine beside the raw APIs doing the same work, in the same run. Prints
// JSON and writes it to out/bench/results.json. Ratios are engine cost / raw cost (1.0 = free).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchCoordinator } from './coordinatorBench';
import { benchCuda } from './cudaBench';
import { benchHotReload } from './hotReloadBench';
import { benchValidation } from './validationBench';
import { benchWebGpu } from './webgpuBench';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  // 256 MiB copies: at 1.4 TB/s on-device a smaller copy is over before the clock sees it.
  const options = { steps: quick ? 30 : 300, copyBytes: (quick ? 4 : 256) * 1024 * 1024, copies: quick ? 3 : 20 };
  const results = {
    date: new Date().toISOString(),
    node: process.versions.node,
    note: 'ratio = engine time / raw time for the same work in the same run (1.0: no overhead). engineGBps and step.engine are measured ' +
      'inside the device host; endToEndGBps and step.requestedOneByOne add the IPC hop from the server. hotReload.ratioP50/P95 = ' +
      'save-to-new-version-running time (validation included) / (raw compile + one raw device-to-host copy of the state); the target is 1.5.',
    webgpu: await benchWebGpu(options),
    cuda: await benchCuda(options),
    validation: await benchValidation(quick ? 10 : 40),
    coordinator: await benchCoordinator(quick ? 3 : 10),
    hotReload: await benchHotReload({ quick }),
  };
  const json = JSON.stringify(results, null, 2);
  const folder = join(__dirname);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'results.json'), `${json}\n`);
  process.stdout.write(`${json}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
