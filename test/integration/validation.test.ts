import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pollUntil } from '../support/poll';

function fixtureUri(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the integration tests need the fixture workspace open');
  return vscode.Uri.file(path.join(folder.uri.fsPath, name));
}

function diagnosticsFrom(uri: vscode.Uri, source: RegExp): vscode.Diagnostic[] | undefined {
  const found = vscode.languages.getDiagnostics(uri).filter((d) => source.test(d.source ?? ''));
  return found.length > 0 ? found : undefined;
}

async function replaceAll(editor: vscode.TextEditor, text: string): Promise<void> {
  const document = editor.document;
  const whole = new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
  assert.ok(await editor.edit((edit) => edit.replace(whole, text)));
}

describe('Validation with the real compilers', function () {
  this.timeout(90_000);

  it("shows Tint's error in a WGSL file at its exact line and column", async () => {
    const uri = fixtureUri('broken.wgsl');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const [diagnostic] = await pollUntil('Tint diagnostics', () => diagnosticsFrom(uri, /^tint$/), {
      timeoutMs: 45_000,
    });
    assert.ok(diagnostic);
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.deepEqual([diagnostic.range.start.line, diagnostic.range.start.character], [5, 17]);
    assert.match(diagnostic.message, /cannot convert value of type 'abstract-float' to type 'i32'/);
  });

  it('shows the PTX error from ptxas (or our parser) on its line', async () => {
    const uri = fixtureUri('broken.ptx');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const [diagnostic] = await pollUntil(
      'PTX diagnostics',
      () => diagnosticsFrom(uri, /ptxas|ringkernel-ptx|cuda-jit/),
      { timeoutMs: 45_000 },
    );
    assert.ok(diagnostic);
    assert.equal(diagnostic.range.start.line, 10);
    assert.match(diagnostic.message, /madd/);
  });

  it('shows a Metal syntax error', async () => {
    const uri = fixtureUri('broken.metal');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const diagnostics = await pollUntil('Metal diagnostics', () => diagnosticsFrom(uri, /metal|ringkernel-msl/), {
      timeoutMs: 45_000,
    });
    assert.ok(
      diagnostics.some(
        (d) => d.severity === vscode.DiagnosticSeverity.Error && d.range.start.line >= 5 && d.range.start.line <= 6,
      ),
    );
  });

  it('clears the error when a fix is saved, and shows a new one on the next save', async () => {
    const uri = fixtureUri('scratch.wgsl');
    await vscode.workspace.fs.writeFile(
      uri,
      Buffer.from('@compute @workgroup_size(1)\nfn main() {\n  let a: u32 = 1.5;\n}\n'),
    );
    try {
      const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      await pollUntil('the first error', () => diagnosticsFrom(uri, /^tint$/), { timeoutMs: 45_000 });
      await replaceAll(editor, '@compute @workgroup_size(1)\nfn main() {\n  let a: u32 = 1u;\n}\n');
      assert.ok(await editor.document.save());
      await pollUntil('the errors to clear', () =>
        vscode.languages.getDiagnostics(uri).some((d) => d.severity === vscode.DiagnosticSeverity.Error)
          ? undefined
          : true,
      );
      // Non-ASCII text before the error on its line: the column counts UTF-16 code units, as
      // VS Code does (Tint counts UTF-8 bytes; 😀 is two code units and four bytes).
      await replaceAll(
        editor,
        '// température\n@compute @workgroup_size(1)\nfn main() { /* π → 😀 */ let b: i32 = 2.5; }\n',
      );
      assert.ok(await editor.document.save());
      const [diagnostic] = await pollUntil('the new error', () => diagnosticsFrom(uri, /^tint$/), {
        timeoutMs: 45_000,
      });
      assert.deepEqual([diagnostic?.range.start.line, diagnostic?.range.start.character], [2, 38]);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      await vscode.workspace.fs.delete(uri);
    }
  });
});
