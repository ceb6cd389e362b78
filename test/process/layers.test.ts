// The layering rules of .dependency-cruiser.cjs (run by `npm run check`) catch what they exist
// for: a miniature tree with one violation of each rule, and one clean file that breaks none,
// cruised by the real dependency-cruiser with the repository's own configuration.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/repo';

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

const files: Record<string, string> = {
  // backends <-> topology: a folder cycle through two files that are not themselves a module cycle.
  'server/src/backends/backend.ts':
    "import type { Link } from '../topology/link';\nexport type Backend = { links: Link[] };\n",
  'server/src/topology/link.ts': 'export type Link = { from: string };\n',
  'server/src/topology/graph.ts':
    "import type { Backend } from '../backends/backend';\nexport type Graph = Backend[];\n",
  // the ABI importing the engine
  'server/src/abi/kernelAbi.ts': "import { note } from '../logger';\nexport const ABI = note('abi');\n",
  // a shared leaf importing the engine
  'server/src/logger.ts':
    "import type { Graph } from './topology/graph';\nexport const note = (s: string): string => s;\nexport type Logged = Graph;\n",
  // server code loading child-process code and a backend implementation
  'server/src/hosts/deviceHost.ts':
    "import { loop } from './child/stepLoop';\nimport { dawn } from '../backends/webgpu/dawn';\nexport const host = [loop, dawn];\n",
  'server/src/hosts/child/stepLoop.ts':
    "import { dawn } from '../../backends/webgpu/dawn';\nexport const loop = dawn;\n",
  'server/src/backends/webgpu/dawn.ts': 'export const dawn = 1;\n',
  // VS Code and LSP in the engine
  'server/src/runtime/runtime.ts':
    "import * as vscode from 'vscode';\nimport { createConnection } from 'vscode-languageserver/node';\nexport const both = [vscode, createConnection];\n",
  // LSP where it belongs: no violation
  'server/src/lsp/server.ts':
    "import { createConnection } from 'vscode-languageserver/node';\nexport const connection = createConnection;\n",
  'server/src/lsp/protocol.ts': 'export type Info = { version: string };\n',
  // the client taking engine code, and the protocol (allowed)
  'client/src/commands.ts':
    "import { note } from '../../server/src/logger';\nimport type { Info } from '../../server/src/lsp/protocol';\nexport const c = (i: Info): string => note(i.version);\n",
};

async function cruise(root: string): Promise<Violation[]> {
  const bin = join(repoRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const args = [
    bin,
    'server/src',
    'client/src',
    '--config',
    join(repoRoot, '.dependency-cruiser.cjs'),
    '--output-type',
    'json',
  ];
  // Exits non-zero when it finds errors; the JSON report is on stdout either way.
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: Error & { stdout?: string; stderr?: string }) => {
    if (!error.stdout) throw new Error(`dependency-cruiser did not run: ${error.stderr || error.message}`);
    return { stdout: error.stdout };
  });
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

test('each layering rule fails on its violation, and only there', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-layers-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    writeFileSync(
      join(root, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', strict: true, types: [] } }),
    );
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
    const violations = await cruise(root);
    const found = (rule: string): string[] =>
      violations
        .filter((v) => v.rule.name === rule)
        .map((v) => `${v.from} -> ${v.to}`)
        .sort();

    const cycles = violations.filter((v) => v.rule.name === 'no-folder-cycle');
    assert.ok(
      cycles.some((v) => v.from === 'server/src/backends' && v.to === 'server/src/topology'),
      `no backends <-> topology cycle in ${JSON.stringify(cycles)}`,
    );
    assert.deepEqual(found('abi-is-a-leaf'), ['server/src/abi/kernelAbi.ts -> server/src/logger.ts']);
    assert.deepEqual(found('shared-leaves-import-nothing'), ['server/src/logger.ts -> server/src/topology/graph.ts']);
    assert.deepEqual(found('child-code-stays-in-its-child'), [
      'server/src/hosts/deviceHost.ts -> server/src/hosts/child/stepLoop.ts',
    ]);
    assert.deepEqual(found('backend-implementations-only-in-children'), [
      'server/src/hosts/deviceHost.ts -> server/src/backends/webgpu/dawn.ts',
    ]);
    assert.deepEqual(found('client-imports-only-the-protocol'), ['client/src/commands.ts -> server/src/logger.ts']);
    assert.equal(
      found('no-vscode-in-server').length,
      1,
      `vscode in the server: ${JSON.stringify(found('no-vscode-in-server'))}`,
    );
    assert.match(found('no-vscode-in-server')[0] ?? '', /^server\/src\/runtime\/runtime\.ts -> /);
    assert.equal(
      found('lsp-types-only-in-lsp').length,
      1,
      `LSP outside lsp/: ${JSON.stringify(found('lsp-types-only-in-lsp'))}`,
    );
    assert.match(
      found('lsp-types-only-in-lsp')[0] ?? '',
      /^server\/src\/runtime\/runtime\.ts -> .*vscode-languageserver/,
    );
    const known = new Set([
      'no-folder-cycle',
      'abi-is-a-leaf',
      'shared-leaves-import-nothing',
      'child-code-stays-in-its-child',
      'backend-implementations-only-in-children',
      'client-imports-only-the-protocol',
      'no-vscode-in-server',
      'lsp-types-only-in-lsp',
    ]);
    assert.deepEqual(
      violations.filter((v) => !known.has(v.rule.name)),
      [],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
