// The status bar item: the server's state and the GPU backends it found; a click shows the log.
import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';
import { viewOf, type ServerStatus, type StatusView } from './serverStatus';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('ringkernel.status', vscode.StatusBarAlignment.Left, 0);
  private shown: StatusView = { text: '', tooltip: '', background: undefined };

  constructor() {
    this.item.name = 'RingKernel';
    this.item.command = COMMANDS.showLog;
    this.item.show();
  }

  /** What the item shows now (read by the extension's API, and so by tests). */
  get view(): StatusView {
    return this.shown;
  }

  update(status: ServerStatus): void {
    this.shown = viewOf(status);
    this.item.text = this.shown.text;
    this.item.tooltip = this.shown.tooltip;
    this.item.backgroundColor = this.shown.background ? new vscode.ThemeColor(this.shown.background) : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
