// What the "GPU Topology" view shows, as plain data: the server's topology and the coordinator's
// devices turned into a tree of devices, their host link, their links to the other devices and
// their kernels. No VS Code API here, so it is unit-tested in plain Node and returned as is by the
// extension API's topologyItems(). Where a kernel runs is read from the kernels' own info (the
// same ringkernel/kernelsChanged the kernel status bar item shows), so the two never disagree.
import type {
  DeviceView,
  KernelView,
  KernelsInfo,
  LinkMessageRate,
  TopologyInfo,
  TopologyJson,
} from '../../server/src/lsp/protocol';

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
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
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
function kernelsOn(
  info: TopologyInfo,
  device: string,
  kernels: KernelsInfo | undefined,
): { id: string; view?: KernelView }[] {
  if (kernels === undefined) return (info.devices.find((d) => d.key === device)?.kernels ?? []).map((id) => ({ id }));
  return kernels.kernels
    .filter((k) => k.device === device && k.state !== 'stopped' && k.state !== 'failed')
    .map((k) => ({ id: k.id, view: k }));
}

function deviceNode(info: TopologyInfo, device: TopologyDeviceJson, running: KernelsInfo | undefined): TopologyNode {
  const view = info.devices.find((d) => d.key === device.key);
  const drained = info.drained.includes(device.key);
  const kernels = kernelsOn(info, device.key, running);
  const memory = memoryText(view, device);
  const cc = device.computeCapability;
  // Short enough for the default side-bar width: memory, compute capability and NUMA are in the tooltip.
  const parts = [
    device.backend === 'cuda' ? 'CUDA' : 'WebGPU',
    drained
      ? kernels.length > 0
        ? `drained · ${kernelsText(kernels.length)} still running`
        : 'drained'
      : kernelsText(kernels.length),
  ];
  const within = messageRate(info, device.key, device.key);
  if (within) parts.push(`${formatMessageRate(within.messagesPerSecond)} within`);
  const aliases = info.topology.devices
    .filter((d) => d.key !== device.key && d.physicalGpu === device.physicalGpu)
    .map((d) => d.key);
  const tooltip = [
    `**${device.name}** (\`${device.key}\`)`,
    '',
    `- Backend: ${device.backend}, index ${device.index}`,
    `- Physical GPU: ${device.physicalGpu}${device.software ? ' (software adapter: runs on the CPU)' : ''}${aliases.length > 0 ? `, also seen as ${aliases.join(', ')}` : ''}`,
    memory !== undefined ? `- Memory: ${memory}` : undefined,
    cc ? `- Compute capability: ${cc.major}.${cc.minor}` : undefined,
    `- NUMA node: ${device.numaNode ?? 'unknown'}`,
    device.pciBusId !== undefined ? `- PCI bus id: ${device.pciBusId}` : undefined,
    drained
      ? `- Drained: takes no new kernels until Undrain Device${kernels.length > 0 ? `; ${kernelsText(kernels.length)} no other device could take still run here` : ''}`
      : `- Load: ${kernelsText(kernels.length)} (${Math.round((view?.load ?? 0) * 100)}% of the limit ${info.config.maxKernelsPerDevice})`,
    view && !view.available && !drained ? `- Not available: ${view.unavailableReason ?? 'unknown reason'}` : undefined,
    messageLine(within)?.replace('- Kernel messages:', '- Kernel messages within the device:'),
  ]
    .filter((line): line is string => line !== undefined)
    .join('\n');

  const children: TopologyNode[] = [hostLinkNode(device)];
  for (const link of info.topology.links.filter((l) => l.from === device.key)) {
    const to = info.topology.devices.find((d) => d.key === link.to);
    if (to) children.push(linkNode(info.topology, link, to, messageRate(info, link.from, link.to)));
  }
  for (const kernel of kernels) children.push(kernelNode(device.key, kernel));
  const node: TopologyNode = {
    id: `device/${device.key}`,
    kind: 'device',
    label: device.name,
    description: parts.join(' · '),
    tooltip,
    icon: drained ? 'debug-disconnect' : device.software ? 'vm' : 'chip',
    device: device.key,
    children,
  };
  if (drained) node.drained = true;
  return node;
}

/** A kernel row: its version, rate and state ("v3 · 60/s · running"); the rest in the tooltip. */
function kernelNode(device: string, kernel: { id: string; view?: KernelView }): TopologyNode {
  const { id, view } = kernel;
  const node: TopologyNode = {
    id: `${device}/kernel/${id}`,
    kind: 'kernel',
    label: id,
    tooltip: `Kernel **${id}**, placed on \`${device}\``,
    icon: 'symbol-event',
    device,
    kernel: id,
    children: [],
  };
  if (view === undefined) return { ...node, description: 'placed' };
  const rate = view.state === 'running' ? `${formatRate(view.stepsPerSecond)}/s` : undefined;
  node.description = [`v${view.version}`, rate, view.state].filter((p) => p !== undefined).join(' · ');
  node.tooltip = [
    `Kernel **${id}** on \`${device}\`: ${view.state}`,
    '',
    `- Version ${view.version}${view.fallbackVersion !== undefined ? ` (rolls back to v${view.fallbackVersion})` : ''}`,
    `- Step ${view.step.toLocaleString('en-US')}, ${formatRate(view.stepsPerSecond)} steps/s${view.rateHz > 0 ? ` (manifest: ${view.rateHz}/s)` : ''}`,
    `- State: ${formatBytes(view.stateBytes)}`,
    `- Source: \`${view.source}\` (${view.entryPoint})`,
    view.error !== undefined ? `- ${view.error}` : undefined,
    '',
    'Drag it onto another device, or right-click, to move it.',
  ]
    .filter((line): line is string => line !== undefined)
    .join('\n');
  if (view.state === 'failed') node.icon = 'warning';
  return node;
}

/** Steps per second, short: "0.5", "60", "1.2k". */
export function formatRate(perSecond: number): string {
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, '');
  if (perSecond < 1000) return String(Math.round(perSecond));
  return `${(perSecond / 1000).toFixed(perSecond < 10_000 ? 1 : 0).replace(/\.0$/, '')}k`;
}

function hostLinkNode(device: TopologyDeviceJson): TopologyNode {
  const host = device.hostLink;
  return {
    id: `${device.key}/host`,
    kind: 'hostLink',
    label: 'host memory',
    description: `↓ ${formatGBps(host.toDeviceGBps)} ↑ ${formatGBps(host.toHostGBps)} · ${host.basis}`,
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

function linkNode(
  topology: TopologyJson,
  link: TopologyLinkJson,
  to: TopologyDeviceJson,
  rate: LinkMessageRate | undefined,
): TopologyNode {
  const path = topology.paths.find((p) => p.from === link.from && p.to === link.to);
  const detour = path && path.hops > 1 ? path : undefined;
  const icon =
    link.interconnect.kind === 'samePhysicalGpu'
      ? 'link'
      : link.interconnect.kind === 'host'
        ? 'server-process'
        : 'arrow-swap';
  return {
    id: `${link.from}/link/${link.to}`,
    kind: 'link',
    label: `→ ${to.key}`,
    // "NVSwitch (18 links)" → "NVSwitch": the details, latency and basis are in the tooltip (the icon's colour shows measured).
    description: `${link.label.replace(/\s*\(.*\)$/, '') || link.label} · ${formatGBps(link.bandwidthGBps)}${rate ? ` · ${formatMessageRate(rate.messagesPerSecond)}` : ''}`,
    tooltip: [
      `**\`${link.from}\` → \`${link.to}\`** (${to.name}): ${link.label} (${link.basis})`,
      '',
      `- Bandwidth: ${formatGBps(link.bandwidthGBps)} per direction`,
      `- Latency: ${formatMicroseconds(link.latencyUs)}`,
      `- Known from: ${sourceText(link.source)}`,
      link.peer
        ? `- CUDA peer access: ${link.peer.accessSupported ? 'supported' : 'not supported'}, performance rank ${link.peer.performanceRank}, native atomics ${link.peer.nativeAtomicSupported ? 'yes' : 'no'}`
        : undefined,
      detour
        ? `- Best route: ${detour.devices.join(' → ')} (${detour.hops} hops, ${formatGBps(detour.bottleneckGBps)})`
        : undefined,
      messageLine(rate),
    ]
      .filter((line): line is string => line !== undefined)
      .join('\n'),
    icon,
    device: link.to,
    basis: link.basis,
    children: [],
  };
}

function sourceText(source: TopologyLinkJson['source']): string {
  switch (source) {
    case 'nvml':
      return 'NVML (per-link NVLink state and remote ends)';
    case 'cuda-p2p':
      return 'CUDA peer access and the PCIe common ancestor';
    case 'host':
      return 'no peer path between these backends: staged through system memory';
    case 'identity':
      return 'the same physical GPU behind two backends';
    case 'fallback':
      return 'an estimate, because a probe was unavailable (see the notes)';
  }
}

/**
 * The view's top level: a line while probing, the devices, then the topology's notes. `kernels`
 * (the server's latest KernelsInfo) says where each kernel runs; without it the coordinator's
 * record does.
 */
export function topologyTree(info: TopologyInfo | undefined, problem?: string, kernels?: KernelsInfo): TopologyNode[] {
  const message = (id: string, label: string, tooltip: string, icon = 'info'): TopologyNode => ({
    id,
    kind: 'message',
    label,
    tooltip,
    icon,
    children: [],
  });
  if (problem !== undefined) return [message('message/problem', problem, problem, 'warning')];
  if (!info)
    return [
      message(
        'message/waiting',
        'Waiting for the language server…',
        'The RingKernel language server is starting.',
        'loading~spin',
      ),
    ];
  if (info.probing)
    return [
      message(
        'message/probing',
        'Probing GPU devices…',
        'The device probe is looking for CUDA devices and WebGPU adapters.',
        'loading~spin',
      ),
    ];
  const nodes = info.topology.devices.map((device) => deviceNode(info, device, kernels));
  if (nodes.length === 0)
    nodes.push(
      message('message/none', 'No GPU devices found', 'No backend found a device; the notes below say why.', 'warning'),
    );
  if (info.measuring)
    nodes.unshift(
      message(
        'message/measuring',
        'Measuring bandwidth and latency…',
        'RingKernel: Measure Topology is running.',
        'loading~spin',
      ),
    );
  if (info.topology.notes.length > 0) {
    nodes.push({
      id: 'notes',
      kind: 'notes',
      label: 'Notes',
      description: `${info.topology.notes.length}`,
      tooltip: 'What was estimated because a probe was unavailable, and what was ambiguous.',
      icon: 'info',
      children: info.topology.notes.map((note, i) => ({
        id: `notes/${i}`,
        kind: 'note',
        label: shortNote(note),
        tooltip: note,
        icon: 'circle-small',
        children: [],
      })),
    });
  }
  return nodes;
}

/** A note cut to 60 characters for the side bar; the whole note is its tooltip. */
function shortNote(note: string): string {
  return note.length > 60 ? `${note.slice(0, 59)}…` : note;
}
