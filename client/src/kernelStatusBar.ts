// The kernel status bar item, right of the server's item: what the manifest's kernels are doing
// (kernelStatus.ts decides the words); a click offers the kernel actions. Hidden without a manifest.
import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';
import { kernelStatusView, type KernelStatusView } from './kernelStatus';
import type { KernelsClient } from './kernelsClient';

/** The command the item runs: a QuickPick of the kernel actions (registered in kernelCommands.ts). */
export const KERNEL_ACTIONS_COMMAND = COMMANDS.showKernelActions;

export class KernelStatusBar implements vscode.Disposable {
  // Priority just below the server item's 0 puts it immediately to that item's right.
  private readonly item = vscode.window.createStatusBarItem('ringkernel.kernels', vscode.StatusBarAlignment.Left, -1);
  private shown: KernelStatusView = kernelStatusView(undefined, 0);
  /** Re-renders every second so "reloaded 3 s ago" stays true; runs only while such a time is shown. */
  private ticker: NodeJS.Timeout | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly kernels: KernelsClient) {
    this.item.name = 'RingKernel Kernels';
    this.item.command = KERNEL_ACTIONS_COMMAND;
    this.subscription = kernels.onDidChangeState(() => this.render());
    this.render();
  }

  /** What the item shows now (read by the extension's API, and so by tests). */
  get view(): { text: string; tooltip: string; visible: boolean } {
    return { text: this.shown.text, tooltip: this.shown.tooltip, visible: this.shown.visible };
  }

  private render(): void {
    const info = this.kernels.current;
    this.shown = kernelStatusView(info, Date.now());
    this.item.text = this.shown.text;
    this.item.tooltip = new vscode.MarkdownString(this.shown.tooltip);
    this.item.backgroundColor =
      this.shown.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : this.shown.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    if (this.shown.visible) this.item.show();
    else this.item.hide();
    const relativeTimes =
      this.shown.visible && info !== undefined && info.kernels.some((k) => k.lastReload !== undefined);
    if (relativeTimes && this.ticker === undefined) this.ticker = setInterval(() => this.render(), 1000);
    else if (!relativeTimes) this.stopTicker();
  }

  private stopTicker(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  dispose(): void {
    this.stopTicker();
    this.subscription.dispose();
    this.item.dispose();
  }
}
