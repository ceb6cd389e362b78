// Which saves reload a running kernel. Editors save on their own (VS Code's files.autoSave after a
// pause or when focus leaves), and a half-typed kernel must not be swapped in then: LSP's
// textDocument/willSave carries why a save happens, and by default only a save the user asked for
// (Ctrl+S, Save All) reloads. Every save still validates; only the reload depends on this.
import { TextDocumentSaveReason } from 'vscode-languageserver/node';

/** `ringkernel.kernels.reloadOn`. */
import { RELOAD_ON_VALUES, type ReloadOn } from '../settings/settingDeclarations';

export { RELOAD_ON_VALUES, type ReloadOn };

export function isReloadOn(value: unknown): value is ReloadOn {
  return typeof value === 'string' && (RELOAD_ON_VALUES as readonly string[]).includes(value);
}

/**
 * `reloadOn` as set, else the deprecated `reloadOnSave` (false meant "only by command"). VS Code
 * sends every setting with its default filled in, so the old setting counts only while the new one
 * is at its default.
 */
export function readReloadOn(reloadOn: unknown, legacyReloadOnSave: unknown): ReloadOn {
  if (isReloadOn(reloadOn) && reloadOn !== 'manualSave') return reloadOn;
  if (legacyReloadOnSave === false) return 'command';
  return 'manualSave';
}

/**
 * Whether a save reloads. `reason` is the latest willSave's for the document; undefined when the
 * client sends no willSave (it did not say it can): then the save is taken as the user's.
 */
export function saveReloads(reloadOn: ReloadOn, reason: TextDocumentSaveReason | undefined): boolean {
  switch (reloadOn) {
    case 'command':
      return false;
    case 'anySave':
      return true;
    case 'manualSave':
      return reason === undefined || reason === TextDocumentSaveReason.Manual;
  }
}

export function saveReasonName(reason: TextDocumentSaveReason | undefined): string {
  switch (reason) {
    case TextDocumentSaveReason.Manual:
      return 'a manual save';
    case TextDocumentSaveReason.AfterDelay:
      return 'an automatic save after a delay';
    case TextDocumentSaveReason.FocusOut:
      return 'an automatic save when focus left';
    default:
      return 'a save';
  }
}
