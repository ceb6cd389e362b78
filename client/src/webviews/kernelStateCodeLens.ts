// "View state" above the entry point of every running kernel, in its WGSL or PTX source.
import * as vscode from 'vscode';
import type { KernelView } from '../../../server/src/lsp/protocol';
import { COMMANDS } from '../commandIds';
import type { KernelsClient } from '../kernelsClient';

export class KernelStateCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;
  /** Which kernels run where: the lenses change only when this does, not at every step count. */
  private running = '';
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly kernels: KernelsClient) {
    this.subscriptions = [
      vscode.languages.registerCodeLensProvider([{ language: 'wgsl' }, { language: 'ptx' }], this),
      kernels.onDidChangeState(() => {
        const running = JSON.stringify(this.runningKernels().map((k) => [k.id, k.source, k.entryPoint]));
        if (running === this.running) return;
        this.running = running;
        this.changeEmitter.fire();
      }),
    ];
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (document.uri.scheme !== 'file') return [];
    const kernels = this.runningKernels().filter((k) => k.source === document.uri.fsPath);
    if (kernels.length === 0) return [];
    // The server finds the entry points (the same scans its manifest check uses) in the text it holds.
    const offsets = await this.kernels
      .entryPointOffsets(
        document.uri.toString(),
        kernels.map((k) => k.entryPoint),
      )
      .catch(() => []);
    const lenses: vscode.CodeLens[] = [];
    for (const [i, kernel] of kernels.entries()) {
      const offset = offsets[i];
      if (offset === undefined || offset === null) continue;
      const position = document.positionAt(offset);
      lenses.push(
        new vscode.CodeLens(new vscode.Range(position, position), {
          title: `View state${this.runningKernels().filter((k) => k.source === kernel.source).length > 1 ? ` of ${kernel.id}` : ''}`,
          tooltip: `Open the live view of kernel "${kernel.id}"'s state (RingKernel: Show Kernel State)`,
          command: COMMANDS.showKernelState,
          arguments: [kernel.id],
        }),
      );
    }
    return lenses;
  }

  private runningKernels(): KernelView[] {
    return (this.kernels.current?.kernels ?? []).filter((k) => k.state === 'running' || k.state === 'reloading');
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changeEmitter.dispose();
  }
}
