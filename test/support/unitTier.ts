// `npm run test:unit`: every test file under out/test/unit/ in this one process, with processes
// refused (noProcesses.ts). One process instead of one per file: starting Node and loading a
// bundle costs ~0.3 s a file, most of the tier's time on a 2-core machine. A single file still
// runs alone with `node --test out/test/unit/<file>.test.js`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { refuseProcesses } from './noProcesses';
import { repoRoot } from './repo';

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.js') ? [path] : [];
    });
}

refuseProcesses();
const load = createRequire(__filename);
const unit = join(__dirname, '..', 'unit');
for (const file of testFiles(unit)) {
  // The build does not empty out/: a bundle whose source moved to another tier (or went) is stale.
  const source = join(repoRoot, 'test', 'unit', relative(unit, file).replace(/\.js$/, '.ts'));
  if (existsSync(source)) load(file);
  else
    console.log(
      `# skipped ${relative(repoRoot, file)}: stale build output (test/unit has no ${relative(repoRoot, source)})`,
    );
}
