// The "GPU Topology" tree view: devices, their host link, their links to the other devices and
// their kernels (topologyTree.ts decides what is shown; this file only draws it). Refreshes when
// the server says the topology changed.
import * as vscode from 'vscode';
import { errorMessage } from './errorMessage';
import { topologyTree, type TopologyNode } from './topologyTree';
import type { TopologyClient } from './topologyClient';
import type { KernelsClient } from './kernelsClient';
import type { TopologyInfo } from '../../server/src/lsp/protocol';

export const TOPOLOGY_VIEW_ID = 'ringkernel.topology';

export class TopologyView implements vscode.TreeDataProvider<TopologyNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<TopologyNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private roots: TopologyNode[] = topologyTree(undefined);
  /** The latest answer, so kernel rows follow the kernels' rates without asking for the topology again. */
  private latest: TopologyInfo | undefined;
  private refreshing: Promise<TopologyNode[]> | undefined;
  private again = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly topology: TopologyClient, private readonly log: vscode.LogOutputChannel, private readonly kernels: KernelsClient) {
    this.subscriptions.push(
      vscode.window.createTreeView(TOPOLOGY_VIEW_ID, { treeDataProvider: this, showCollapseAll: true }),
      topology.onDidChange(() => { void this.refresh(); }),
      kernels.onDidChangeState(() => {
        if (this.latest === undefined || this.refreshing) return;
        this.roots = topologyTree(this.latest, undefined, kernels.current?.kernels);
        this.changeEmitter.fire(undefined);
      }),
    );
  }

  /** What the view shows now (plain data). */
  items(): TopologyNode[] {
    return this.roots;
  }

  /** Asks the server again; concurrent calls share one request (and one more after it). Never rejects. */
  refresh(): Promise<TopologyNode[]> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    const run = (async (): Promise<TopologyNode[]> => {
      do {
        this.again = false;
        try {
          this.latest = await this.topology.topology();
          this.roots = topologyTree(this.latest, undefined, this.kernels.current?.kernels);
        } catch (error) {
          const message = errorMessage(error);
          this.log.warn(`the topology view could not read the topology: ${message}`);
          this.latest = undefined;
          this.roots = topologyTree(undefined, `Could not read the topology: ${message}`);
        }
        this.changeEmitter.fire(undefined);
      } while (this.again);
      return this.roots;
    })().finally(() => { this.refreshing = undefined; });
    this.refreshing = run;
    return run;
  }

  getTreeItem(node: TopologyNode): vscode.TreeItem {
    const state = node.children.length === 0 ? vscode.TreeItemCollapsibleState.None
      : node.kind === 'device' || node.kind === 'notes' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    if (node.description !== undefined) item.description = node.description;
    item.tooltip = new vscode.MarkdownString(node.tooltip);
    item.iconPath = new vscode.ThemeIcon(node.icon, node.basis === 'measured' ? new vscode.ThemeColor('charts.green') : undefined);
    // package.json's view/item/context menus: Drain on a device, Undrain on a drained one.
    item.contextValue = node.kind === 'device' && node.drained === true ? 'drainedDevice' : node.kind;
    return item;
  }

  getChildren(node?: TopologyNode): TopologyNode[] {
    return node ? node.children : this.roots;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changeEmitter.dispose();
  }
}
