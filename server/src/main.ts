// Entry of the language server (dist/server.js). The transport comes from the command line:
// `--node-ipc` when VS Code starts it, `--stdio` for any other LSP editor, `--socket=PORT`.
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { guardFraming } from './lsp/frameGuard';
import { startServer } from './lsp/server';
import { VERSION } from './version';

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}
if (
  !args.some(
    (arg) => arg === '--stdio' || arg === '--node-ipc' || arg.startsWith('--socket') || arg.startsWith('--pipe'),
  )
) {
  process.stderr.write(
    'ringkernel-language-server: choose a transport: --stdio (for editors), --node-ipc, --socket=PORT or --pipe=NAME\n',
  );
  process.exit(2);
}
const connection = createConnection(ProposedFeatures.all);
startServer(connection);
if (args.includes('--stdio')) {
  // A frame the library cannot read would leave the server alive and deaf: say so and exit.
  guardFraming(
    process.stdin,
    (problem) => {
      process.stderr.write(
        `ringkernel-language-server: the client sent a malformed LSP frame on stdin: ${problem}. ` +
          'Nothing after it can be read as a message, so the server exits (code 1); the client should restart it.\n',
      );
      process.exit(1);
    },
    (problem) => {
      // The library drops it without a word; the frames after it still read, so say so and go on.
      const message = `ringkernel-language-server: the client sent ${problem}; it was ignored, and a request in it gets no answer`;
      process.stderr.write(`${message}\n`);
      connection.console.error(message);
    },
  );
}
