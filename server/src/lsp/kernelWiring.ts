// The kernel runtime on the LSP connection: starts the manifest's kernels (on workspace open when
// trusted and `ringkernel.kernels.autoStart` is on, or on request), hot-reloads a kernel when its
// source is saved, and answers ringkernel/kernels, startKernels, stopKernels, reload, rollback and
// kernelState; it pushes ringkernel/kernelsChanged and every ringkernel/reloadOutcome.
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeLensRefreshRequest,
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  type Connection,
  type TextDocumentSaveReason,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { BackendName } from '../backends/backendReport';
import { GpuError } from '../backends/gpuError';
import { errorMessage, type Logger } from '../logger';
import type { Manifest } from '../manifest/manifest';
import type { StateView } from '../manifest/views';
import type { StateRangesRead } from '../runtime/managedKernel';
import { KernelRuntime, type KernelPlacer, type StateSnapshot } from '../runtime/kernelRuntime';
import type { DeliveryStats } from '../runtime/messageDelivery';
import type { GpuTopology } from '../topology/gpuTopology';
import type { Validate } from '../runtime/hotReloadManager';
import type { MigrationRoute } from '../migration/migrationTypes';
import { DEFAULT_SETTINGS, type RingKernelSettings } from '../settings';
import {
  entryPointOffsetsRequest,
  kernelStateRequest,
  kernelsChangedNotification,
  kernelsRequest,
  reloadKernelRequest,
  reloadOutcomeNotification,
  rollbackKernelRequest,
  runningSourceRequest,
  startKernelsRequest,
  stopKernelsRequest,
  trustChangedNotification,
  type KernelRequestErrorData,
  type KernelsInfo,
  type RunningSourceResult,
  type StartKernelsResult,
} from './protocol';
import { entryPointOffset } from '../manifest/entryPointOffset';
import { runningVersionLenses } from './runningVersionLens';
import type { ValidationWiring } from './validationWiring';
import { readReloadOn, saveReasonName, saveReloads, type ReloadOn } from './saveIntent';
import { toWire } from './wireMapping';

const MAX_STATE_WORDS = 65_536;

export interface KernelWiringOptions {
  placer: KernelPlacer;
  validation: Pick<ValidationWiring, 'check'>;
  /** Why a backend is unavailable (from the probe), or undefined when it is available. */
  unavailableReason(backend: BackendName): string | undefined;
  /** The kernels that cannot run on this machine changed (they become warnings on the manifest). */
  onUnavailableChanged?(): void;
  /** How a migration's bytes travel (from the topology). */
  migrationRoute?(from: string, to: string): MigrationRoute;
  /** ringkernel.cuda.instancesPerDevice as the probe used it: above 1, a device host per CUDA device instance. */
  cudaInstancesPerDevice?(): number;
}

export class KernelWiring {
  private readonly runtime: KernelRuntime;
  private settings: RingKernelSettings = DEFAULT_SETTINGS;
  private manifest: Manifest | undefined;
  /** From initializationOptions.trusted; editors other than VS Code have no workspace trust and run kernels. */
  private trusted = true;
  private probed = false;
  /** Auto-start happens once; after the user stops the kernels they stay stopped. */
  private autoStarted = false;
  private notifyTimer: NodeJS.Timeout | undefined;
  /** The client can be asked to ask for CodeLenses again (workspace/codeLens/refresh). */
  codeLensRefresh = false;
  private lensesShown = '';
  private startingNow = false;
  private unavailableShown = '';
  private readonly onUnavailableChanged: (() => void) | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly log: Logger,
    options: KernelWiringOptions,
  ) {
    const settings = (): RingKernelSettings => this.settings;
    this.onUnavailableChanged = options.onUnavailableChanged?.bind(options);
    this.runtime = new KernelRuntime({
      log,
      placer: options.placer,
      validate: validatorFor(options.validation),
      unavailableReason: (backend) => options.unavailableReason(backend),
      get stepTimeoutMs() {
        return settings()['kernels.stepTimeoutMs'];
      },
      get checkpointIntervalMs() {
        return settings()['kernels.checkpointIntervalSeconds'] * 1000;
      },
      get enableP2P() {
        return settings().enableP2P;
      },
      get maxHostsPerDevice() {
        return settings()['kernels.maxHostsPerDevice'];
      },
      get cudaInstancesPerDevice() {
        return options.cudaInstancesPerDevice?.() ?? 1;
      },
      onChange: () => this.scheduleNotify(),
      onCheckpointProblem: (message) => void connection.window.showWarningMessage(`RingKernel: ${message}`),
      onOutcome: (outcome) =>
        void connection.sendNotification(reloadOutcomeNotification, toWire.reloadOutcome(outcome)),
      ...(options.migrationRoute
        ? { migrationRoute: (from: string, to: string) => options.migrationRoute?.(from, to) ?? 'hostStaged' }
        : {}),
    });
    this.register();
  }

  /** The runtime, for the migration requests (migrationWiring.ts). */
  get kernelRuntime(): KernelRuntime {
    return this.runtime;
  }

  /** Checkpoint files go to `folder` (initializationOptions.checkpointFolder); a start resumes from them. */
  useCheckpointFolder(folder: string): void {
    this.runtime.useCheckpointFolder(folder);
  }

  setTrusted(trusted: boolean): void {
    this.trusted = trusted;
    this.maybeAutoStart();
    this.scheduleNotify();
  }

  /** The device probe finished and the coordinator knows the devices. */
  probeDone(): void {
    this.probed = true;
    this.maybeAutoStart();
  }

  setManifest(manifest: Manifest | undefined): void {
    this.manifest = manifest;
    if (manifest) {
      this.runtime
        .setManifest(manifest)
        .catch((error: unknown) => this.log.error(`applying ${manifest.path} failed: ${errorMessage(error)}`));
      this.maybeAutoStart();
    }
    this.scheduleNotify();
  }

  /** `ringkernel.kernels.*` and `ringkernel.enableP2P` (the CUDA host's peer access). */
  /** Which saves reload: `kernels.reloadOn`, or the deprecated `kernels.reloadOnSave: false` (saveIntent.ts). */
  private reloadOn(): ReloadOn {
    return readReloadOn(this.settings['kernels.reloadOn'], this.settings['kernels.reloadOnSave']);
  }

  applySettings(settings: RingKernelSettings): void {
    const peerAccessChanged = settings.enableP2P !== this.settings.enableP2P;
    this.settings = settings;
    if (peerAccessChanged) {
      this.runtime
        .setPeerAccess(settings.enableP2P)
        .then(() =>
          this.log.info(
            `ringkernel.enableP2P is ${settings.enableP2P ? 'on: CUDA devices copy peer to peer where they can' : 'off: copies between CUDA devices go through the host'}`,
          ),
        )
        .catch((error: unknown) =>
          this.log.error(`applying ringkernel.enableP2P to the CUDA device host failed: ${errorMessage(error)}`),
        );
    }
    this.maybeAutoStart();
  }

  info(): KernelsInfo {
    return {
      manifest: this.manifest?.path ?? null,
      trusted: this.trusted,
      started: this.runtime.started,
      starting: this.startingNow || this.autoStartPending(),
      manifestErrors: this.manifest?.problems.filter((p) => p.severity === 'error').length ?? 0,
      kernels: toWire.kernelViews(this.runtime.views()),
      stats: toWire.hotReloadStats(this.runtime.stats()),
    };
  }

  /** Kernels that cannot run on this machine (a CUDA kernel without CUDA), with the shortened reason. */
  unavailableKernels(): { kernelId: string; reason: string }[] {
    return this.runtime
      .views()
      .flatMap((v) => (v.unavailableHere !== undefined ? [{ kernelId: v.id, reason: v.unavailableHere }] : []));
  }

  /** The K2K router's figures (what ringkernel/routerStats and the topology's link rates show). */
  routerStats(): DeliveryStats {
    return this.runtime.routerStats();
  }

  onRouterChange(listener: () => void): { dispose(): void } {
    return this.runtime.onRouterChange(listener);
  }

  setRouterTopology(topology: GpuTopology, enableP2P?: boolean): void {
    this.runtime.setRouterTopology(topology, enableP2P);
  }

  /** A kernel's whole state at a step boundary. */
  readState(id: string): Promise<StateSnapshot> {
    return this.runtime.readState(id);
  }

  /** Only `ranges` of a kernel's state at a step boundary, its loop not stopped: the state views' reader. */
  readStateRanges(id: string, ranges: readonly { offset: number; length: number }[]): Promise<StateRangesRead> {
    return this.runtime.readStateRanges(id, ranges);
  }

  /** A kernel's views as the manifest (saved on disk) declares them; none for an unknown kernel. */
  viewsOf(id: string): StateView[] {
    return this.manifest?.kernels.find((spec) => spec.id === id)?.views ?? [];
  }

  /** The server shuts down: kernels stop with their checkpoints written when there is a folder for them. */
  dispose(): Promise<void> {
    clearTimeout(this.notifyTimer);
    return this.runtime.shutdown();
  }

  private register(): void {
    const { connection } = this;
    connection.onRequest(kernelsRequest, () => this.info());
    connection.onRequest(startKernelsRequest, async (params) => {
      const progress = connection.window.attachWorkDoneProgress(params.workDoneToken);
      progress.begin('Starting kernels', 0);
      try {
        return await this.start((message, percentage) => progress.report(percentage, message));
      } finally {
        progress.done();
      }
    });
    connection.onRequest(stopKernelsRequest, async () => ({ stopped: await this.runtime.stop() }));
    connection.onRequest(reloadKernelRequest, ({ id }) =>
      this.forKernel(id, async () => toWire.reloadOutcome(await this.runtime.reload(id))),
    );
    connection.onRequest(rollbackKernelRequest, ({ id }) =>
      this.forKernel(id, async () => toWire.reloadOutcome(await this.runtime.rollback(id))),
    );
    connection.onRequest(entryPointOffsetsRequest, ({ uri, names }) => {
      const document = this.documents.get(uri);
      if (!document) return { offsets: names.map(() => null) };
      const text = document.getText();
      return { offsets: names.map((name) => entryPointOffset(document.languageId, text, name) ?? null) };
    });
    connection.onRequest(kernelStateRequest, ({ id, words }) =>
      this.forKernel(id, async () => {
        const snapshot = await this.runtime.readState(id);
        const count = Math.min(
          Math.max(0, Math.floor(words ?? 0)),
          MAX_STATE_WORDS,
          Math.floor(snapshot.stateBytes / 4),
        );
        const view = new Uint32Array(snapshot.state.buffer, snapshot.state.byteOffset, count);
        return {
          id,
          version: snapshot.version,
          step: snapshot.step,
          sha256: snapshot.sha256,
          stateBytes: snapshot.stateBytes,
          words: [...view],
        };
      }),
    );
    connection.onRequest(runningSourceRequest, ({ id }) =>
      this.forKernel(id, () => {
        const { version, view } = this.runtime.runningSource(id);
        const result: RunningSourceResult = {
          id,
          version: version.number,
          language: view.language,
          path: view.source,
          code: version.source.code,
        };
        if (view.fileDiffers !== undefined) result.fileDiffers = view.fileDiffers;
        return Promise.resolve(result);
      }),
    );
    connection.onCodeLens(({ textDocument }) => {
      const document = this.documents.get(textDocument.uri);
      if (!document || !textDocument.uri.startsWith('file:')) return [];
      return runningVersionLenses(this.runtime.views(), fileURLToPath(textDocument.uri), document.getText());
    });
    connection.onNotification(trustChangedNotification, ({ trusted }) => {
      this.log.info(
        trusted ? 'the workspace is trusted now: kernels may run' : 'the workspace is not trusted: kernels do not run',
      );
      this.setTrusted(trusted);
    });
    // Why each document is being saved (willSave comes just before didSave), for reloadOn.
    const saveReasons = new Map<string, TextDocumentSaveReason>();
    this.documents.onWillSave((event) => saveReasons.set(event.document.uri, event.reason));
    this.documents.onDidClose((event) => saveReasons.delete(event.document.uri));
    this.documents.onDidSave((event) => {
      const { uri } = event.document;
      const reason = saveReasons.get(uri);
      saveReasons.delete(uri);
      if (!uri.startsWith('file:')) return;
      // Whether it reloads or not, the file's code is what the running version is compared with.
      this.runtime.sourceOnDisk(fileURLToPath(uri), event.document.getText());
      if (!this.runtime.started || !this.trusted) return;
      // Validation runs on every save (validationWiring); only the reload depends on why it was saved.
      if (!saveReloads(this.reloadOn(), reason)) {
        if (this.runtime.runsSource(fileURLToPath(uri))) {
          this.log.debug(
            `${basename(fileURLToPath(uri))}: ${saveReasonName(reason)} validates but does not reload (ringkernel.kernels.reloadOn is ${this.reloadOn()})`,
          );
        }
        return;
      }
      // Every outcome (rejected included) reaches the client as a reloadOutcome notification.
      for (const pending of this.runtime.sourceSaved(fileURLToPath(uri), event.document.getText())) {
        pending.catch((error: unknown) =>
          this.log.error(`reloading after saving ${uri} failed: ${errorMessage(error)}`),
        );
      }
    });
  }

  private async start(onProgress?: (message: string, percentage: number) => void): Promise<StartKernelsResult> {
    if (!this.trusted) {
      return {
        started: [],
        failed: [],
        error: 'kernels do not run in an untrusted workspace (validation still works); trust the workspace to run them',
      };
    }
    if (!this.manifest)
      return { started: [], failed: [], error: 'the workspace has no ringkernel.json; create one to declare kernels' };
    if (!this.probed)
      return { started: [], failed: [], error: 'the GPU devices are still being probed; try again in a moment' };
    this.startingNow = true;
    try {
      return await this.runtime.start(onProgress);
    } catch (error) {
      return { started: [], failed: [], error: errorMessage(error) };
    } finally {
      this.startingNow = false;
      this.scheduleNotify();
      const unavailable = JSON.stringify(this.unavailableKernels());
      if (unavailable !== this.unavailableShown) {
        this.unavailableShown = unavailable;
        this.onUnavailableChanged?.();
      }
    }
  }

  /** Auto-start will run once the probe is done (the status item says "starting", not "stopped"). */
  private autoStartPending(): boolean {
    return (
      !this.autoStarted &&
      this.settings['kernels.autoStart'] &&
      this.trusted &&
      (this.manifest?.kernels.length ?? 0) > 0
    );
  }

  private maybeAutoStart(): void {
    if (
      this.autoStarted ||
      !this.settings['kernels.autoStart'] ||
      !this.trusted ||
      !this.probed ||
      !this.manifest ||
      this.manifest.kernels.length === 0
    )
      return;
    this.autoStarted = true;
    void this.start().then((result) => {
      if (result.error) this.log.warn(`kernels did not start: ${result.error}`);
      else
        this.log.info(
          `started ${result.started.length} kernel(s)${result.failed.length > 0 ? `; ${result.failed.length} could not start` : ''}`,
        );
      // A kernel that cannot run on this machine is a warning on its manifest entry (see server.ts), not a popup at every start.
      const unavailable = new Set(this.unavailableKernels().map((k) => k.kernelId));
      for (const failure of result.failed)
        if (!unavailable.has(failure.id))
          void this.connection.window.showWarningMessage(`RingKernel: ${failure.message}`);
    });
  }

  private async forKernel<T>(id: unknown, action: () => Promise<T>): Promise<T> {
    if (typeof id !== 'string')
      throw new ResponseError(ErrorCodes.InvalidParams, `a kernel id (a string) is needed, not ${JSON.stringify(id)}`);
    if (!this.trusted)
      throw new ResponseError(
        LSPErrorCodes.RequestFailed,
        'kernels do not run in an untrusted workspace; trust the workspace to run them',
      );
    try {
      return await action();
    } catch (error) {
      throw kernelRequestError(error);
    }
  }

  /** At most two kernelsChanged a second: step counts change all the time. */
  private scheduleNotify(): void {
    if (this.notifyTimer) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      const info = this.info();
      void this.connection.sendNotification(kernelsChangedNotification, info);
      // The entry-point lenses change only when a kernel's code starts or stops differing from its file.
      const lenses = info.kernels.map((k) => `${k.id}:${k.version}:${k.state}:${k.fileDiffers ?? ''}`).join('\n');
      if (lenses !== this.lensesShown && this.codeLensRefresh)
        void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
      this.lensesShown = lenses;
    }, 500);
  }
}

/** Hot reload's validate phase: the editor's validators, errors only, as "file:line:col: message". */
function validatorFor(validation: Pick<ValidationWiring, 'check'>): Validate {
  return async (_kernelId, source, path) => {
    const outcome = await validation.check(pathToFileURL(path).href, source.language, source.code);
    return outcome.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => `${basename(path)}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
  };
}

/**
 * A failed kernel request as the client receives it: the message, and for a GpuError its code
 * ("COMPILE_FAILED", "WATCHDOG_TIMEOUT", ...) and the compiler's or driver's log in `data`.
 */
export function kernelRequestError(error: unknown): ResponseError<KernelRequestErrorData | undefined> {
  if (error instanceof GpuError) {
    const data: KernelRequestErrorData = { code: toWire.gpuErrorCode(error.code) };
    if (error.log !== undefined) data.log = error.log;
    return new ResponseError(LSPErrorCodes.RequestFailed, error.message, data);
  }
  return new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(error), undefined);
}
