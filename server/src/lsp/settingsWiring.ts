// The `ringkernel.*` settings on the LSP connection: pulled from the client where it answers
// workspace/configuration (VS Code does), else taken as pushed with didChangeConfiguration; read
// by server/src/settings (each bad value logged once, with the value used) and handed, typed, to
// every part that uses them.
import type { Connection } from 'vscode-languageserver/node';
import { errorMessage, type Logger } from '../logger';
import { DEFAULT_SETTINGS, readSettings, SettingsReporter, type RingKernelSettings } from '../settings';

export type SettingsListener = (settings: RingKernelSettings) => void;

export class SettingsWiring {
  private current: RingKernelSettings = DEFAULT_SETTINGS;
  private readonly reporter: SettingsReporter;
  private readonly listeners: SettingsListener[] = [];
  /** Cleared when the client cannot answer workspace/configuration; pushed settings are used then. */
  private pull = false;
  /** Reads overlap (a pull is a round trip): only the latest one applies. */
  private reads = 0;

  constructor(
    private readonly connection: Connection,
    private readonly log: Logger,
  ) {
    this.reporter = new SettingsReporter(log);
  }

  get settings(): RingKernelSettings {
    return this.current;
  }

  /** Called with the settings now and on every change. */
  onChange(listener: SettingsListener): void {
    this.listeners.push(listener);
  }

  /** From initialize: whether the client answers workspace/configuration. */
  setClientAnswers(answers: boolean): void {
    this.pull = answers;
  }

  /** Reads the settings again; `pushed` is the section a didChangeConfiguration carried, if any. */
  async refresh(pushed?: unknown): Promise<void> {
    const read = ++this.reads;
    let section: unknown = pushed;
    if (this.pull) {
      try {
        section = await this.connection.workspace.getConfiguration('ringkernel');
      } catch (error) {
        this.pull = false;
        this.log.info(
          `the editor does not answer workspace/configuration (${errorMessage(error)}); using the settings it pushes`,
        );
      }
    }
    // An editor that only says "something changed" leaves the settings as they were.
    if (read !== this.reads || section === undefined) return;
    const { settings, problems } = readSettings(section);
    this.reporter.report(problems);
    this.current = settings;
    for (const listener of this.listeners) listener(settings);
  }
}
