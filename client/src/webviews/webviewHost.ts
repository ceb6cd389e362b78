// The webview foundation every panel uses: creates (or takes over, after a window reload) a
// WebviewPanel with the strict page of webviewHtml.ts, whose script and styles come only from
// media/webview; checks every message the webview posts before the panel sees it; tells the panel
// when it is shown or hidden (a hidden panel's content is discarded, retainContextWhenHidden is
// off, so it costs nothing, and the panel stops its updates); posts only while visible.
import * as vscode from 'vscode';
import type { Check } from './messageValidator';
import { messageHtml, newNonce, webviewHtml } from './webviewHtml';
import { receiveWebviewMessage } from './webviewInbox';

export interface WebviewKind<FromWebview> {
  viewType: string;
  /** The bundle in media/webview/build that draws this panel. */
  script: string;
  /** Checks what the webview posts. */
  messages: Check<FromWebview>;
}

export interface WebviewHostHandlers<FromWebview> {
  onMessage(message: FromWebview): void;
  onDidChangeVisibility(visible: boolean): void;
  onDidDispose(): void;
}

/** Where the webviews' scripts and styles live; the only folder a webview may load from. */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'media', 'webview');
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [webviewRoot(extensionUri)], retainContextWhenHidden: false };
}

/** A new panel beside the active editor, without taking the focus from it. */
export function createWebviewPanel(extensionUri: vscode.Uri, viewType: string, title: string): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(
    viewType,
    title,
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
    webviewOptions(extensionUri),
  );
}

export class WebviewHost<FromWebview, ToWebview extends { type: string }> implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  private visibleNow: boolean;
  /** The last message posted, for the integration tests' hook. */
  lastPosted: ToWebview | undefined;
  posted = 0;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly kind: WebviewKind<FromWebview>,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly handlers: WebviewHostHandlers<FromWebview>,
    /** data-* attributes of the page's root, read by the script at load. */
    data: Readonly<Record<string, string>> = {},
  ) {
    const { webview } = panel;
    // A panel VS Code restores after a reload comes with default options: set ours again.
    webview.options = webviewOptions(extensionUri);
    const asset = (...path: string[]): string =>
      webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot(extensionUri), ...path)).toString();
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      nonce: newNonce(),
      title: panel.title,
      styles: [asset('build', 'uPlot.min.css'), asset('webview.css')],
      scripts: [asset('build', kind.script)],
      data,
    });
    this.visibleNow = panel.visible;
    this.subscriptions.push(
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidChangeViewState(() => {
        if (panel.visible === this.visibleNow) return;
        this.visibleNow = panel.visible;
        handlers.onDidChangeVisibility(panel.visible);
      }),
      panel.onDidDispose(() => {
        this.disposeListeners();
        handlers.onDidDispose();
      }),
    );
  }

  /** A message from the webview: checked, then handed to the panel; an invalid one is logged and dropped (webviewInbox.ts). */
  receive(raw: unknown): void {
    receiveWebviewMessage(this.kind.viewType, this.kind.messages, raw, this.log, (message) =>
      this.handlers.onMessage(message),
    );
  }

  get visible(): boolean {
    return this.visibleNow;
  }

  /** Posts to the webview when it is visible (a hidden one has no content to receive it); true when posted. */
  post(message: ToWebview): boolean {
    if (!this.visibleNow) return false;
    this.lastPosted = message;
    this.posted++;
    this.panel.webview.postMessage(message).then(undefined, (error: unknown) => {
      this.log.debug(`a ${message.type} message did not reach the webview: ${String(error)}`);
    });
    return true;
  }

  dispose(): void {
    this.panel.dispose();
  }

  private disposeListeners(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

/** Turns a panel into a page that only says `message` (no script), e.g. one VS Code restored that cannot be shown again. */
export function showMessageInstead(
  panel: vscode.WebviewPanel,
  extensionUri: vscode.Uri,
  title: string,
  message: string,
): void {
  panel.title = title;
  panel.webview.options = { ...webviewOptions(extensionUri), enableScripts: false };
  const css = panel.webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot(extensionUri), 'webview.css')).toString();
  panel.webview.html = messageHtml({ cspSource: panel.webview.cspSource, title, styles: [css], message });
}
