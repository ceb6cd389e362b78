// Entry points declared in a workspace's ringkernel.json are checked in the WGSL files they name,
// through the real language server (stdio), as any editor sees it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { declaredEntryPoints } from '../../server/src/manifest/manifestEntryPoints';
import { repoRoot } from '../support/repo';

const KERNEL =
  '@group(0) @binding(1) var<storage, read_write> s: array<f32>;\n@compute @workgroup_size(1)\nfn step() { s[0] = 1.0; }\n';

function workspace(manifest: string): string {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-manifest-'));
  writeFileSync(join(root, 'ringkernel.json'), manifest);
  writeFileSync(join(root, 'heat.wgsl'), KERNEL);
  return root;
}

test("reads each source file's declared entry points, and nothing from a manifest that is not JSON", () => {
  const root = workspace(
    JSON.stringify({
      kernels: [
        { id: 'heat', source: 'heat.wgsl', entryPoint: 'main' },
        { id: 'x', source: 'heat.wgsl', entryPoint: 'step' },
      ],
    }),
  );
  assert.deepEqual(declaredEntryPoints(join(root, 'ringkernel.json')).get(join(root, 'heat.wgsl')), [
    { name: 'main', kernelId: 'heat' },
    { name: 'step', kernelId: 'x' },
  ]);
  assert.equal(declaredEntryPoints(join(workspace('{ "kernels": [ '), 'ringkernel.json')).size, 0);
  assert.equal(declaredEntryPoints(join(root, 'missing.json')).size, 0);
});

test('the language server reports an entry point the manifest declares and the WGSL file lacks', async () => {
  const root = workspace(JSON.stringify({ kernels: [{ id: 'heat', source: 'heat.wgsl', entryPoint: 'main' }] }));
  const server = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const connection = createProtocolConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  const uri = pathToFileURL(join(root, 'heat.wgsl')).href;
  const published = new Promise<PublishDiagnosticsParams>((resolve) => {
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      if (params.uri === uri) resolve(params);
    });
  });
  connection.listen();
  try {
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: {},
      workspaceFolders: null,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'wgsl', version: 1, text: KERNEL },
    });
    const { diagnostics } = await published;
    const missing = diagnostics.find((d) => d.code === 'missing-entry-point');
    assert.ok(missing, JSON.stringify(diagnostics));
    assert.match(
      missing.message,
      /ringkernel\.json declares entry point 'main' for kernel 'heat'.*its entry points: 'step'/,
    );
    assert.equal(missing.range.start.line, 2);
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
  } finally {
    connection.dispose();
    server.kill();
  }
});
