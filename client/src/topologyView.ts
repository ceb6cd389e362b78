// The "GPU Topology" tree view: devices, their host link, their links to the other devices and
// their kernels (topologyTree.ts decides what is shown; this file only draws it). Refreshes when
// the server says the topology changed, and redraws when a kernel changes device, version, state or shown rate
// (from the same kernelsChanged the kernel status bar item shows, so the two never disagree).
import * as vscode from 'vscode';
import type { KernelsInfo, TopologyInfo } from '../../server/src/lsp/protocol';
import { errorMessage } from './errorMessage';
import type { KernelsClient } from './kernelsClient';
import { formatRate, topologyTree, type TopologyNode } from './topologyTree';
import type { TopologyClient } from './topologyClient';

/** What the kernel rows show (where each kernel runs, version, state, the rate as drawn), as one string: only a change redraws the view. */
function placementKey(info: KernelsInfo | undefined): string {
  return info === undefined
    ? ''
    : info.kernels
        .map(
          (k) =>
            `${k.id}@${k.device ?? ''}:${k.version}:${k.state}:${k.state === 'running' ? formatRate(k.stepsPerSecond) : ''}`,
        )
        .join('\n');
}

export const TOPOLOGY_VIEW_ID = 'ringkernel.topology';

export class TopologyView implements vscode.TreeDataProvider<TopologyNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<TopologyNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private roots: TopologyNode[] = topologyTree(undefined);
  /** The last topology read, to redraw kernel moves without asking the server again; undefined after a failed read. */
  private info: TopologyInfo | undefined;
  private problem: string | undefined;
  /** What the kernel rows show: a redraw happens only when this changes, not for every step count. */
  private placements = '';
  private refreshing: Promise<TopologyNode[]> | undefined;
  private again = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly topology: TopologyClient,
    private readonly kernels: KernelsClient,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      topology.onDidChange(() => {
        void this.refresh();
      }),
      kernels.onDidChangeState((info) => this.kernelsChanged(info)),
    );
  }

  /** Shows the view; drops of kernels onto devices go to `dragAndDrop`. */
  show(dragAndDrop: vscode.TreeDragAndDropController<TopologyNode>): void {
    this.subscriptions.push(
      vscode.window.createTreeView(TOPOLOGY_VIEW_ID, {
        treeDataProvider: this,
        showCollapseAll: true,
        dragAndDropController: dragAndDrop,
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
          this.info = await this.topology.topology();
          this.problem = undefined;
        } catch (error) {
          const message = errorMessage(error);
          this.log.warn(`the topology view could not read the topology: ${message}`);
          this.info = undefined;
          this.problem = `Could not read the topology: ${message}`;
        }
        this.draw();
      } while (this.again);
      return this.roots;
    })().finally(() => {
      this.refreshing = undefined;
    });
    this.refreshing = run;
    return run;
  }

  private kernelsChanged(info: KernelsInfo | undefined): void {
    const placements = placementKey(info);
    if (placements === this.placements) return;
    this.placements = placements;
    this.draw();
  }

  private draw(): void {
    this.roots = topologyTree(this.info, this.problem, this.kernels.current);
    this.placements = placementKey(this.kernels.current);
    this.changeEmitter.fire(undefined);
  }

  getTreeItem(node: TopologyNode): vscode.TreeItem {
    const state =
      node.children.length === 0
        ? vscode.TreeItemCollapsibleState.None
        : node.kind === 'device' || node.kind === 'notes'
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    if (node.description !== undefined) item.description = node.description;
    item.tooltip = new vscode.MarkdownString(node.tooltip);
    item.iconPath = new vscode.ThemeIcon(
      node.icon,
      node.basis === 'measured' ? new vscode.ThemeColor('charts.green') : undefined,
    );
    // Menus tell a drained device (Undrain) from one in service (Drain).
    item.contextValue = node.drained === true ? 'drainedDevice' : node.kind;
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
