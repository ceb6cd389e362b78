// Which kernel a "Show Kernel State" invocation means: the CodeLens passes the id, the GPU Topology
// view's context menu its kernel node (whose label is the id), the palette nothing. No VS Code API.

export function kernelIdOf(target: unknown): string | undefined {
  if (typeof target === 'string' && target !== '') return target;
  if (typeof target === 'object' && target !== null) {
    const node = target as { kind?: unknown; label?: unknown };
    if (node.kind === 'kernel' && typeof node.label === 'string') return node.label;
  }
  return undefined;
}
