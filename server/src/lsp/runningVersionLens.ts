// The CodeLens at a kernel's entry point when the code it runs is not its file's (a rollback, a
// rejected or failed save, a save that did not reload): "running v2 (rolled back); the file is
// newer", with Reload and Show Diff. A server-side lens, so any LSP editor shows the words; the
// two commands are the VS Code extension's (ringkernel.reloadKernel, ringkernel.showRunningDiff).
import type { CodeLens } from 'vscode-languageserver/node';
import { entryPointOffset } from '../manifest/sourceEntryPoints';
import { runningVersionText, type KernelView } from './wire/kernelsWire';
import { LineIndex } from '../validation/diagnostic';

/** The lenses for the document at `path` with `text`, one group per kernel built from it whose code differs. */
export function runningVersionLenses(views: readonly KernelView[], path: string, text: string): CodeLens[] {
  const lines = new LineIndex(text);
  const lenses: CodeLens[] = [];
  for (const view of views) {
    const title = view.source === path ? runningVersionText(view) : undefined;
    if (title === undefined) continue;
    const offset = entryPointOffset(view.language, text, view.entryPoint) ?? 0;
    const at = lines.positionAt(offset);
    const range = { start: { line: at.line, character: 0 }, end: { line: at.line, character: 0 } };
    // A lens with an empty command is plain text in VS Code.
    lenses.push(
      { range, command: { title: `${view.id}: ${title}`, command: '' } },
      { range, command: { title: 'Reload', command: 'ringkernel.reloadKernel', arguments: [view.id] } },
      { range, command: { title: 'Show Diff', command: 'ringkernel.showRunningDiff', arguments: [view.id] } },
    );
  }
  return lenses;
}
