// The coordinator as the kernel runtime's placer: `auto` devices are chosen by its strategy, a
// device the manifest names is assigned directly, a stopped kernel is forgotten, and free memory
// measured by a device host replaces the probe's figure.
import type { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import type { PlacementRequest } from '../coordinator/coordinatorTypes';
import type { KernelPlacer, PlaceResult } from './kernelRuntime';

export function coordinatorPlacer(
  coordinator: MultiGpuCoordinator,
  place: (kernelId: string, request: PlacementRequest) => Promise<PlaceResult> = (kernelId, request) =>
    Promise.resolve(coordinator.place(kernelId, request)),
): KernelPlacer {
  return {
    place,
    assign: (kernelId, device, request) => {
      if (!coordinator.device(device)) {
        const known =
          coordinator
            .devices()
            .map((d) => d.key)
            .join(', ') || 'none';
        return {
          ok: false,
          error: {
            message: `the manifest asks for ${device}, which this machine does not have (devices: ${known}); use "auto" or another index`,
          },
        };
      }
      return coordinator.assignKernel(kernelId, device, request);
    },
    remove: (kernelId) => {
      coordinator.removeKernel(kernelId);
    },
    deviceName: (key) => coordinator.device(key)?.name,
    updateMemory: (key, freeBytes, totalBytes) => {
      coordinator.updateDeviceMemory(key, freeBytes, totalBytes);
    },
    move: (kernelId, device) => {
      coordinator.assignKernel(kernelId, device, { force: true });
    },
    // A lost device leaves the coordinator (the view shows it gone); the runtime places its kernels again.
    deviceLost: (key) => {
      coordinator.unregisterDevice(key, { excludeSamePhysicalGpu: false });
    },
  };
}
