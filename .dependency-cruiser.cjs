// The layering rules `npm run check` enforces (npm run check:deps). ARCHITECTURE.md, "Layers",
// says why each exists. Paths are relative to the repository root.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment:
        'Folders of server/src form layers: no folder may depend on one that depends back on it, however indirectly.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^server/src/' },
      to: { circular: true },
    },
    {
      name: 'shared-leaves-import-nothing',
      comment:
        'logger, paths, version and format at server/src/ sit under every folder (every process uses them); they import nothing of the engine.',
      severity: 'error',
      from: { path: '^server/src/(logger|paths|version|format)\\.ts$' },
      to: { path: '^server/src/' },
    },
    {
      name: 'abi-is-a-leaf',
      comment: 'The kernel ABI (docs/kernel-abi.md in code) depends on nothing, so every side can share it.',
      severity: 'error',
      from: { path: '^server/src/abi/' },
      to: { path: '^server/src/', pathNot: '^server/src/abi/' },
    },
    {
      name: 'child-code-stays-in-its-child',
      comment:
        'A child/ folder holds code that runs inside a child process (device host, probe, Tint host); the server process never loads it, only starts its bundle.',
      severity: 'error',
      from: { path: '^server/src/', pathNot: '/child/' },
      to: { path: '^server/src/.*/child/' },
    },
    {
      name: 'backend-implementations-only-in-children',
      comment:
        'Dawn and the CUDA driver print to stdout, hang and crash: they are loaded only inside child processes, never in the language server.',
      severity: 'error',
      from: { path: '^server/src/', pathNot: ['/child/', '^server/src/backends/'] },
      to: { path: '^server/src/backends/(webgpu|cuda)/' },
    },
    {
      name: 'client-imports-only-the-protocol',
      comment:
        'The extension may take the protocol module from the server tree and nothing else: the engine is not part of the extension host.',
      severity: 'error',
      from: { path: '^client/src/' },
      to: { path: '^server/', pathNot: '^server/src/lsp/protocol\\.ts$' },
    },
    {
      name: 'protocol-is-wire-types-only',
      comment:
        'The protocol defines what travels; engine types are mapped to it in lsp/wireMapping.ts, so an engine refactor cannot change the wire format unnoticed.',
      severity: 'error',
      from: { path: '^server/src/lsp/(protocol\\.ts$|wire/)' },
      to: { path: '^server/src/', pathNot: '^server/src/lsp/(protocol\\.ts$|wire/)' },
    },
    {
      name: 'no-vscode-in-server',
      comment: 'The engine is a library and the server runs outside VS Code: no VS Code API.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^vscode$|node_modules/@types/vscode/' },
    },
    {
      name: 'lsp-types-only-in-lsp',
      comment:
        'Only the LSP wiring (server/src/lsp/) and the server entry (server/src/main.ts) speak LSP; the engine is driven by the CLI and tests too.',
      severity: 'error',
      from: { path: '^server/src/', pathNot: ['^server/src/lsp/', '^server/src/main\\.ts$'] },
      to: {
        path: 'node_modules/(vscode-languageserver|vscode-languageserver-protocol|vscode-languageserver-types|vscode-languageserver-textdocument|vscode-jsonrpc)/',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // node_modules is a symlink in worktrees; keep paths as written so the rules match.
    preserveSymlinks: true,
    // The folder rule needs folder metrics.
    metrics: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
