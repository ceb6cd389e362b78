// How two devices are connected, and what such a connection is worth when nothing was measured.
// Every figure here is an estimate with its source; a measurement replaces it (see buildTopology).
import type { PcieLevel } from '../probe/probeRecords';

/** How the same physical GPU was recognised behind two backends, strongest evidence first. */
export type SameGpuMethod = 'uuid' | 'pciBusId' | 'pciDeviceId' | 'name' | 'instance';

export type Interconnect =
  /** A device with itself. */
  | { kind: 'self' }
  /** Direct NVLinks between two GPUs; `links` is the bonded link count (nvidia-smi's NV#). */
  | { kind: 'nvlink'; links: number; generation: number }
  /** NVLinks through NVSwitch chips; `links` counts the links both GPUs can use through shared switches. */
  | { kind: 'nvswitch'; links: number; generation: number }
  /** CUDA peer-to-peer over PCIe; `level` is the common ancestor as NVML names it. */
  | { kind: 'pcie'; level: PcieLevel }
  /** No peer path: staged through pinned system memory (device → host → device). */
  | { kind: 'host'; level?: PcieLevel }
  /** One physical GPU seen through two backends (CUDA and WebGPU); copies are staged through the host. */
  | { kind: 'samePhysicalGpu'; method: SameGpuMethod };

export type InterconnectKind = Interconnect['kind'];

/** Whether the link moves data without system memory (NVLink, NVSwitch, PCIe P2P). */
export function isPeerInterconnect(interconnect: Interconnect): boolean {
  return interconnect.kind === 'nvlink' || interconnect.kind === 'nvswitch' || interconnect.kind === 'pcie';
}

/**
 * NVLink bandwidth per link per direction, GB/s, by NVLink version.
 * - 1 (P100): 4 links, 160 GB/s bidirectional in all → 20 (NVIDIA Tesla P100 whitepaper).
 * - 2 (V100): 6 links, 300 GB/s bidirectional → 25 (Tesla V100 whitepaper).
 * - 3 (A100): 12 links, 600 GB/s bidirectional → 25 (A100 Tensor Core GPU architecture whitepaper).
 * - 4 (H100 SXM): 18 links, 900 GB/s bidirectional → 25, i.e. 450 GB/s per direction (H100 whitepaper).
 * - 5 (B200): 18 links, 1.8 TB/s bidirectional → 50 (NVIDIA Blackwell architecture brief).
 */
const NVLINK_GBPS_PER_LINK: Readonly<Record<number, number>> = { 1: 20, 2: 25, 3: 25, 4: 25, 5: 50 };

export function nvlinkGBpsPerLink(generation: number): number {
  return (
    NVLINK_GBPS_PER_LINK[generation] ?? NVLINK_GBPS_PER_LINK[Math.min(5, Math.max(1, Math.round(generation)))] ?? 25
  );
}

/**
 * The NVLink version a GPU of this compute capability has, for when NVML does not say
 * (nvmlDeviceGetNvLinkVersion missing). This only sets the speed of links NVML reported; it never
 * invents links. undefined for architectures without NVLink.
 */
export function nvlinkGenerationForComputeCapability(
  cc: { major: number; minor: number } | undefined,
): number | undefined {
  if (!cc) return undefined;
  if (cc.major >= 10) return 5;
  if (cc.major === 9) return 4;
  if (cc.major === 8) return 3;
  if (cc.major === 7) return 2;
  if (cc.major === 6 && cc.minor === 0) return 1;
  return undefined;
}

/**
 * PCIe bandwidth per lane per direction after line encoding, GB/s (PCI-SIG base specifications:
 * 2.5, 5, 8, 16, 32, 64 GT/s; 8b/10b for Gen1-2, 128b/130b for Gen3-5, FLIT for Gen6).
 */
const PCIE_GBPS_PER_LANE: Readonly<Record<number, number>> = {
  1: 0.25,
  2: 0.5,
  3: 0.985,
  4: 1.969,
  5: 3.938,
  6: 7.563,
};

/**
 * Share of the encoded rate a large pinned-memory copy achieves: packet headers and flow control
 * cost about a fifth. This gives the commonly measured ~12.5 GB/s for Gen3 x16 (CUDA
 * bandwidthTest), ~25 GB/s for Gen4 x16 and ~50 GB/s for Gen5 x16.
 */
const PCIE_PRACTICAL_SHARE = 0.8;

/** Practical PCIe bandwidth per direction, GB/s. */
export function pcieGBps(generation: number, width: number): number {
  const perLane =
    PCIE_GBPS_PER_LANE[generation] ?? PCIE_GBPS_PER_LANE[Math.min(6, Math.max(1, Math.round(generation)))] ?? 1.969;
  return round(perLane * width * PCIE_PRACTICAL_SHARE);
}

/**
 * The PCIe generation a CUDA GPU of this compute capability usually negotiates, for when sysfs
 * does not say: Hopper and Blackwell are Gen5, Ampere and Ada Gen4, older Gen3.
 */
export function pcieGenerationForComputeCapability(
  cc: { major: number; minor: number } | undefined,
): number | undefined {
  if (!cc) return undefined;
  if (cc.major >= 9) return 5;
  if (cc.major === 8) return 4;
  return 3;
}

/** Assumed when neither the link nor the architecture is known. */
export const DEFAULT_PCIE_LINK = { generation: 4, width: 16 } as const;

/**
 * Share of the slower host link that PCIe peer-to-peer reaches, by common ancestor. Through one
 * or several PCIe switches P2P runs at link speed; through a host bridge many CPUs forward P2P
 * more slowly, and across the socket interconnect (QPI/UPI/xGMI) it is often below half. These
 * are conservative estimates drawn from the shape of CUDA's p2pBandwidthLatencyTest results;
 * measure the machine for its own figures.
 */
const PCIE_P2P_SHARE: Readonly<Record<PcieLevel, number>> = {
  INTERNAL: 1,
  SINGLE: 1,
  MULTIPLE: 1,
  HOSTBRIDGE: 0.8,
  NODE: 0.7,
  SYSTEM: 0.4,
  UNKNOWN: 0.7,
};

/** Latency of one peer copy over PCIe, µs, by common ancestor (estimates; each bridge adds some). */
const PCIE_P2P_LATENCY_US: Readonly<Record<PcieLevel, number>> = {
  INTERNAL: 2.5,
  SINGLE: 2.5,
  MULTIPLE: 3,
  HOSTBRIDGE: 4,
  NODE: 5,
  SYSTEM: 8,
  UNKNOWN: 5,
};

export function pcieP2PShare(level: PcieLevel): number {
  return PCIE_P2P_SHARE[level];
}

export function pcieP2PLatencyUs(level: PcieLevel): number {
  return PCIE_P2P_LATENCY_US[level];
}

/** Latency of a peer copy over direct NVLink, µs (p2pBandwidthLatencyTest reports 1-3 µs). */
export const NVLINK_LATENCY_US = 2;
/** Through an NVSwitch the copy crosses one more hop. */
export const NVSWITCH_LATENCY_US = 2.5;

/**
 * One host transfer, µs: a small pinned cudaMemcpy costs about 5-10 µs; a WebGPU transfer needs a
 * queue submission and a mapAsync round trip through the event loop, tens of µs; a software
 * adapter's "device memory" is system memory, so only the copy itself.
 */
export const HOST_TRANSFER_LATENCY_US = { cuda: 8, webgpu: 50, software: 20 } as const;

/**
 * WebGPU reads back through a mappable staging buffer and a mapAsync round trip: on an H100 with a
 * Gen5 x16 link, 64 MiB readbacks reach 8-17 GiB/s against about 55 GB/s for CUDA's pinned
 * copies (ENVIRONMENT.md, docs/gpu-results.md), so about a quarter of the link rate.
 */
export const WEBGPU_HOST_SHARE = 0.25;

/** A software adapter's "transfers" are memcpy in system memory; one core copies ~10 GB/s. */
export const SOFTWARE_ADAPTER_GBPS = 10;

/**
 * Copies within one device, GB/s: never the bottleneck of a path; used for a device with itself.
 * Infinite, so a path never prefers a detour through a device's own memory.
 */
export const SELF_BANDWIDTH_GBPS = Number.POSITIVE_INFINITY;

/** nvidia-smi topo -m's word for a PCIe common ancestor (a same-board pair prints as PIX). */
export function nvidiaSmiPcieWord(level: PcieLevel): string {
  switch (level) {
    case 'INTERNAL':
    case 'SINGLE':
      return 'PIX';
    case 'MULTIPLE':
      return 'PXB';
    case 'HOSTBRIDGE':
      return 'PHB';
    case 'NODE':
      return 'NODE';
    case 'SYSTEM':
      return 'SYS';
    case 'UNKNOWN':
      return 'PCI?';
  }
}

/**
 * The matrix word of a link, like nvidia-smi topo -m: X, NV#, PIX, PXB, PHB, NODE, SYS; and for
 * what nvidia-smi does not show: HOST (no peer access, staged through system memory) and SAME (the
 * same physical GPU through another backend).
 */
export function matrixWord(interconnect: Interconnect): string {
  switch (interconnect.kind) {
    case 'self':
      return 'X';
    case 'nvlink':
    case 'nvswitch':
      return `NV${interconnect.links}`;
    case 'pcie':
      return nvidiaSmiPcieWord(interconnect.level);
    case 'host':
      return 'HOST';
    case 'samePhysicalGpu':
      return 'SAME';
  }
}

/** A label for trees and tooltips: "NVLink ×4", "NVSwitch (18 links)", "PCIe PXB", "host-mediated". */
export function interconnectLabel(interconnect: Interconnect): string {
  switch (interconnect.kind) {
    case 'self':
      return 'self';
    case 'nvlink':
      return `NVLink${interconnect.generation} ×${interconnect.links}`;
    case 'nvswitch':
      return `NVSwitch (NVLink${interconnect.generation}, ${interconnect.links} links)`;
    case 'pcie':
      return `PCIe ${nvidiaSmiPcieWord(interconnect.level)} (peer-to-peer)`;
    case 'host':
      return interconnect.level ? `host-mediated (PCIe ${nvidiaSmiPcieWord(interconnect.level)})` : 'host-mediated';
    case 'samePhysicalGpu':
      return interconnect.method === 'instance'
        ? 'same physical GPU (device instances, staged through host memory)'
        : `same physical GPU (by ${interconnect.method})`;
  }
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
