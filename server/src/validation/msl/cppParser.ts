// Loads tree-sitter (web-tree-sitter, WebAssembly) with the C++ grammar from tree-sitter-cpp, once
// per process. Both packages stay outside the bundle and are found in node_modules at run time.
import { createRequire } from 'node:module';
import type * as TreeSitter from 'web-tree-sitter';
import { errorMessage } from '../../logger';

type TreeSitterModule = typeof TreeSitter;

let loading: Promise<TreeSitter.Parser> | undefined;

async function load(): Promise<TreeSitter.Parser> {
  const requireAtRuntime = createRequire(__filename);
  // A fresh module each load: after discardCppParser the old WebAssembly instance must not be reused.
  delete requireAtRuntime.cache[requireAtRuntime.resolve('web-tree-sitter')];
  const treeSitter = requireAtRuntime('web-tree-sitter') as TreeSitterModule;
  const runtimeWasm = requireAtRuntime.resolve('web-tree-sitter/web-tree-sitter.wasm');
  const grammarWasm = requireAtRuntime.resolve('tree-sitter-cpp/tree-sitter-cpp.wasm');
  await treeSitter.Parser.init({ locateFile: () => runtimeWasm });
  const language = await treeSitter.Language.load(grammarWasm);
  const parser = new treeSitter.Parser();
  parser.setLanguage(language);
  return parser;
}

/**
 * The shared C++ parser. Rejects with a message that names the packages when they cannot load;
 * a later call tries again.
 */
export function cppParser(): Promise<TreeSitter.Parser> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw new Error(
      `the MSL parser could not load (npm packages web-tree-sitter and tree-sitter-cpp): ${errorMessage(error)}. ` +
        'Reinstall the extension, or run npm install in its folder.',
    );
  });
  return loading;
}

/**
 * Forgets the parser after its WebAssembly instance failed (a RuntimeError such as "memory access
 * out of bounds" leaves its memory corrupt: every later parse fails too); the next call loads a new one.
 */
export function discardCppParser(): void {
  loading = undefined;
}

export type { TreeSitter };
