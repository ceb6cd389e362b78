// A ManagedKernel as the migrator's MigrationSubject: the target gets a device host (WebGPU: from
// the target device's host pool, opening its device instance; CUDA: the host of every GPU, or the
// target instance's own host with ringkernel.cuda.instancesPerDevice), the
// version compiled for the target's backend (the kernel's "sources" give one per backend), and
// its buffers; quiescing drains the step loop at a step boundary, the switch relocates the kernel.
import { readFile } from 'node:fs/promises';
import type { BackendName } from '../backends/backendReport';
import type { KernelHost } from '../hosts/kernelHost';
import { DeviceKernel, type KernelPlacement } from '../hosts/deviceKernel';
import { errorMessage } from '../logger';
import { backendSource, noSourceReason } from '../manifest/backendSources';
import type { MigrationSubject, PreparedTarget } from '../migration/migrationTypes';
import type { KernelLocation, ManagedKernel } from './managedKernel';

export interface RelocationHosts {
  /** A host for the kernel on `backend` device `index` (WebGPU: a new one, or a shared one at the device's limit). */
  hostFor(backend: BackendName, index: number, kernelId: string): KernelHost;
  /** The kernel now lives in `host`: the runtime's bookkeeping follows. */
  adopted(kernelId: string, host: KernelHost): void;
  /** `host` no longer serves the kernel (its source after a move, or an unused target). */
  done(kernelId: string, host: KernelHost): void;
  deviceName(key: string): string;
  /**
   * The kernel's messages follow it: once its loop stopped on the source and before its first step
   * on `to` in `host`, its unconsumed inbox moves to the new host and the router re-routes what is
   * pending for it (KernelRuntime.messagesFollowMigration).
   */
  messagesFollow(kernelId: string, to: string, host: KernelHost): Promise<void>;
}

export function parseDeviceKey(key: string): { backend: BackendName; index: number } {
  const match = /^(cuda|webgpu):(\d+)$/.exec(key);
  if (!match?.[1] || !match[2]) throw new Error(`"${key}" is not a device key (cuda:N or webgpu:N)`);
  return { backend: match[1] as BackendName, index: Number(match[2]) };
}

interface Prepared extends PreparedTarget {
  host: KernelHost;
  location: KernelLocation;
  placement: KernelPlacement;
}

export function relocationSubject(
  kernel: ManagedKernel,
  placementOf: (index: number, backend: BackendName) => KernelPlacement,
  hosts: RelocationHosts,
): MigrationSubject {
  const from = kernel.location.key;
  const oldHost = kernel.host;
  return {
    id: kernel.id,
    stateBytes: kernel.spec.stateBytes,
    from,
    prepare: async (to): Promise<Prepared> => {
      const { backend, index } = parseDeviceKey(to);
      const found = backendSource(kernel.spec, backend);
      if (!found) throw new Error(noSourceReason(kernel.spec, backend));
      const code =
        found.path === kernel.spec.source && kernel.version.source.language === found.language
          ? kernel.version.source.code
          : await readFile(found.path, 'utf8').catch((error: unknown) => {
              throw new Error(`cannot read ${found.path}: ${errorMessage(error)}`);
            });
      const host = hosts.hostFor(backend, index, kernel.id);
      const placement = placementOf(index, backend);
      try {
        const created = await DeviceKernel.create(
          host,
          { language: found.language, label: kernel.id, code, entryPoint: kernel.spec.entryPoint },
          placement,
          { step: kernel.step },
        );
        return {
          device: to,
          kernel: created,
          host,
          placement,
          location: { backend, device: index, key: to, deviceName: hosts.deviceName(to) },
        };
      } catch (error) {
        hosts.done(kernel.id, host);
        throw error;
      }
    },
    prepareSource: () => kernel.deviceKernel().prepareExport(),
    quiesce: async () => {
      const step = await kernel.beginMigration();
      return { source: kernel.deviceKernel(), step };
    },
    resumeSource: () => kernel.resumeOrRecover(`${from}, where its migration left it`),
    switchTo: (target) => {
      const prepared = target as Prepared;
      kernel.relocate(prepared);
      hosts.adopted(kernel.id, prepared.host);
    },
    resumeTarget: async () => {
      // After the switch and before the first step on the target: nothing sent to the kernel is lost.
      await hosts.messagesFollow(kernel.id, kernel.location.key, kernel.host);
      await kernel.resumeOrRecover(`${kernel.location.key} after its migration`);
    },
    freeSource: async (source) => {
      try {
        await source.release();
      } finally {
        hosts.done(kernel.id, oldHost);
      }
    },
    release: async (target) => {
      const prepared = target as Prepared;
      try {
        await prepared.kernel.release();
      } finally {
        hosts.done(kernel.id, prepared.host);
      }
    },
  };
}
