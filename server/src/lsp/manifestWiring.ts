// Binds the manifest checker to the LSP connection: each workspace root's ringkernel.json gets
// its problems as diagnostics (source "ringkernel"), from the editor's text while it is open and
// from disk otherwise, and again when a kernel file it names is saved (an entry point may have
// appeared or gone). VS Code validates the contributed JSON schema itself, so for it only the
// problems it cannot see are published; other editors get them all.
//
// TextDocuments fires its events through Emitters, so these listeners sit beside validation's
// (checked in vscode-languageserver 9: lib/common/textDocuments.js). Validation clears the
// diagnostics of every closed document, the manifest included; the manifest's are re-published
// after it, from disk, on the next turn of the event loop.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DiagnosticSeverity,
  type Connection,
  type Diagnostic,
  type Disposable,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { errorMessage } from '../logger';
import { MANIFEST_NAME, parseManifest, type Manifest } from '../manifest/manifest';
import { LineIndex } from '../validation/diagnostic';

/** Quiet time after the last keystroke in the manifest before it is checked again. */
export const MANIFEST_DEBOUNCE_MS = 200;

export interface ManifestWiringOptions {
  /** True for VS Code, which checks the contributed schema itself: publish only 'semantic' problems. */
  clientValidatesSchema: () => boolean;
  /** Notes on kernel entries from outside the manifest (a kernel that cannot run here), published as warnings on the entry's id. */
  kernelNotes?: () => { kernelId: string; reason: string }[];
  /** Called with each fresh parse (after typing settles, on open, save, close, and kernel file saves). */
  onManifestChanged?: (manifest: Manifest) => void;
}

export interface ManifestWiring {
  /** The latest parse of the root's manifest; undefined when the root has none. */
  manifestFor(root: string): Manifest | undefined;
  /** Re-reads every root's manifest (call once the workspace roots are known, and when they change). */
  refresh(): void;
  dispose(): void;
}

export const MANIFEST_DIAGNOSTIC_SOURCE = 'ringkernel';

const SEVERITY = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning } as const;

function pathOf(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return resolve(fileURLToPath(uri));
  } catch {
    return undefined;
  }
}

/** The problems as LSP diagnostics, positioned in `text` (the text that was parsed). */
export function manifestDiagnostics(manifest: Manifest, text: string, schemaToo: boolean): Diagnostic[] {
  const lines = new LineIndex(text);
  return manifest.problems
    .filter((problem) => schemaToo || problem.kind === 'semantic')
    .map((problem) => ({
      range: lines.rangeOf(problem.offset, problem.length),
      severity: SEVERITY[problem.severity],
      message: problem.message,
      source: MANIFEST_DIAGNOSTIC_SOURCE,
    }));
}

/** Each note as a warning on its kernel's `"id"` value (the document's start when the id is not found). */
export function kernelNoteDiagnostics(
  notes: readonly { kernelId: string; reason: string }[],
  text: string,
): Diagnostic[] {
  const lines = new LineIndex(text);
  return notes.map(({ kernelId, reason }) => {
    const escaped = JSON.stringify(kernelId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`"id"\\s*:\\s*(${escaped})`).exec(text);
    const offset = match?.index === undefined ? 0 : match.index + match[0].length - (match[1]?.length ?? 0);
    return {
      range: lines.rangeOf(offset, match?.[1]?.length ?? 0),
      severity: DiagnosticSeverity.Warning,
      message: `kernel "${kernelId}" does not run on this machine: ${reason}. The other kernels run; the log has the full reason.`,
      source: MANIFEST_DIAGNOSTIC_SOURCE,
    };
  });
}

export function wireManifestDiagnostics(
  connection: Connection,
  documents: TextDocuments<TextDocument>,
  workspaceRoots: () => string[],
  options: ManifestWiringOptions,
): ManifestWiring {
  /** Latest parse per manifest path, and the roots they belong to. */
  const manifests = new Map<string, Manifest>();
  const timers = new Map<string, NodeJS.Timeout>();
  /** The text last parsed per manifest: TextDocuments reports an open as a change too. */
  const lastText = new Map<string, string>();
  let disposed = false;

  const manifestPaths = (): string[] => [
    ...new Set(workspaceRoots().map((root) => resolve(join(root, MANIFEST_NAME)))),
  ];
  const isManifest = (path: string): boolean => manifestPaths().includes(path);
  const openDocument = (path: string): TextDocument | undefined =>
    documents.all().find((document) => pathOf(document.uri) === path);

  const publish = (path: string, manifest: Manifest, text: string, document: TextDocument | undefined): void => {
    const diagnostics = [
      ...manifestDiagnostics(manifest, text, !options.clientValidatesSchema()),
      ...kernelNoteDiagnostics(options.kernelNotes?.() ?? [], text),
    ];
    // An open document's own URI: the client may spell the same path differently.
    const uri = document?.uri ?? pathToFileURL(path).href;
    void connection.sendDiagnostics(document ? { uri, version: document.version, diagnostics } : { uri, diagnostics });
  };

  const changed = (manifest: Manifest): void => {
    try {
      options.onManifestChanged?.(manifest);
    } catch (error) {
      connection.console.error(`handling the changed ${MANIFEST_NAME} failed: ${errorMessage(error)}`);
    }
  };

  /** Parses one manifest from the editor (when open and `fromEditor`) or from disk, and publishes. */
  const check = (path: string, fromEditor: boolean): void => {
    if (disposed) return;
    try {
      const document = fromEditor ? openDocument(path) : undefined;
      let text: string | undefined = document?.getText();
      if (text === undefined) {
        if (!existsSync(path)) {
          // No manifest (any more): nothing to show, and whoever runs its kernels hears once.
          const had = manifests.delete(path);
          lastText.delete(path);
          void connection.sendDiagnostics({ uri: pathToFileURL(path).href, diagnostics: [] });
          if (had) changed({ path, kernels: [], problems: [], declared: [] });
          return;
        }
        try {
          text = readFileSync(path, 'utf8');
        } catch (error) {
          text = '';
          connection.console.warn(`${path} could not be read: ${errorMessage(error)}`);
        }
      }
      const manifest = parseManifest(text, path);
      manifests.set(path, manifest);
      lastText.set(path, text);
      publish(path, manifest, text, document ?? openDocument(path));
      changed(manifest);
    } catch (error) {
      connection.console.error(`checking ${path} failed: ${errorMessage(error)}`);
    }
  };

  const later = (path: string, fromEditor: boolean, delayMs: number): void => {
    clearTimeout(timers.get(path));
    timers.set(
      path,
      setTimeout(() => {
        timers.delete(path);
        check(path, fromEditor);
      }, delayMs),
    );
  };

  /** Manifests that name `path` as a kernel source, broken kernels included. */
  const manifestsNaming = (path: string): string[] =>
    [...manifests.entries()]
      .filter(([, manifest]) => manifest.declared.some((kernel) => kernel.source === path))
      .map(([manifestPath]) => manifestPath);

  const guard =
    <E>(handler: (event: E) => void) =>
    (event: E): void => {
      try {
        handler(event);
      } catch (error) {
        connection.console.error(`${MANIFEST_NAME} wiring: ${errorMessage(error)}`);
      }
    };

  const subscriptions: Disposable[] = [
    documents.onDidOpen(
      guard((event) => {
        const path = pathOf(event.document.uri);
        if (path !== undefined && isManifest(path)) {
          clearTimeout(timers.get(path));
          check(path, true);
        }
      }),
    ),
    documents.onDidChangeContent(
      guard((event) => {
        const path = pathOf(event.document.uri);
        if (path === undefined || !isManifest(path) || lastText.get(path) === event.document.getText()) return;
        later(path, true, MANIFEST_DEBOUNCE_MS);
      }),
    ),
    documents.onDidSave(
      guard((event) => {
        const path = pathOf(event.document.uri);
        if (path === undefined) return;
        if (isManifest(path)) {
          clearTimeout(timers.get(path));
          check(path, false);
          return;
        }
        for (const manifestPath of manifestsNaming(path)) check(manifestPath, true);
      }),
    ),
    documents.onDidClose(
      guard((event) => {
        const path = pathOf(event.document.uri);
        // After validation's clearing of the closed document (see the top of this file).
        if (path !== undefined && isManifest(path)) later(path, false, 0);
      }),
    ),
  ];

  return {
    manifestFor: (root) => manifests.get(resolve(join(root, MANIFEST_NAME))),
    refresh: () => {
      const current = manifestPaths();
      // A root that left the workspace takes its manifest's diagnostics with it.
      for (const path of [...manifests.keys()]) {
        if (!current.includes(path)) {
          manifests.delete(path);
          lastText.delete(path);
          void connection.sendDiagnostics({ uri: pathToFileURL(path).href, diagnostics: [] });
        }
      }
      for (const path of current) check(path, true);
    },
    dispose: () => {
      disposed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      for (const subscription of subscriptions) subscription.dispose();
    },
  };
}
