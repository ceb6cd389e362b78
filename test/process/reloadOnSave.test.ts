// Hot reload follows why a file was saved (textDocument/willSave's reason), through the real
// server over stdio: an automatic save validates but does not reload, a manual one reloads;
// ringkernel.kernels.reloadOn switches between manualSave, anySave and command.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  TextDocumentSaveReason,
  WillSaveTextDocumentNotification,
  type TextDocumentSyncOptions,
} from 'vscode-languageserver-protocol/node';
import { kernelsRequest } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { tickKernel, withServerProcess } from '../support/serverProcess';

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-reload-on-'));
  writeFileSync(join(root, 'tick.wgsl'), tickKernel(1));
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify({
      version: 1,
      kernels: [{ id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 100 }],
    }),
  );
  return root;
}

const INVALID = tickKernel(1).replace('control.step', 'not_declared');

test(
  'an automatic save validates without reloading; a manual save reloads; reloadOn anySave and command',
  { timeout: 180_000 },
  async () => {
    const root = workspace();
    const path = join(root, 'tick.wgsl');
    const uri = pathToFileURL(path).href;
    const capabilities = {
      textDocument: { synchronization: { willSave: true, didSave: true, dynamicRegistration: false } },
    };
    await withServerProcess(root, { capabilities }, async (server) => {
      const sync = server.initialized.capabilities.textDocumentSync as TextDocumentSyncOptions;
      assert.equal(sync.willSave, true, 'the server asks for willSave (vscode-languageclient sends it only then)');
      // Only saves validate, so a diagnostic after a save is the save's.
      await server.configure({ validation: { onType: false } });
      const version = async (): Promise<number | undefined> =>
        (await server.connection.sendRequest(kernelsRequest)).kernels.find((k) => k.id === 'tick')?.version;
      await pollUntil('tick to run', async () => ((await version()) === 1 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      await server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId: 'wgsl', version: 1, text: tickKernel(1) },
      });

      let documentVersion = 1;
      const save = async (text: string, reason: TextDocumentSaveReason): Promise<void> => {
        documentVersion++;
        await server.connection.sendNotification(DidChangeTextDocumentNotification.type, {
          textDocument: { uri, version: documentVersion },
          contentChanges: [{ text }],
        });
        await server.connection.sendNotification(WillSaveTextDocumentNotification.type, {
          textDocument: { uri },
          reason,
        });
        writeFileSync(path, text);
        await server.connection.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
      };
      const notReloaded = (count: number): Promise<true> =>
        pollUntil(
          'the save to be passed over',
          () => (server.logs.filter((l) => /does not reload/.test(l.message)).length >= count ? true : undefined),
          { timeoutMs: 30_000 },
        );

      // files.autoSave afterDelay with a half-typed line: a diagnostic, no reload, no failed reload.
      await save(INVALID, TextDocumentSaveReason.AfterDelay);
      const published = await pollUntil(
        "the save's diagnostics",
        () =>
          server.diagnostics.find(
            (d) => d.uri === uri && d.version === documentVersion && d.diagnostics.some((x) => x.severity === 1),
          ),
        { timeoutMs: 30_000 },
      );
      assert.ok(
        published.diagnostics.some((d) => /not_declared/.test(d.message)),
        JSON.stringify(published.diagnostics.map((d) => d.message)),
      );
      await notReloaded(1);
      await save(tickKernel(2), TextDocumentSaveReason.FocusOut);
      await notReloaded(2);
      assert.equal(await version(), 1);

      // Ctrl+S.
      await save(tickKernel(3), TextDocumentSaveReason.Manual);
      await pollUntil('the manual save to reload', () => (server.outcomes.length > 0 ? true : undefined), {
        timeoutMs: 60_000,
      });
      assert.equal(await version(), 2);
      assert.deepEqual(
        server.outcomes.map((o) => o.status),
        ['reloaded'],
        'the automatic saves made no reload outcome, not even a rejected one',
      );

      await server.configure({ validation: { onType: false }, kernels: { reloadOn: 'anySave' } });
      await save(tickKernel(4), TextDocumentSaveReason.AfterDelay);
      await pollUntil('anySave to reload an automatic save', async () => ((await version()) === 3 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });

      await server.configure({ validation: { onType: false }, kernels: { reloadOn: 'command' } });
      await save(tickKernel(5), TextDocumentSaveReason.Manual);
      await notReloaded(3);
      assert.equal(await version(), 3);

      // The deprecated reloadOnSave: false still means "by command" while reloadOn is at its default.
      await server.configure({
        validation: { onType: false },
        kernels: { reloadOn: 'manualSave', reloadOnSave: false },
      });
      await save(tickKernel(6), TextDocumentSaveReason.Manual);
      await notReloaded(4);
      assert.equal(await version(), 3);
    });
  },
);
