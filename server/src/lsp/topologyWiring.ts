// The topology and the coordinator on the LSP connection: fed by the device probe, configured by
// the `ringkernel.*` settings, answering ringkernel/topology, measureTopology, drainDevice and
// previewPlacement, pushing ringkernel/topologyChanged, and asking the client's custom selector.
import {
  ErrorCodes, LSPErrorCodes, ResponseError, type CancellationToken, type Connection, type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import type { MachineProbe } from '../probe/machineProbe';
import { AsyncSelectorBridge } from '../coordinator/asyncSelector';
import { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import { errorMessage, type Logger } from '../logger';
import { coordinatorPlacer } from '../runtime/coordinatorPlacer';
import type { KernelPlacer } from '../runtime/kernelRuntime';
import { topologyCachePath } from '../topology/cacheLocation';
import { MachineTopology } from '../topology/machineTopology';
import { deviceKey } from '../probe/probeRecords';
import { coordinatorConfigOf, type RingKernelSettings } from '../settings';
import {
  customSelectorChangedNotification, drainDeviceRequest, type DrainOutcome, measureTopologyRequest, previewPlacementRequest, selectDeviceRequest,
  topologyChangedNotification, topologyRequest, type LinkMessageRate, type MeasureTopologyParams, type MeasureTopologyResult, type TopologyInfo,
} from './protocol';
import { fromWire, toWire } from './wireMapping';

export class TopologyWiring {
  readonly coordinator: MultiGpuCoordinator;
  private readonly machine: MachineTopology;
  private readonly bridge: AsyncSelectorBridge;
  private readonly drained = new Set<string>();
  private probing = true;
  private notifyScheduled: string | undefined;
  /** The router's per-device-pair traffic (the kernel runtime's), when kernels run. */
  private messageRates: (() => LinkMessageRate[]) | undefined;
  private lastRatesPush = 0;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: Connection, private readonly log: Logger) {
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
    const topology = await this.machine.update(probe);
    this.coordinator.setTopology(topology);
    const reports = probe.reports.map((report) => ({ ...report, devices: report.devices.filter((d) => !this.drained.has(deviceKey(d.backend, d.index))) }));
    this.coordinator.syncDevices(reports);
    this.probing = false;
    for (const note of topology.notes) this.log.info(`topology: ${note}`);
    this.log.info(`topology: ${topology.devices.length} device(s), ${topology.physicalGpus().length} physical GPU(s); measurements cached in ${this.machine.cachePath}`);
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
    connection.onRequest(drainDeviceRequest, ({ device }) => {
      if (typeof device !== 'string' || !this.coordinator.device(device)) {
        const known = this.coordinator.devices().map((d) => d.key).join(', ') || 'none';
        throw new ResponseError(ErrorCodes.InvalidParams, `cannot drain ${JSON.stringify(device)}: it is not a registered device (registered: ${known})`);
      }
      this.drained.add(device);
      const result = this.coordinator.unregisterDevice(device);
      this.log.info(`drained ${device}: ${result.migrations.length} kernel(s) planned elsewhere, ${result.orphans.length} with nowhere to go`);
      // Until the migrator executes the plan, every kernel keeps running on the drained device: say so.
      const stayed = [
        ...result.migrations.map((m) => ({ kernelId: m.kernelId, reason: `planned onto ${m.to}, but this server does not move running kernels yet` })),
        ...result.orphans.map((o) => ({ kernelId: o.kernelId, reason: o.reason })),
      ];
      const outcome: DrainOutcome = { device, migrations: [], stayed, message: `drained ${device}; ${stayed.length} kernel(s) keep running on it` };
      return outcome;
    });
    connection.onRequest(previewPlacementRequest, async (request) => toWire.placement(await this.bridge.preview(fromWire.placementRequest(request ?? {}))));
    connection.onNotification(customSelectorChangedNotification, ({ registered }) => {
      this.bridge.setSelector(registered ? async (candidates, request) => {
        const answer = await connection.sendRequest(selectDeviceRequest, { candidates: toWire.deviceViews(candidates), request: toWire.placementRequest({ ...request }) });
        return answer.device ?? undefined;
      } : undefined);
      this.log.info(registered ? 'an extension set a custom device selector' : 'the custom device selector was removed');
    });
  }

  private async measure(params: MeasureTopologyParams, token: CancellationToken): Promise<MeasureTopologyResult> {
    if (this.probing) throw new ResponseError(LSPErrorCodes.RequestFailed, 'the device probe has not finished yet; measure the topology once the devices are listed');
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
        onProgress: ({ done, total, what }) => progress.report(total === 0 ? 100 : Math.round((done / total) * 100), `${what} (${Math.min(done + 1, total)} of ${total})`),
        cancelled: () => token.isCancellationRequested || progressCancelled?.isCancellationRequested === true,
      });
      this.coordinator.setTopology(outcome.topology);
      const { result, save } = outcome;
      this.log.info(`measured the topology: ${result.hostLinks.length / 2} host link(s), ${result.links.length} device pair(s)` +
        `${result.failures.length > 0 ? `, ${result.failures.length} failure(s)` : ''}${result.cancelled ? ' (cancelled)' : ''}`);
      const answer: MeasureTopologyResult = {
        links: result.links.length, hostLinks: result.hostLinks.length, failures: result.failures, cancelled: result.cancelled, cachePath: this.machine.cachePath,
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
