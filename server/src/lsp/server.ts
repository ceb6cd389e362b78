// The LSP wiring: binds the engine to a connection. The only server file (with protocol.ts) that
// knows about LSP.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { checkedDocumentEvents } from './documentGuard';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { probeMachine } from '../probe/machineProbe';
import { withWebGpuInstances } from '../probe/deviceInstances';
import { withCudaInstances } from '../probe/cudaInstances';
import { MigrationWiring } from './migrationWiring';
import { migrationRoute } from '../migration/migrationRoute';
import { describeBackend } from '../backends/backendReport';
import { errorMessage, type Logger } from '../logger';
import { VERSION } from '../version';
import { serverInfoChangedNotification, serverInfoRequest } from './protocol';
import { ServerState } from './serverState';
import { TopologyWiring } from './topologyWiring';
import { MANIFEST_NAME, declaredEntryPoints } from '../manifest/manifestEntryPoints';
import { loadManifest } from '../manifest/manifest';
import { KernelWiring } from './kernelWiring';
import { wireManifestDiagnostics } from './manifestWiring';
import type { InitializationOptions } from './protocol';
import { DeviceJit } from '../validation/deviceJit';
import { wireValidation } from './validationWiring';
import { SettingsWiring } from './settingsWiring';
import { RouterStatsWiring } from './routerStatsWiring';
import { routerStatsSource } from './routerStatsSource';
import { StateViewWiring, stateViewKernelOf } from './stateViewWiring';

function connectionLogger(connection: Connection): Logger {
  return {
    error: (message) => connection.console.error(message),
    warn: (message) => connection.console.warn(message),
    info: (message) => connection.console.info(message),
    // MessageType.Debug (LSP 3.18): VS Code's log channel shows it only at the Debug level; older clients show it as a plain log line.
    debug: (message) => connection.console.debug(message),
  };
}

export function startServer(connection: Connection): void {
  const log = connectionLogger(connection);
  const state = new ServerState();
  const documents = new TextDocuments(TextDocument);
  const topology = new TopologyWiring(connection, log);
  const jit = new DeviceJit(log);
  let workspaceRoots: string[] = [];
  const validation = wireValidation(connection, documents, log, (uri) => {
    // WGSL must define the entry points the workspace manifest declares for the file.
    const path = uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    const expectedEntryPoints =
      path === undefined
        ? []
        : workspaceRoots.flatMap((root) => declaredEntryPoints(join(root, MANIFEST_NAME)).get(path) ?? []);
    // WGSL's extensions are checked against the features of the WebGPU devices its kernels run on.
    const webgpu = state.info().backends.find((b) => b.backend === 'webgpu' && b.available);
    const webgpuDevices = webgpu?.devices.map((d) => ({ index: d.index, name: d.name, features: d.features })) ?? [];
    // PTX is checked against the CUDA devices present, and by their driver's JIT without ptxas.
    const cuda = state.info().backends.find((b) => b.backend === 'cuda' && b.available);
    if (!cuda) return { expectedEntryPoints, manifestName: MANIFEST_NAME, webgpuDevices };
    const devices = cuda.devices.flatMap((d) =>
      d.computeCapability
        ? [{ name: d.name, computeCapability: [d.computeCapability.major, d.computeCapability.minor] as const }]
        : [],
    );
    return { expectedEntryPoints, manifestName: MANIFEST_NAME, webgpuDevices, devices, jitCompile: jit.compile };
  });
  let clientValidatesSchema = false;
  /** ringkernel.cuda.instancesPerDevice as the probe read it (it takes effect when the server starts). */
  let cudaInstances = 1;
  const kernels = new KernelWiring(connection, documents, log, {
    placer: topology.placer(),
    migrationRoute: (from, to) =>
      migrationRoute(topology.coordinator.topology(), from, to, {
        enableP2P: topology.coordinator.getConfig().enableP2P,
      }),
    // The instances the probe opened (read once, at the probe): each CUDA instance gets a device host of its own.
    cudaInstancesPerDevice: () => cudaInstances,
    validation,
    unavailableReason: (backend) => {
      const report = state.info().backends.find((b) => b.backend === backend);
      return report?.available === false ? (report.reason ?? 'the probe gave no reason') : undefined;
    },
    // Kernels that cannot run here became known: they are warnings on the manifest's entries.
    onUnavailableChanged: () => manifests.refresh(),
  });
  // One reader of the settings; every part that uses them is told here.
  const settings = new SettingsWiring(connection, log);
  settings.onChange((current) => {
    topology.applySettings(current);
    kernels.applySettings(current);
    validation.applySettings(current);
    stateViews.applySettings(current);
  });
  // The router of the kernel runtime answers ringkernel/routerStats. The views read only their
  // ranges of the state, in the device host at a step boundary, without stopping the kernel's loop.
  const routerStats = new RouterStatsWiring(connection, log, routerStatsSource(kernels));
  const stateViews = new StateViewWiring(connection, log, {
    reader: (id, ranges) => kernels.readStateRanges(id, ranges),
    kernel: (id) => stateViewKernelOf(kernels.info().kernels, id, kernels.viewsOf(id)),
  });
  new MigrationWiring(connection, log, {
    runtime: kernels.kernelRuntime,
    coordinator: topology.coordinator,
    drainPlan: (device) => topology.drain(device),
    verify: () => settings.settings['migration.verify'],
  });
  // The K2K router routes by the machine's topology and ringkernel.enableP2P; its traffic per
  // device pair is each topology link's message rate in the GPU Topology view.
  topology.coordinator.onDidChange((change) => {
    if (change.kind === 'topology' || change.kind === 'config')
      kernels.setRouterTopology(topology.coordinator.topology(), topology.coordinator.getConfig().enableP2P);
  });
  topology.setMessageRates(() =>
    kernels.routerStats().devicePairs.map((pair) => ({
      from: pair.from,
      to: pair.to,
      route: pair.route,
      messagesPerSecond: pair.messagesPerSecond,
      bytesPerSecond: pair.bytesPerSecond,
      pending: pair.pending,
    })),
  );
  kernels.onRouterChange(() => topology.trafficChanged());
  // The runtime takes the manifest as saved on disk: typing in it must not restart kernels.
  const manifests = wireManifestDiagnostics(connection, documents, () => workspaceRoots, {
    clientValidatesSchema: () => clientValidatesSchema,
    kernelNotes: () => kernels.unavailableKernels(),
    onManifestChanged: (manifest) => kernels.setManifest(loadManifest(manifest.path)),
  });

  // The server survives its own errors: log them and keep answering.
  process.on('uncaughtException', (error) =>
    log.error(`internal error (the server keeps running): ${error.stack ?? errorMessage(error)}`),
  );
  process.on('unhandledRejection', (reason) =>
    log.error(`internal error in a promise (the server keeps running): ${errorMessage(reason)}`),
  );

  connection.onInitialize((params): InitializeResult => {
    settings.setClientAnswers(params.capabilities.workspace?.configuration === true);
    const options = (params.initializationOptions ?? {}) as InitializationOptions;
    clientValidatesSchema = options.validatesManifestSchema === true;
    kernels.setTrusted(options.trusted !== false);
    if (typeof options.checkpointFolder === 'string' && options.checkpointFolder !== '')
      kernels.useCheckpointFolder(options.checkpointFolder);
    kernels.codeLensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    const folders = params.workspaceFolders?.map((folder) => folder.uri) ?? (params.rootUri ? [params.rootUri] : []);
    workspaceRoots = folders.filter((uri) => uri.startsWith('file:')).map((uri) => fileURLToPath(uri));
    // willSave: its reason tells a save the user asked for from an editor's auto-save (ringkernel.kernels.reloadOn).
    return {
      capabilities: {
        textDocumentSync: {
          openClose: true,
          change: TextDocumentSyncKind.Incremental,
          save: { includeText: false },
          willSave: true,
        },
        // At a kernel's entry point when it runs other code than its file (runningVersionLens.ts).
        codeLensProvider: { resolveProvider: false },
      },
      serverInfo: { name: 'ringkernel-language-server', version: VERSION },
    };
  });

  connection.onInitialized(() => {
    log.info(`RingKernel language server ${VERSION} started (pid ${process.pid}, Node ${process.versions.node})`);
    log.info('probing GPU backends...');
    manifests.refresh();
    // ringkernel.webgpu.instancesPerAdapter and cuda.instancesPerDevice decide how many devices the probe yields: the first read of the settings comes first.
    void Promise.all([probeMachine({ onOutput: (line) => log.debug(`[probe] ${line}`) }), settings.refresh()]).then(
      ([found]) => {
        cudaInstances = settings.settings['cuda.instancesPerDevice'];
        const probe = withCudaInstances(
          withWebGpuInstances(found, settings.settings['webgpu.instancesPerAdapter']),
          cudaInstances,
        );
        const { reports } = probe;
        state.setBackends(reports);
        for (const report of reports) log.info(describeBackend(report));
        // Validation checks kernels against the devices (features, compute capability): now it can.
        validation.revalidateAll();
        void connection.sendNotification(serverInfoChangedNotification, state.info());
        topology
          .update(probe)
          .catch((error: unknown) => log.error(`the topology could not be built: ${errorMessage(error)}`))
          .finally(() => kernels.probeDone());
      },
    );
  });

  // VS Code pushes the section; other clients only say that something changed (then it is pulled).
  connection.onDidChangeConfiguration((change) => {
    void settings.refresh((change.settings as { ringkernel?: unknown } | null)?.ringkernel);
  });

  connection.onRequest(serverInfoRequest, () => state.info());
  // Device hosts die with the server anyway (their IPC channel closes); stopping them first is tidier.
  connection.onShutdown(async () => {
    stateViews.dispose();
    routerStats.dispose();
    manifests.dispose();
    await kernels.dispose();
  });

  documents.onDidOpen((event) =>
    log.debug(
      `opened ${event.document.uri} (${event.document.languageId}, ${event.document.getText().length} characters)`,
    ),
  );
  documents.onDidClose((event) => log.debug(`closed ${event.document.uri}`));

  documents.listen(checkedDocumentEvents(connection, log));
  connection.listen();
}
