// "Show Diff" beside the entry point's "running v2 (rolled back); the file is newer": VS Code's diff
// between the code a kernel runs and its file. The running code is a read-only document of the
// `ringkernel-running:` scheme, fetched from the server (ringkernel/runningSource).
import { COMMANDS, type CommandRegistry } from './commandIds';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { reportFailure } from './commands';
import type { KernelsClient } from './kernelsClient';

export const RUNNING_SCHEME = 'ringkernel-running';
export const SHOW_RUNNING_DIFF_COMMAND = COMMANDS.showRunningDiff;

/** The running version's document for kernel `id` whose file is `path`. */
export function runningUri(id: string, path: string): vscode.Uri {
  return vscode.Uri.from({
    scheme: RUNNING_SCHEME,
    path: `/${basename(path)}`,
    query: new URLSearchParams({ kernel: id }).toString(),
  });
}

class RunningSourceProvider implements vscode.TextDocumentContentProvider {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly kernels: KernelsClient) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = new URLSearchParams(uri.query).get('kernel');
    if (id === null) return `// ${uri.toString()} names no kernel`;
    const running = await this.kernels.runningSource(id);
    return running.code;
  }

  /** The kernels changed (a reload, a rollback): open running-version documents are read again. */
  refresh(): void {
    for (const document of vscode.workspace.textDocuments)
      if (document.uri.scheme === RUNNING_SCHEME) this.changeEmitter.fire(document.uri);
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}

export function registerRunningVersionDiff(
  context: vscode.ExtensionContext,
  commands: CommandRegistry,
  kernels: KernelsClient,
  log: vscode.LogOutputChannel,
): void {
  const provider = new RunningSourceProvider(kernels);
  context.subscriptions.push(
    provider,
    vscode.workspace.registerTextDocumentContentProvider(RUNNING_SCHEME, provider),
    kernels.onDidChangeKernels(() => provider.refresh()),
    commands.register('showRunningDiff', async (target?: unknown) => {
      try {
        const id = typeof target === 'string' ? target : await pickDifferingKernel(kernels);
        if (id === undefined) return undefined;
        const running = await kernels.runningSource(id);
        const title = `${id}: running v${running.version} ↔ ${basename(running.path)} on disk`;
        await vscode.commands.executeCommand(
          'vscode.diff',
          runningUri(id, running.path),
          vscode.Uri.file(running.path),
          title,
        );
        return running;
      } catch (error) {
        reportFailure(log, 'showing the running version failed', error);
        return undefined;
      }
    }),
  );
}

async function pickDifferingKernel(kernels: KernelsClient): Promise<string | undefined> {
  const info = await kernels.info();
  const differing = info.kernels.filter((k) => k.fileDiffers !== undefined);
  if (differing.length === 0) {
    void vscode.window.showInformationMessage('RingKernel: every kernel runs the code of its file as saved.');
    return undefined;
  }
  if (differing.length === 1) return differing[0]?.id;
  const picked = await vscode.window.showQuickPick(
    differing.map((k) => ({ label: k.id, description: `v${k.version}`, detail: k.source })),
    { placeHolder: "Compare which kernel's running code with its file?" },
  );
  return picked?.label;
}
