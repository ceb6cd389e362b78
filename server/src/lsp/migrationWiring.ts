// Migration on the LSP connection: ringkernel/migrationTargets (where a kernel could move, with
// route, estimate and why not), ringkernel/migrate (work-done progress per phase, cancellable
// until the switch) and ringkernel/drainDevice (the coordinator's plan executed kernel by kernel,
// runtime/deviceDrain.ts). The kernels' views follow through kernelsChanged; the coordinator's records
// through topologyChanged.
import { ErrorCodes, ResponseError, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import type { MultiGpuCoordinator } from '../coordinator/multiGpuCoordinator';
import { ineligibleReason } from '../coordinator/placementStrategies';
import { errorMessage, type Logger } from '../logger';
import { noSourceReason } from '../manifest/backendSources';
import { migrationRoute, routeLabel } from '../migration/migrationRoute';
import { MIGRATION_PHASES } from '../migration/migrationTypes';
import { parseDeviceKey } from '../runtime/kernelRelocation';
import type { KernelRuntime } from '../runtime/kernelRuntime';
import { toWire } from './wireMapping';
import { executeDrain } from '../runtime/deviceDrain';
import type { DeviceUnregisterResult } from '../coordinator/coordinatorTypes';
import type { MigrationReport } from '../migration/migrationTypes';
import {
  drainDeviceRequest,
  migrateRequest,
  migrationTargetsRequest,
  type DrainDeviceParams,
  type DrainOutcome,
  type MigrateParams,
  type MigrationOutcome,
  type MigrationTarget,
  type MigrationTargets,
} from './protocol';

export interface MigrationWiringOptions {
  runtime: KernelRuntime;
  coordinator: MultiGpuCoordinator;
  /** Takes a device out of service and returns the coordinator's plan for its kernels (TopologyWiring.drain). */
  drainPlan(device: unknown): DeviceUnregisterResult;
  /** `ringkernel.migration.verify`, asked for each migration. */
  verify(): boolean;
}

export class MigrationWiring {
  constructor(
    private readonly connection: Connection,
    private readonly log: Logger,
    private readonly options: MigrationWiringOptions,
  ) {
    connection.onRequest(migrationTargetsRequest, ({ kernelId }) => this.targets(kernelId));
    connection.onRequest(migrateRequest, (params, token) => this.migrate(params, token));
    connection.onRequest(drainDeviceRequest, (params) => this.drain(params));
  }

  targets(kernelId: string): MigrationTargets {
    const { runtime, coordinator } = this.options;
    const view = runtime.views().find((v) => v.id === kernelId);
    if (!view?.device)
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `kernel "${kernelId}" is not running (kernels: ${
          runtime
            .views()
            .map((v) => v.id)
            .join(', ') || 'none'
        })`,
      );
    const spec = runtime.spec(kernelId);
    const from = view.device;
    const targets: MigrationTarget[] = [];
    for (const device of coordinator.devices()) {
      if (device.key === from) continue;
      const target: MigrationTarget = {
        device: device.key,
        deviceName: device.name,
        possible: true,
        kernelCount: device.kernelCount,
      };
      if (device.memoryAvailableBytes !== undefined) target.freeMemoryBytes = device.memoryAvailableBytes;
      const why =
        (spec ? noSourceReason(spec, parseDeviceKey(device.key).backend) : undefined) ??
        ineligibleReason(device, { memoryBytes: view.stateBytes }, coordinator.getConfig().maxKernelsPerDevice);
      if (why !== undefined) {
        target.possible = false;
        target.reason = why;
      }
      const route = migrationRoute(coordinator.topology(), from, device.key, {
        enableP2P: coordinator.getConfig().enableP2P,
      });
      target.route = route;
      target.routeLabel = routeLabel(route, from, device.key);
      const estimate = coordinator.transferEstimate(from, device.key, view.stateBytes);
      if (estimate) {
        target.estimatedGBps = estimate.bottleneckGBps;
        target.estimatedMs = estimate.seconds * 1000;
        target.estimateMeasured = estimate.basis === 'measured';
      }
      const lastMove = runtime.migrator.stats.lastMove(from, device.key);
      if (lastMove) target.lastMove = toWire.lastMove(lastMove);
      targets.push(target);
    }
    return { kernelId, from, stateBytes: view.stateBytes, targets };
  }

  private async migrate(params: MigrateParams, token: CancellationToken): Promise<MigrationOutcome> {
    const progress =
      params.workDoneToken === undefined
        ? undefined
        : this.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress?.begin(`Moving ${params.kernelId} to ${params.device}`, 0, 'preparing', true);
    const controller = new AbortController();
    const cancel = token.onCancellationRequested(() => controller.abort());
    try {
      const report = await this.options.runtime.migrate(params.kernelId, params.device, {
        verify: this.options.verify(),
        signal: controller.signal,
        onPhase: (phase) =>
          progress?.report(Math.round((100 * MIGRATION_PHASES.indexOf(phase)) / MIGRATION_PHASES.length), phase),
      });
      return outcomeOf(report);
    } catch (error) {
      this.log.warn(`migrating "${params.kernelId}" to ${params.device}: ${errorMessage(error)}`);
      throw new ResponseError(ErrorCodes.InvalidParams, errorMessage(error));
    } finally {
      cancel.dispose();
      progress?.done();
    }
  }

  private async drain(params: DrainDeviceParams & { workDoneToken?: string | number }): Promise<DrainOutcome> {
    const plan = this.options.drainPlan(params.device);
    const progress =
      params.workDoneToken === undefined
        ? undefined
        : this.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress?.begin(
      `Draining ${plan.device}`,
      0,
      plan.migrations.length === 0 ? 'no kernel can move' : `moving ${plan.migrations.length} kernel(s)`,
      false,
    );
    try {
      const verify = await this.verifySetting();
      const result = await executeDrain(this.options.runtime, plan, {
        verify,
        onProgress: ({ kernelId, to, index, count, phase }) => {
          const share = (index + MIGRATION_PHASES.indexOf(phase) / MIGRATION_PHASES.length) / count;
          progress?.report(Math.round(100 * share), `${kernelId} -> ${to}: ${phase} (${index + 1} of ${count})`);
        },
        // The plan counted it on its target; it runs on the drained device, which is no longer registered.
        stayed: (kernelId) => {
          this.options.coordinator.removeKernel(kernelId);
        },
      });
      this.log.info(result.message);
      for (const stayed of result.stayed)
        this.log.warn(`drain ${plan.device}: ${stayed.kernelId} keeps running there: ${stayed.reason}`);
      return {
        device: result.device,
        migrations: result.migrations.map(outcomeOf),
        stayed: result.stayed,
        message: result.message,
      };
    } finally {
      progress?.done();
    }
  }

  /** ringkernel.migration.verify, read for each request (a client without configuration: on). */
  private async verifySetting(): Promise<boolean> {
    const section = await this.connection.workspace.getConfiguration('ringkernel.migration').then(
      (value: unknown) => value as { verify?: unknown } | null,
      () => null,
    );
    return section?.verify !== false;
  }
}

/** The report as the client sees it: the engine's phase timings and digest stay in the server's log. */
function outcomeOf(report: MigrationReport): MigrationOutcome {
  const {
    prepareMs: _p,
    checkpointMs: _c,
    verifyMs: _v,
    quiesceMs: _q,
    resumeMs: _r,
    step: _s,
    sha256: _h,
    ...outcome
  } = report;
  return outcome;
}
