// Binds the validation engine to the LSP connection: documents opened, changed (debounced) and
// saved are validated; results become `textDocument/publishDiagnostics`. Settings
// (`ringkernel.ptxas.path`, `ringkernel.validation.*`) come from settingsWiring.ts.
import { fileURLToPath } from 'node:url';
import {
  DiagnosticSeverity,
  DiagnosticTag,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Logger } from '../logger';
import { DEFAULT_SETTINGS, type RingKernelSettings } from '../settings';
import {
  findPtxas,
  ValidationService,
  ValidatorSet,
  type Diagnostic,
  type KernelLanguage,
  type ValidationContext,
  type ValidationOutcome,
} from '../validation';

const SEVERITY: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

export function toLspDiagnostic(uri: string, diagnostic: Diagnostic): LspDiagnostic {
  const lsp: LspDiagnostic = {
    range: diagnostic.range,
    severity: SEVERITY[diagnostic.severity],
    message: diagnostic.message,
    source: diagnostic.source,
  };
  if (diagnostic.code !== undefined) lsp.code = diagnostic.code;
  if (diagnostic.related)
    lsp.relatedInformation = diagnostic.related.map((r) => ({ location: { uri, range: r.range }, message: r.message }));
  // A whole-file problem anchored somewhere for display: fade it rather than underline a line.
  if (diagnostic.fileLevel) lsp.tags = [DiagnosticTag.Unnecessary];
  return lsp;
}

/** The file's path for messages (a compiler's temporary copy is named by it instead). */
function displayNameOf(uri: string): string {
  if (!uri.startsWith('file:')) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

/**
 * An explicit ptxas that does not work is said in the log as soon as it is set, not only on each
 * PTX file's diagnostics: no other ptxas is used in its place.
 */
async function reportBrokenPtxasSetting(path: string, log: Logger): Promise<void> {
  const lookup = await findPtxas({ explicitPath: path });
  if (!lookup.found && lookup.explicit) {
    log.warn(
      `ringkernel.ptxas.path is ${path}, which ${lookup.explicit.problem}: PTX files are checked without ptxas until the setting is fixed or cleared`,
    );
  }
}

export interface ValidationWiring {
  /** Takes `ringkernel.ptxas.path` and `ringkernel.validation.*`, and revalidates open kernels. */
  applySettings(settings: RingKernelSettings): void;
  /** Validates every open kernel again (the machine context changed: the probe found the devices). */
  revalidateAll(): void;
  /** Validates `text` as the file `uri` would be (same validators and context), publishing nothing. */
  check(uri: string, language: KernelLanguage, text: string): Promise<ValidationOutcome>;
  dispose(): void;
}

/** What the rest of the server knows that validation uses: the devices present, the CUDA JIT. */
export type MachineContext = (
  uri: string,
) => Pick<ValidationContext, 'devices' | 'jitCompile' | 'expectedEntryPoints' | 'manifestName' | 'webgpuDevices'>;

export function wireValidation(
  connection: Connection,
  documents: TextDocuments<TextDocument>,
  log: Logger,
  machine: MachineContext,
): ValidationWiring {
  let settings: RingKernelSettings = DEFAULT_SETTINGS;
  const contextFor = (uri: string): ValidationContext => ({
    ...machine(uri),
    ptxasPath: settings['ptxas.path'] || undefined,
    displayName: displayNameOf(uri),
  });
  // One set of validators (one Tint child) for the editor's files and for hot reload's checks.
  const validators = new ValidatorSet({ logger: log });
  const service = new ValidationService({
    logger: log,
    validators,
    publish: (uri: string, version: number, outcome: ValidationOutcome) => {
      void connection.sendDiagnostics({
        uri,
        version,
        diagnostics: outcome.diagnostics.map((d) => toLspDiagnostic(uri, d)),
      });
    },
    get debounceMs() {
      return settings['validation.debounceMs'];
    },
    contextFor,
  });
  const asInput = (document: TextDocument): { uri: string; languageId: string; version: number; text: string } => ({
    uri: document.uri,
    languageId: document.languageId,
    version: document.version,
    text: document.getText(),
  });

  // TextDocuments also reports an opened document as changed; that version is validated at once
  // by onDidOpen, and a debounced run must not replace it.
  const openedVersion = new Map<string, number>();
  documents.onDidOpen((event) => {
    openedVersion.set(event.document.uri, event.document.version);
    service.validateSoon(asInput(event.document));
  });
  documents.onDidChangeContent((event) => {
    if (openedVersion.get(event.document.uri) === event.document.version) return;
    if (settings['validation.onType']) service.schedule(asInput(event.document));
  });
  documents.onDidSave((event) => service.validateSoon(asInput(event.document)));
  documents.onDidClose((event) => {
    openedVersion.delete(event.document.uri);
    service.close(event.document.uri);
    void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
  });
  service.warmUp();

  const applySettings = (next: RingKernelSettings): void => {
    const previous = settings;
    settings = next;
    const ptxas = settings['ptxas.path'];
    if (ptxas !== '' && ptxas !== previous['ptxas.path']) void reportBrokenPtxasSetting(ptxas, log);
    if (
      ptxas === previous['ptxas.path'] &&
      settings['validation.onType'] === previous['validation.onType'] &&
      settings['validation.debounceMs'] === previous['validation.debounceMs']
    )
      return;
    for (const document of documents.all()) service.validateSoon(asInput(document));
  };
  return {
    applySettings,
    revalidateAll: () => {
      for (const document of documents.all()) service.validateSoon(asInput(document));
    },
    check: (uri, language, text) => validators.validate(language, text, contextFor(uri)),
    dispose: () => {
      service.dispose();
      validators.dispose();
    },
  };
}
