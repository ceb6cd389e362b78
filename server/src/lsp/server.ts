// The LSP wiring: binds the engine to a connection. The only server file (with protocol.ts) that
// knows about LSP.
import { TextDocumentSyncKind, TextDocuments, type Connection, type InitializeResult } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { probeBackends } from '../backends/backendProbe';
import { describeBackend } from '../backends/backendReport';
import { errorMessage, type Logger } from '../logger';
import { VERSION } from '../version';
import { serverInfoChangedNotification, serverInfoRequest } from './protocol';
import { ServerState } from './serverState';

function connectionLogger(connection: Connection): Logger {
  return {
    error: (message) => connection.console.error(message),
    warn: (message) => connection.console.warn(message),
    info: (message) => connection.console.info(message),
    debug: (message) => connection.console.log(message),
  };
}

export function startServer(connection: Connection): void {
  const log = connectionLogger(connection);
  const state = new ServerState();
  const documents = new TextDocuments(TextDocument);

  // The server survives its own errors: log them and keep answering.
  process.on('uncaughtException', (error) => log.error(`internal error (the server keeps running): ${error.stack ?? errorMessage(error)}`));
  process.on('unhandledRejection', (reason) => log.error(`internal error in a promise (the server keeps running): ${errorMessage(reason)}`));

  connection.onInitialize((): InitializeResult => ({
    capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental },
    serverInfo: { name: 'ringkernel-language-server', version: VERSION },
  }));

  connection.onInitialized(() => {
    log.info(`RingKernel language server ${VERSION} started (pid ${process.pid}, Node ${process.versions.node})`);
    log.info('probing GPU backends...');
    void probeBackends({ onOutput: (line) => log.debug(`[probe] ${line}`) }).then((reports) => {
      state.setBackends(reports);
      for (const report of reports) log.info(describeBackend(report));
      void connection.sendNotification(serverInfoChangedNotification, state.info());
    });
  });

  connection.onRequest(serverInfoRequest, () => state.info());

  documents.onDidOpen((event) => log.debug(`opened ${event.document.uri} (${event.document.languageId}, ${event.document.getText().length} characters)`));
  documents.onDidClose((event) => log.debug(`closed ${event.document.uri}`));

  documents.listen(connection);
  connection.listen();
}
