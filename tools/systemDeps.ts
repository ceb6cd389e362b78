// The system packages a path of `npm start` needs, installed through
// scripts/install-system-deps.sh (which names the groups and what each holds).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export type DepsGroup = 'browser' | 'code-server' | 'lavapipe' | 'archives';
export type OpenPath = 'desktop' | 'browser';

/**
 * A desktop VS Code needs nothing from here. Serving VS Code to a browser needs code-server's
 * build prerequisites until it is installed, and lavapipe so WGSL kernels execute on a machine
 * without a GPU (such a server is often exactly that machine). Chromium is for the integration
 * tests only: whoever opens the address brings their own browser.
 */
export function depsFor(path: OpenPath, codeServerInstalled: boolean): DepsGroup[] {
  if (path === 'desktop') return [];
  return codeServerInstalled ? ['lavapipe'] : ['code-server', 'lavapipe'];
}

/** Runs the install script for `groups` (nothing for none); throws with its message when it fails. */
export function installSystemDeps(repoRoot: string, groups: readonly DepsGroup[]): void {
  if (groups.length === 0) return;
  const script = join(repoRoot, 'scripts', 'install-system-deps.sh');
  const result = spawnSync('bash', [script, ...groups], { stdio: 'inherit' });
  if (result.error !== undefined) throw new Error(`could not run ${script}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `${script} ${groups.join(' ')} failed (${result.signal ?? `exit code ${String(result.status)}`}); its message is above`,
    );
  }
}
