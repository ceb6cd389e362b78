// Migration on the LSP connection: ringkernel/migrationTargets (where a kernel could move, with
// route, estimate and why not) and ringkernel/migrate (work-done progress per phase, cancellable
// until the switch). The kernels' views follow through kernelsChanged; the coordinator's records
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
import { migrateRequest, migrationTargetsRequest, type MigrateParams, type MigrationOutcome, type MigrationTarget, type MigrationTargets } from './protocol';

export interface MigrationWiringOptions {
  runtime: KernelRuntime;
  coordinator: MultiGpuCoordinator;
  /** `ringkernel.migration.verify`, asked for each migration. */
  verify(): boolean;
}

export class MigrationWiring {
  constructor(private readonly connection: Connection, private readonly log: Logger, private readonly options: MigrationWiringOptions) {
    connection.onRequest(migrationTargetsRequest, ({ kernelId }) => this.targets(kernelId));
    connection.onRequest(migrateRequest, (params, token) => this.migrate(params, token));
  }

  targets(kernelId: string): MigrationTargets {
    const { runtime, coordinator } = this.options;
    const view = runtime.views().find((v) => v.id === kernelId);
    if (!view?.device) throw new ResponseError(ErrorCodes.InvalidParams, `kernel "${kernelId}" is not running (kernels: ${runtime.views().map((v) => v.id).join(', ') || 'none'})`);
    const spec = runtime.spec(kernelId);
    const from = view.device;
    const targets: MigrationTarget[] = [];
    for (const device of coordinator.devices()) {
      if (device.key === from) continue;
      const target: MigrationTarget = { device: device.key, deviceName: device.name, possible: true, kernelCount: device.kernelCount };
      if (device.memoryAvailableBytes !== undefined) target.freeMemoryBytes = device.memoryAvailableBytes;
      const why = (spec ? noSourceReason(spec, parseDeviceKey(device.key).backend) : undefined) ?? ineligibleReason(device, { memoryBytes: view.stateBytes }, coordinator.getConfig().maxKernelsPerDevice);
      if (why !== undefined) {
        target.possible = false;
        target.reason = why;
      }
      const route = migrationRoute(coordinator.topology(), from, device.key);
      target.route = route;
      target.routeLabel = routeLabel(route);
      const estimate = coordinator.transferEstimate(from, device.key, view.stateBytes);
      if (estimate) {
        target.estimatedGBps = estimate.bottleneckGBps;
        target.estimatedMs = estimate.seconds * 1000;
        target.estimateMeasured = estimate.basis === 'measured';
      }
      targets.push(target);
    }
    return { kernelId, from, stateBytes: view.stateBytes, targets };
  }

  private async migrate(params: MigrateParams, token: CancellationToken): Promise<MigrationOutcome> {
    const progress = params.workDoneToken === undefined ? undefined : this.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress?.begin(`Moving ${params.kernelId} to ${params.device}`, 0, 'preparing', true);
    const controller = new AbortController();
    const cancel = token.onCancellationRequested(() => controller.abort());
    try {
      const report = await this.options.runtime.migrate(params.kernelId, params.device, {
        verify: this.options.verify(),
        signal: controller.signal,
        onPhase: (phase) => progress?.report(Math.round((100 * MIGRATION_PHASES.indexOf(phase)) / MIGRATION_PHASES.length), phase),
      });
      const { prepareMs: _p, checkpointMs: _c, verifyMs: _v, step: _s, sha256: _h, ...outcome } = report;
      return outcome;
    } catch (error) {
      this.log.warn(`migrating "${params.kernelId}" to ${params.device}: ${errorMessage(error)}`);
      throw new ResponseError(ErrorCodes.InvalidParams, errorMessage(error));
    } finally {
      cancel.dispose();
      progress?.done();
    }
  }
}
