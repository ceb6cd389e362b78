// Locations in the repository, found from the test bundle's own place (out/test/...).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'server'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no repository root above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRoot();
export const distFile = (name: string): string => join(repoRoot, 'dist', name);
export const fixture = (...parts: string[]): string => join(repoRoot, 'test', 'fixtures', ...parts);
