// What the "GPU Topology" view shows, as plain data: the server's topology and the coordinator's
// devices turned into a tree of devices, their host link, their links to the other devices and
// their kernels. No VS Code API here, so it is unit-tested in plain Node and returned as is by the
// extension API's topologyItems(). Where a kernel runs is read from the kernels' own info (the
// same ringkernel/kernelsChanged the kernel status bar item shows), so the two never disagree.
import type { DeviceView, KernelView, KernelsInfo, LinkMessageRate, TopologyInfo, TopologyJson } from '../../server/src/lsp/protocol';

export type TopologyNodeKind = 'device' | 'hostLink' | 'link' | 'kernel' | 'notes' | 'note' | 'message';

export interface TopologyNode {
  /** Stable across refreshes, so the tree keeps what the user expanded. */
  id: string;
  kind: TopologyNodeKind;
  label: string;
  description?: string;
  /** Markdown. */
  tooltip: string;
  /** A codicon id, e.g. "chip". */
  icon: string;
  /** The device key, for device nodes (the drain command's argument), kernels (where it runs) and links (the far end). */
  device?: string;
  /** The kernel id, for kernel nodes (the migrate command's argument). */
  kernel?: string;
  /** For device nodes taken out of service (their menu offers Undrain instead of Drain). */
  drained?: true;
  /** For host links and links. */
  basis?: 'measured' | 'estimated';
  children: TopologyNode[];
}

type TopologyDeviceJson = TopologyJson['devices'][number];
type TopologyLinkJson = TopologyJson['links'][number];

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit] ?? 'B'}`;
}

export function formatGBps(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '∞';
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} GB/s`;
}

export function formatMicroseconds(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} ms` : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} µs`;
}

function memoryText(view: DeviceView | undefined, device: TopologyDeviceJson): string | undefined {
  const total = view?.memoryTotalBytes ?? device.memoryTotalBytes;
  const free = view?.memoryFreeBytes ?? device.memoryFreeBytes;
  if (total === undefined) return device.software ? 'system memory' : undefined;
  return free === undefined ? `${formatBytes(total)}` : `${formatBytes(total - free)} / ${formatBytes(total)} used`;
}

/** "120 msg/s": the router's current rate on a device pair (its sliding window). */
export function formatMessageRate(perSecond: number): string {
  return `${perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2)} msg/s`;
}

function messageRate(info: TopologyInfo, from: string, to: string): LinkMessageRate | undefined {
  const rate = info.messageRates?.find((r) => r.from === from && r.to === to);
  return rate && (rate.messagesPerSecond > 0 || rate.pending > 0) ? rate : undefined;
}

function messageLine(rate: LinkMessageRate | undefined): string | undefined {
  if (!rate) return undefined;
  return `- Kernel messages: ${formatMessageRate(rate.messagesPerSecond)} (${formatBytes(rate.bytesPerSecond)}/s), route ${rate.route}, ${rate.pending} pending`;
}

function kernelsText(count: number): string {
  return `${count} kernel${count === 1 ? '' : 's'}`;
}

/** The kernels on a device: from the kernels' info when there is one, else the coordinator's record. */
function kernelsOn(info: TopologyInfo, device: string, kernels: KernelsInfo | undefined): { id: string; view?: KernelView }[] {
  if (kernels === undefined) return (info.devices.find((d) => d.key === device)?.kernels ?? []).map((id) => ({ id }));
  return kernels.kernels.filter((k) => k.device === device && k.state !== 'stopped' && k.state !== 'failed').map((k) => ({ id: k.id, view: k }));
}

function kernelNode(device: string, kernel: { id: string; view?: KernelView }): TopologyNode {
  const k = kernel.view;
  const tooltip = k === undefined ? `Kernel **${kernel.id}**, placed on \`${device}\``
    : `Kernel **${kernel.id}** v${k.version}, ${k.state} on \`${device}\`: ${formatBytes(k.stateBytes)} of state. Drag it onto another device, or right-click, to move it.`;
  return {
    id: `${device}/kernel/${kernel.id}`, kind: 'kernel', label: kernel.id, description: k === undefined ? 'kernel' : `kernel · v${k.version} · ${k.state}`,
    tooltip, icon: 'symbol-event', device, kernel: kernel.id, children: [],
  };
}

function deviceNode(info: TopologyInfo, device: TopologyDeviceJson, running: KernelsInfo | undefined): TopologyNode {
  const view = info.devices.find((d) => d.key === device.key);
  const drained = info.drained.includes(device.key);
  const kernels = kernelsOn(info, device.key, running);
  const memory = memoryText(view, device);
  const cc = device.computeCapability;
  const parts = [
    device.backend === 'cuda' ? 'CUDA' : 'WebGPU',
    memory,
    cc ? `sm_${cc.major}${cc.minor}` : undefined,
    device.numaNode === undefined ? undefined : `NUMA ${device.numaNode}`,
    drained ? (kernels.length > 0 ? `drained · ${kernelsText(kernels.length)} still running` : 'drained') : kernelsText(kernels.length),
  ].filter((p): p is string => p !== undefined);
  const within = messageRate(info, device.key, device.key);
  if (within) parts.push(`${formatMessageRate(within.messagesPerSecond)} within`);
  const aliases = info.topology.devices.filter((d) => d.key !== device.key && d.physicalGpu === device.physicalGpu).map((d) => d.key);
  const tooltip = [
    `**${device.name}** (\`${device.key}\`)`,
    '',
    `- Backend: ${device.backend}, index ${device.index}`,
    `- Physical GPU: ${device.physicalGpu}${device.software ? ' (software adapter: runs on the CPU)' : ''}${aliases.length > 0 ? `, also seen as ${aliases.join(', ')}` : ''}`,
    memory !== undefined ? `- Memory: ${memory}` : undefined,
    cc ? `- Compute capability: ${cc.major}.${cc.minor}` : undefined,
    `- NUMA node: ${device.numaNode ?? 'unknown'}`,
    device.pciBusId !== undefined ? `- PCI bus id: ${device.pciBusId}` : undefined,
    drained ? `- Drained: takes no new kernels until Undrain Device${kernels.length > 0 ? `; ${kernelsText(kernels.length)} no other device could take still run here` : ''}`
      : `- Load: ${kernelsText(kernels.length)} (${Math.round((view?.load ?? 0) * 100)}% of the limit ${info.config.maxKernelsPerDevice})`,
    view && !view.available && !drained ? `- Not available: ${view.unavailableReason ?? 'unknown reason'}` : undefined,
    messageLine(within)?.replace('- Kernel messages:', '- Kernel messages within the device:'),
  ].filter((line): line is string => line !== undefined).join('\n');

  const children: TopologyNode[] = [hostLinkNode(device)];
  for (const link of info.topology.links.filter((l) => l.from === device.key)) {
    const to = info.topology.devices.find((d) => d.key === link.to);
    if (to) children.push(linkNode(info.topology, link, to, messageRate(info, link.from, link.to)));
  }
  for (const kernel of kernels) children.push(kernelNode(device.key, kernel));
  const node: TopologyNode = {
    id: `device/${device.key}`, kind: 'device', label: device.name, description: parts.join(' · '), tooltip,
    icon: drained ? 'debug-disconnect' : device.software ? 'vm' : 'chip', device: device.key, children,
  };
  if (drained) node.drained = true;
  return node;
}

function hostLinkNode(device: TopologyDeviceJson): TopologyNode {
  const host = device.hostLink;
  return {
    id: `${device.key}/host`,
    kind: 'hostLink',
    label: 'host memory',
    description: `↓ ${formatGBps(host.toDeviceGBps)} · ↑ ${formatGBps(host.toHostGBps)} · ${formatMicroseconds(host.latencyUs)} · ${host.basis}`,
    tooltip: [
      `**System memory ↔ \`${device.key}\`** (${host.basis})`,
      '',
      `- To the device: ${formatGBps(host.toDeviceGBps)}`,
      `- To the host: ${formatGBps(host.toHostGBps)}`,
      `- Latency of one small transfer: ${formatMicroseconds(host.latencyUs)}`,
      `- Source: ${host.source}`,
    ].join('\n'),
    icon: 'server',
    basis: host.basis,
    children: [],
  };
}

function linkNode(topology: TopologyJson, link: TopologyLinkJson, to: TopologyDeviceJson, rate: LinkMessageRate | undefined): TopologyNode {
  const path = topology.paths.find((p) => p.from === link.from && p.to === link.to);
  const detour = path && path.hops > 1 ? path : undefined;
  const icon = link.interconnect.kind === 'samePhysicalGpu' ? 'link' : link.interconnect.kind === 'host' ? 'server-process' : 'arrow-swap';
  return {
    id: `${link.from}/link/${link.to}`,
    kind: 'link',
    label: `→ ${to.key} ${to.name}`,
    description: `${link.label} · ${formatGBps(link.bandwidthGBps)} · ${formatMicroseconds(link.latencyUs)} · ${link.basis}${rate ? ` · ${formatMessageRate(rate.messagesPerSecond)}` : ''}`,
    tooltip: [
      `**\`${link.from}\` → \`${link.to}\`**: ${link.label} (${link.basis})`,
      '',
      `- Bandwidth: ${formatGBps(link.bandwidthGBps)} per direction`,
      `- Latency: ${formatMicroseconds(link.latencyUs)}`,
      `- Known from: ${sourceText(link.source)}`,
      link.peer ? `- CUDA peer access: ${link.peer.accessSupported ? 'supported' : 'not supported'}, performance rank ${link.peer.performanceRank}, native atomics ${link.peer.nativeAtomicSupported ? 'yes' : 'no'}` : undefined,
      detour ? `- Best route: ${detour.devices.join(' → ')} (${detour.hops} hops, ${formatGBps(detour.bottleneckGBps)})` : undefined,
      messageLine(rate),
    ].filter((line): line is string => line !== undefined).join('\n'),
    icon,
    device: link.to,
    basis: link.basis,
    children: [],
  };
}

function sourceText(source: TopologyLinkJson['source']): string {
  switch (source) {
    case 'nvml': return 'NVML (per-link NVLink state and remote ends)';
    case 'cuda-p2p': return 'CUDA peer access and the PCIe common ancestor';
    case 'host': return 'no peer path between these backends: staged through system memory';
    case 'identity': return 'the same physical GPU behind two backends';
    case 'fallback': return 'an estimate, because a probe was unavailable (see the notes)';
  }
}

/**
 * The view's top level: a line while probing, the devices, then the topology's notes. `kernels`
 * (the server's latest KernelsInfo) says where each kernel runs; without it the coordinator's
 * record does.
 */
export function topologyTree(info: TopologyInfo | undefined, problem?: string, kernels?: KernelsInfo): TopologyNode[] {
  const message = (id: string, label: string, tooltip: string, icon = 'info'): TopologyNode => ({ id, kind: 'message', label, tooltip, icon, children: [] });
  if (problem !== undefined) return [message('message/problem', problem, problem, 'warning')];
  if (!info) return [message('message/waiting', 'Waiting for the language server…', 'The RingKernel language server is starting.', 'loading~spin')];
  if (info.probing) return [message('message/probing', 'Probing GPU devices…', 'The device probe is looking for CUDA devices and WebGPU adapters.', 'loading~spin')];
  const nodes = info.topology.devices.map((device) => deviceNode(info, device, kernels));
  if (nodes.length === 0) nodes.push(message('message/none', 'No GPU devices found', 'No backend found a device; the notes below say why.', 'warning'));
  if (info.measuring) nodes.unshift(message('message/measuring', 'Measuring bandwidth and latency…', 'RingKernel: Measure Topology is running.', 'loading~spin'));
  if (info.topology.notes.length > 0) {
    nodes.push({
      id: 'notes', kind: 'notes', label: 'Notes', description: `${info.topology.notes.length}`,
      tooltip: 'What was estimated because a probe was unavailable, and what was ambiguous.', icon: 'info',
      children: info.topology.notes.map((note, i) => ({ id: `notes/${i}`, kind: 'note', label: note, tooltip: note, icon: 'circle-small', children: [] })),
    });
  }
  return nodes;
}
