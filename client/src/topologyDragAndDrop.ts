// Drag a kernel onto a device in the GPU Topology view to move it there (kernelDrag.ts decides
// what a drag carries and what a drop means). A drop asks nothing more: it runs the same migration
// as the Migrate Kernel command, with its progress notification.
import * as vscode from 'vscode';
import { dropPlan, KERNEL_DRAG_MIME, kernelDragPayload, parseKernelDrag } from './kernelDrag';
import type { TopologyNode } from './topologyTree';

export class TopologyDragAndDrop implements vscode.TreeDragAndDropController<TopologyNode> {
  readonly dragMimeTypes = [KERNEL_DRAG_MIME];
  readonly dropMimeTypes = [KERNEL_DRAG_MIME];

  constructor(
    private readonly migrate: (kernelId: string, to: string, from: string) => Promise<unknown>,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  handleDrag(source: readonly TopologyNode[], dataTransfer: vscode.DataTransfer): void {
    const payload = kernelDragPayload(source);
    // Only kernel rows carry anything; dragging a device or a link drops nothing.
    if (payload !== undefined) dataTransfer.set(KERNEL_DRAG_MIME, new vscode.DataTransferItem(payload));
  }

  async handleDrop(
    target: TopologyNode | undefined,
    dataTransfer: vscode.DataTransfer,
    token: vscode.CancellationToken,
  ): Promise<void> {
    const item = dataTransfer.get(KERNEL_DRAG_MIME);
    if (item === undefined) return;
    const payload = parseKernelDrag(await item.asString());
    if (token.isCancellationRequested) return;
    if (payload instanceof Error) {
      this.log.warn(`ignored a drop on the GPU Topology view: ${payload.message}`);
      void vscode.window.showWarningMessage(`RingKernel: ${payload.message}.`);
      return;
    }
    const plan = dropPlan(payload, target);
    if (plan.action === 'explain') {
      void vscode.window.showInformationMessage(`RingKernel: ${plan.message}`);
      return;
    }
    // The migration reports its own outcome and failures; a drop has no caller to return them to.
    await this.migrate(plan.kernelId, plan.to, plan.from);
  }
}
