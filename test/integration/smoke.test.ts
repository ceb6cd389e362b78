// A quick check of the test host itself: the right folder is open in a recent enough VS Code.
// Needs nothing from the extension, so it tells launcher trouble apart from extension trouble.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fixture } from '../support/repo';

describe('smoke: the integration test host', () => {
  it('opens the fixture workspace in VS Code 1.100 or later', async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1, `expected one workspace folder, got ${folders.length}`);
    const folder = folders[0];
    assert.ok(folder);
    const expected = process.env['RINGKERNEL_TEST_WORKSPACE'] ?? fixture('workspace');
    assert.equal(folder.uri.fsPath, expected);

    const kernel = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder.uri, 'kernel.wgsl'));
    assert.match(new TextDecoder().decode(kernel), /@compute/);

    const match = /^(\d+)\.(\d+)\./.exec(vscode.version);
    assert.ok(match, `unexpected VS Code version ${vscode.version}`);
    const [major, minor] = [Number(match[1]), Number(match[2])];
    assert.ok(
      major > 1 || (major === 1 && minor >= 100),
      `VS Code ${vscode.version} is older than the 1.100 the extension needs`,
    );
  });
});
