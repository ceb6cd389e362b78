// The "RingKernel" log channel as vscode-languageclient writes to it. The client formats every
// line itself ("[Warn  - 10:42:01] message") and appends it as plain text, so a LogOutputChannel,
// which stamps its own time and level, showed two timestamps and every server warning at info
// level. This channel hands the client's lines to the log at their own level, without the prefix.
import type * as vscode from 'vscode';

export type LogLevelName = 'error' | 'warn' | 'info' | 'debug' | 'trace';

const LEVELS: Record<string, LogLevelName> = {
  Error: 'error',
  Warn: 'warn',
  Info: 'info',
  Debug: 'debug',
  Trace: 'trace',
  Log: 'info',
};
const PREFIX = /^\[(Error|Warn|Info|Debug|Trace|Log)\s*-\s*[^\]]*\]\s?/;

/** Pure: a line from vscode-languageclient as its level and text; `previous` is the level of the line before (for continuation lines such as a stack). */
export function parseClientLine(line: string, previous: LogLevelName = 'info'): { level: LogLevelName; text: string } {
  const match = PREFIX.exec(line);
  if (!match) return { level: previous, text: line };
  return { level: LEVELS[match[1] ?? 'Info'] ?? 'info', text: line.slice(match[0].length) };
}

/** An OutputChannel for the LanguageClient that writes into `log` at each line's level. */
export function levelledChannel(log: vscode.LogOutputChannel): vscode.OutputChannel {
  let previous: LogLevelName = 'info';
  const write = (value: string): void => {
    for (const line of value.split(/\r?\n/)) {
      if (line === '') continue;
      const parsed = parseClientLine(line, previous);
      previous = parsed.level;
      log[parsed.level](parsed.text);
    }
  };
  return {
    name: log.name,
    append: write,
    appendLine: write,
    replace: (value) => {
      log.replace(value);
    },
    clear: () => log.clear(),
    show: (columnOrPreserve?: vscode.ViewColumn | boolean, preserveFocus?: boolean) => {
      if (typeof columnOrPreserve === 'boolean' || columnOrPreserve === undefined) log.show(columnOrPreserve);
      else log.show(columnOrPreserve, preserveFocus);
    },
    hide: () => log.hide(),
    // The log channel belongs to the extension; the client must not dispose of it.
    dispose: () => undefined,
  };
}
