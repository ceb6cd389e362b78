// Says each settings problem once: the settings are read again on every change (and by editors
// that push them, on every keystroke in settings.json), and a bad value left alone is not news.
// A problem that was fixed and comes back is said again.
import type { Logger } from '../logger';
import type { SettingProblem } from './readSettings';

export class SettingsReporter {
  private reported = new Set<string>();

  constructor(private readonly log: Pick<Logger, 'warn'>) {}

  /** Logs the problems not reported by the previous read; returns them. */
  report(problems: readonly SettingProblem[]): SettingProblem[] {
    const fresh = problems.filter((p) => !this.reported.has(p.message));
    for (const problem of fresh) this.log.warn(problem.message);
    this.reported = new Set(problems.map((p) => p.message));
    return fresh;
  }
}
