import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TextDocumentSaveReason } from 'vscode-languageserver-protocol';
import { readReloadOn, saveReloads } from '../../server/src/lsp/saveIntent';

test('manualSave reloads a save the user asked for (or one whose reason the editor did not send), never an automatic one', () => {
  assert.equal(saveReloads('manualSave', TextDocumentSaveReason.Manual), true);
  assert.equal(saveReloads('manualSave', undefined), true);
  assert.equal(saveReloads('manualSave', TextDocumentSaveReason.AfterDelay), false);
  assert.equal(saveReloads('manualSave', TextDocumentSaveReason.FocusOut), false);
  assert.equal(saveReloads('anySave', TextDocumentSaveReason.AfterDelay), true);
  assert.equal(saveReloads('command', TextDocumentSaveReason.Manual), false);
});

test('reloadOn, with the deprecated reloadOnSave read while reloadOn is at its default', () => {
  assert.equal(readReloadOn(undefined, undefined), 'manualSave');
  assert.equal(readReloadOn('anySave', false), 'anySave');
  assert.equal(readReloadOn('manualSave', false), 'command');
  assert.equal(readReloadOn(undefined, true), 'manualSave');
  assert.equal(readReloadOn('sometimes', null), 'manualSave');
});
