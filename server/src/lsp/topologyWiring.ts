// The topology and the coordinator on the LSP connection: fed by the device probe, configured by
// the `ringkernel.*` settings, answering ringkernel/topology, measureTopology, undrainDevice and
// previewPlacement (and planning drains), pushing ringkernel/topologyChanged, and asking the client's custom selector.
import {
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  type CancellationToken,
  type Connection,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import type { MachineProbe } from '../probe/machineProbe';
import { AsyncSelectorBridge } from '../coordinator/asyncSelector';
import { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import type { DeviceUnregisterResult } from '../coordinator/coordinatorTypes';
import { errorMessage, type Logger } from '../logger';
import { coordinatorPlacer } from '../runtime/coordinatorPlacer';
import type { KernelPlacer } from '../runtime/kernelRuntime';
import { topologyCachePath } from '../topology/cacheLocation';
import { MachineTopology } from '../topology/machineTopology';
import { deviceKey } from '../probe/probeRecords';
import { coordinatorConfigOf, type RingKernelSettings } from '../settings';
import {
  customSelectorChangedNotification,
  measureTopologyRequest,
  undrainDeviceRequest,
  previewPlacementRequest,
  selectDeviceRequest,
  topologyChangedNotification,
  topologyRequest,
  type LinkMessageRate,
  type MeasureTopologyParams,
  type MeasureTopologyResult,
  type TopologyInfo,
} from './protocol';
import { fromWire, toWire } from './wireMapping';

export class TopologyWiring {
  readonly coordinator: MultiGpuCoordinator;
  private readonly machine: MachineTopology;
  private readonly bridge: AsyncSelectorBridge;
  private readonly drained = new Set<string>();
  private lastProbe: MachineProbe | undefined;
  private probing = true;
  private notifyScheduled: string | undefined;
  /** The router's per-device-pair traffic (the kernel runtime's), when kernels run. */
  private messageRates: (() => LinkMessageRate[]) | undefined;
  private lastRatesPush = 0;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly log: Logger,
  ) {
    this.coordinator = new MultiGpuCoordinator({}, { logger: log });
    this.machine = new MachineTopology({ cachePath: topologyCachePath(), log });
    this.bridge = new AsyncSelectorBridge(this.coordinator, { log });
    this.coordinator.onDidChange((change) => this.changed(change.kind));
    this.register();
  }

  /** The coordinator as the kernel runtime places kernels: the custom selector is asked through the client. */
  placer(): KernelPlacer {
    return coordinatorPlacer(this.coordinator, (kernelId, request) => this.bridge.place(kernelId, request));
  }

  /** The probe child answered: build the topology (with cached measurements) and sync the registry. */
  async update(probe: MachineProbe): Promise<void> {
    this.lastProbe = probe;
    const topology = await this.machine.update(probe);
    this.coordinator.setTopology(topology);
    this.lastProbe = probe;
    this.syncFrom(probe);
    this.probing = false;
    for (const note of topology.notes) this.log.info(`topology: ${note}`);
    this.log.info(
      `topology: ${topology.devices.length} device(s), ${topology.physicalGpus().length} physical GPU(s); measurements cached in ${this.machine.cachePath}`,
    );
    this.changed('probe');
  }

  /** `ringkernel.loadBalancing`, `maxKernelsPerDevice`, `preferredDevices`, `enableP2P`. */
  applySettings(settings: RingKernelSettings): void {
    this.coordinator.configure(coordinatorConfigOf(settings));
  }

  /** Where the links' message rates come from (the kernel runtime's router). */
  setMessageRates(source: () => LinkMessageRate[]): void {
    this.messageRates = source;
  }

  /**
   * The router moved messages: the view asks again, at most every 2 s while traffic flows, and
   * once more after the router's rate window (5 s) has passed the last traffic, so a link's rate
   * does not stay shown after its traffic ended.
   */
  trafficChanged(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.changed('traffic'), 6000);
    this.settleTimer.unref();
    const now = Date.now();
    if (now - this.lastRatesPush < 2000) return;
    this.lastRatesPush = now;
    this.changed('traffic');
  }

  /**
   * Takes `device` out of service: it leaves the coordinator, whose plan says where its kernels go
   * (most urgent first) and which have nowhere to go. The caller moves them (runtime/deviceDrain.ts).
   * A drain by the user may use another instance of the same GPU: the device is taken out of
   * service, not failing (the coordinator's default keeps a failing GPU's kernels off its aliases).
   */
  drain(device: unknown): DeviceUnregisterResult {
    if (typeof device !== 'string' || !this.coordinator.device(device)) {
      const known =
        this.coordinator
          .devices()
          .map((d) => d.key)
          .join(', ') || 'none';
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `cannot drain ${JSON.stringify(device)}: it is not a registered device (registered: ${known})`,
      );
    }
    this.drained.add(device);
    const plan = this.coordinator.unregisterDevice(device, { excludeSamePhysicalGpu: false });
    this.log.info(
      `draining ${device}: ${plan.migrations.length} kernel(s) planned elsewhere, ${plan.orphans.length} with nowhere to go`,
    );
    return plan;
  }

  /** Takes a drained device back into service: it is registered again from the last probe. */
  private undrain(device: unknown): { device: string; message: string } {
    if (typeof device !== 'string' || !this.drained.has(device)) {
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `cannot undrain ${JSON.stringify(device)}: it is not drained (drained: ${[...this.drained].join(', ') || 'none'})`,
      );
    }
    this.drained.delete(device);
    if (this.lastProbe) this.syncFrom(this.lastProbe);
    const back = this.coordinator.device(device) !== undefined;
    const message = back
      ? `${device} is back in service: new kernels may be placed on it`
      : `${device} is no longer drained, but the last probe did not find it`;
    this.log.info(message);
    return { device, message };
  }

  private syncFrom(probe: MachineProbe): void {
    const reports = probe.reports.map((report) => ({
      ...report,
      devices: report.devices.filter((d) => !this.drained.has(deviceKey(d.backend, d.index))),
    }));
    this.coordinator.syncDevices(reports);
  }

  info(): TopologyInfo {
    return {
      messageRates: this.messageRates?.() ?? [],
      topology: toWire.topology(this.machine.topology.toJSON()),
      devices: toWire.deviceViews(this.coordinator.devices()),
      config: toWire.coordinatorConfig(this.coordinator.getConfig()),
      drained: [...this.drained],
      customSelector: this.bridge.registered,
      probing: this.probing,
      measuring: this.machine.isMeasuring,
      cachePath: this.machine.cachePath,
    };
  }

  private register(): void {
    const { connection } = this;
    connection.onRequest(topologyRequest, () => this.info());
    connection.onRequest(measureTopologyRequest, (params, token) => this.measure(params, token));
    // ringkernel/drainDevice is answered by MigrationWiring, which moves the kernels this plan places (drain()).
    connection.onRequest(undrainDeviceRequest, ({ device }) => this.undrain(device));
    connection.onRequest(previewPlacementRequest, async (request) =>
      toWire.placement(await this.bridge.preview(fromWire.placementRequest(request ?? {}))),
    );
    connection.onNotification(customSelectorChangedNotification, ({ registered }) => {
      this.bridge.setSelector(
        registered
          ? async (candidates, request) => {
              const answer = await connection.sendRequest(selectDeviceRequest, {
                candidates: toWire.deviceViews(candidates),
                request: toWire.placementRequest({ ...request }),
              });
              return answer.device ?? undefined;
            }
          : undefined,
      );
      this.log.info(
        registered ? 'an extension set a custom device selector' : 'the custom device selector was removed',
      );
    });
  }

  private async measure(params: MeasureTopologyParams, token: CancellationToken): Promise<MeasureTopologyResult> {
    if (this.probing)
      throw new ResponseError(
        LSPErrorCodes.RequestFailed,
        'the device probe has not finished yet; measure the topology once the devices are listed',
      );
    let progress: WorkDoneProgressReporter;
    let progressCancelled: CancellationToken | undefined;
    if (params.workDoneToken === undefined) {
      // The client gave no token: ask it for progress of the server's own (an editor without support refuses).
      try {
        const created = await this.connection.window.createWorkDoneProgress();
        progress = created;
        progressCancelled = created.token;
      } catch {
        progress = this.connection.window.attachWorkDoneProgress(undefined);
      }
    } else progress = this.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress.begin('Measuring GPU topology', 0, 'starting device hosts', true);
    this.changed('measuring');
    try {
      const outcome = await this.machine.measure({
        onProgress: ({ done, total, what }) =>
          progress.report(
            total === 0 ? 100 : Math.round((done / total) * 100),
            `${what} (${Math.min(done + 1, total)} of ${total})`,
          ),
        cancelled: () => token.isCancellationRequested || progressCancelled?.isCancellationRequested === true,
      });
      this.coordinator.setTopology(outcome.topology);
      const { result, save } = outcome;
      this.log.info(
        `measured the topology: ${result.hostLinks.length / 2} host link(s), ${result.links.length} device pair(s)` +
          `${result.failures.length > 0 ? `, ${result.failures.length} failure(s)` : ''}${result.cancelled ? ' (cancelled)' : ''}`,
      );
      const answer: MeasureTopologyResult = {
        links: result.links.length,
        hostLinks: result.hostLinks.length,
        failures: result.failures,
        cancelled: result.cancelled,
        cachePath: this.machine.cachePath,
      };
      if (!save.ok) answer.saveError = save.error.message;
      return answer;
    } catch (error) {
      throw new ResponseError(LSPErrorCodes.RequestFailed, `measuring the topology failed: ${errorMessage(error)}`);
    } finally {
      progress.done();
      this.changed('measured');
    }
  }

  /** Coalesces changes into one ringkernel/topologyChanged per turn of the event loop. */
  private changed(reason: string): void {
    if (this.notifyScheduled !== undefined) return;
    this.notifyScheduled = reason;
    setImmediate(() => {
      const why = this.notifyScheduled ?? reason;
      this.notifyScheduled = undefined;
      void this.connection.sendNotification(topologyChangedNotification, { reason: why }).catch(() => undefined);
    });
  }
}
