// Save-to-diagnostics latency through the real language server (stdio, as any editor runs it),
// beside the raw validator doing the same work in this process: Tint module creation through
// Dawn's null backend, one ptxas run, one tree-sitter parse of the Metal pre-pass.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, DidSaveTextDocumentNotification, ExitNotification,
  InitializeRequest, InitializedNotification, PublishDiagnosticsNotification, ShutdownRequest,
  StreamMessageReader, StreamMessageWriter, createProtocolConnection, type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { dawnInstance } from '../server/src/backends/webgpu/dawn';
import { errorMessage } from '../server/src/logger';
import { extensionRoot } from '../server/src/paths';
import { findPtxas, runPtxas } from '../server/src/validation';
import { cppParser } from '../server/src/validation/msl/cppParser';
import { mslPrepass } from '../server/src/validation/msl/mslPrepass';
import { ratio, summarize, timeMany, type LatencySummary } from './stats';

type Language = 'wgsl' | 'ptx' | 'msl';

interface Sample { language: Language; size: 'small' | '2000 lines'; text: string }

function samples(): Sample[] {
  const root = extensionRoot();
  const read = (...parts: string[]): string => readFileSync(join(root, ...parts), 'utf8');
  const wgsl = read('examples', 'kernels', 'heat.wgsl');
  const ptx = read('test', 'fixtures', 'kernels', 'abi_kernels.ptx');
  const msl = read('examples', 'kernels', 'saxpy.metal');
  const grow = (text: string, lines: number, each: (i: number) => string): string => {
    const out = [text];
    for (let i = 0; out.join('\n').split('\n').length < lines; i++) out.push(each(i));
    return out.join('\n');
  };
  return [
    { language: 'wgsl', size: 'small', text: wgsl },
    { language: 'wgsl', size: '2000 lines', text: grow(wgsl, 2000, (i) => `fn helper${i}(a: f32, b: f32) -> f32 {\n  let c = a * b + ${i}.0;\n  return c * c;\n}`) },
    { language: 'ptx', size: 'small', text: ptx },
    { language: 'ptx', size: '2000 lines', text: ptx + grow('', 2000, (i) => `.visible .entry filler${i}(.param .u64 p)\n{\n\t.reg .b32 %r<3>;\n\tmov.u32 %r1, ${i};\n\tadd.s32 %r2, %r1, 1;\n\tret;\n}`) },
    { language: 'msl', size: 'small', text: msl },
    { language: 'msl', size: '2000 lines', text: grow(msl, 2000, (i) => `inline float helper${i}(float a, float b) {\n  float c = a * b + ${i}.0f;\n  return c * c;\n}`) },
  ];
}

/** One raw validation of `text`, the way the validator itself would do it, in this process. */
async function rawValidator(language: Language): Promise<(text: string) => Promise<unknown>> {
  if (language === 'wgsl') {
    const adapter = await dawnInstance('null').requestAdapter();
    if (!adapter) throw new Error("Dawn's null backend gave no adapter");
    const device = await adapter.requestDevice();
    device.addEventListener('uncapturederror', (event) => event.preventDefault());
    return (text) => device.createShaderModule({ code: text }).getCompilationInfo();
  }
  if (language === 'ptx') {
    const found = await findPtxas();
    if (!found.found) return () => Promise.resolve(undefined);
    // The same -arch the validator picks: the module's .target.
    return (text) => runPtxas(found.tool, text, { target: /^\s*\.target\s+(sm_\w+)/m.exec(text)?.[1] });
  }
  const parser = await cppParser();
  return (text) => Promise.resolve(parser.parse(mslPrepass(text).text));
}

export interface ValidationBenchSkip {
  language: Language;
  size: string;
  skipped: string;
}

export interface ValidationBenchRow {
  language: Language;
  size: string;
  lines: number;
  saveToDiagnostics: LatencySummary;
  raw: LatencySummary;
  ratioP50: number;
  validator: string;
}

export async function benchValidation(iterations: number): Promise<(ValidationBenchRow | ValidationBenchSkip)[]> {
  const server = spawn(process.execPath, [join(extensionRoot(), 'bin', 'ringkernel-language-server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  const waiting = new Map<string, { version: number; resolve: (params: PublishDiagnosticsParams) => void }>();
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    const wait = waiting.get(params.uri);
    if (wait && params.version === wait.version) { waiting.delete(params.uri); wait.resolve(params); }
  });
  connection.listen();
  const rows: (ValidationBenchRow | ValidationBenchSkip)[] = [];
  try {
    await connection.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null });
    await connection.sendNotification(InitializedNotification.type, {});
    for (const [n, sample] of samples().entries()) {
      const uri = `file:///bench/sample${n}.${sample.language === 'msl' ? 'metal' : sample.language}`;
      let version = 1;
      const published = (v: number): Promise<PublishDiagnosticsParams> => new Promise((resolve) => waiting.set(uri, { version: v, resolve }));
      const first = published(version);
      await connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: sample.language, version, text: sample.text } });
      const opened = await first;
      // Each save carries a change first, so the server validates new text every time.
      const save = async (): Promise<void> => {
        version++;
        const done = published(version);
        await connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text: `${sample.text}\n// edit ${version}\n` }] });
        await connection.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
        await done;
      };
      await timeMany(3, save);
      const lsp = await timeMany(iterations, save);
      let raw: (text: string) => Promise<unknown>;
      try {
        raw = await rawValidator(sample.language);
      } catch (error) {
        rows.push({ language: sample.language, size: sample.size, skipped: `the raw validator could not start: ${errorMessage(error)}` });
        continue;
      }
      let edit = 0;
      await timeMany(3, () => raw(`${sample.text}\n// raw ${edit++}\n`));
      const rawSamples = await timeMany(iterations, () => raw(`${sample.text}\n// raw ${edit++}\n`));
      const lspSummary = summarize(lsp);
      const rawSummary = summarize(rawSamples);
      rows.push({
        language: sample.language, size: sample.size, lines: sample.text.split('\n').length,
        saveToDiagnostics: lspSummary, raw: rawSummary, ratioP50: ratio(lspSummary.p50Ms, rawSummary.p50Ms),
        validator: [...new Set(opened.diagnostics.map((d) => d.source))].join(', ') || 'no diagnostics (valid code)',
      });
    }
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
  } finally {
    connection.dispose();
    server.kill();
  }
  return rows;
}
