// Text document notifications, checked before vscode-languageserver's TextDocuments reads them. It
// takes their params at their word: a didOpen without a string languageId or text became a
// document whose fields were undefined, and each listener then threw a TypeError into the log
// (found by fuzzing, test/fuzz/lspTransport). A malformed one is logged saying what was wrong, and
// ignored, as the notification it is (nothing can be answered).
import type { Connection, Disposable, NotificationHandler, TextDocuments } from 'vscode-languageserver/node';
import type { Logger } from '../logger';

/** What TextDocuments.listen needs of a connection (the library does not export the type by name). */
type TextDocumentConnection = Parameters<TextDocuments<never>['listen']>[0];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isPosition = (value: unknown): boolean =>
  isObject(value) && Number.isInteger(value.line) && Number.isInteger(value.character);
const isRange = (value: unknown): boolean => isObject(value) && isPosition(value.start) && isPosition(value.end);

/** What is wrong with a notification's `textDocument`, or undefined; `fields` says which it must have beside `uri`. */
function documentProblem(params: unknown, fields: { version?: boolean; open?: boolean }): string | undefined {
  if (!isObject(params) || !isObject(params.textDocument)) return 'params.textDocument is not an object';
  const document = params.textDocument;
  if (typeof document.uri !== 'string') return 'textDocument.uri is not a string';
  if ((fields.version === true || fields.open === true) && !Number.isInteger(document.version))
    return 'textDocument.version is not an integer';
  if (fields.open === true && typeof document.languageId !== 'string') return 'textDocument.languageId is not a string';
  if (fields.open === true && typeof document.text !== 'string') return 'textDocument.text is not a string';
  return undefined;
}

function changeProblem(params: unknown): string | undefined {
  const problem = documentProblem(params, { version: true });
  if (problem !== undefined || !isObject(params)) return problem;
  const changes = params.contentChanges;
  if (!Array.isArray(changes)) return 'contentChanges is not an array';
  for (const change of changes) {
    if (!isObject(change) || typeof change.text !== 'string') return 'a content change has no string text';
    if (change.range !== undefined && !isRange(change.range))
      return 'a content change has a range that is not {start, end} of integer lines and characters';
  }
  return undefined;
}

/** The connection's document events for TextDocuments.listen, each malformed notification logged and dropped. */
export function checkedDocumentEvents(connection: Connection, log: Logger): TextDocumentConnection {
  const checked =
    <P>(
      method: string,
      problemOf: (params: unknown) => string | undefined,
      handler: NotificationHandler<P>,
    ): NotificationHandler<P> =>
    (params) => {
      const problem = problemOf(params);
      if (problem === undefined) return handler(params);
      log.error(
        `the client sent ${method} with malformed params (${problem}): ${JSON.stringify(params)?.slice(0, 200) ?? String(params)}; it was ignored`,
      );
    };
  const uriOnly = (params: unknown): string | undefined => documentProblem(params, {});
  return {
    onDidOpenTextDocument: (handler): Disposable =>
      connection.onDidOpenTextDocument(
        checked('textDocument/didOpen', (p) => documentProblem(p, { open: true }), handler),
      ),
    onDidChangeTextDocument: (handler): Disposable =>
      connection.onDidChangeTextDocument(checked('textDocument/didChange', changeProblem, handler)),
    onDidCloseTextDocument: (handler): Disposable =>
      connection.onDidCloseTextDocument(checked('textDocument/didClose', uriOnly, handler)),
    onWillSaveTextDocument: (handler): Disposable =>
      connection.onWillSaveTextDocument(checked('textDocument/willSave', uriOnly, handler)),
    onWillSaveTextDocumentWaitUntil: (handler): Disposable => connection.onWillSaveTextDocumentWaitUntil(handler),
    onDidSaveTextDocument: (handler): Disposable =>
      connection.onDidSaveTextDocument(checked('textDocument/didSave', uriOnly, handler)),
  };
}
