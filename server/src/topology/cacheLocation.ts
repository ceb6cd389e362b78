// Where measured topologies are cached: one file per user, holding an entry per machine key.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Overrides the cache folder (tests, read-only homes). */
export const CACHE_DIR_ENV = 'RINGKERNEL_CACHE_DIR';

/**
 * $RINGKERNEL_CACHE_DIR/topology.json, else $XDG_CACHE_HOME/ringkernel/topology.json, else
 * ~/.cache/ringkernel/topology.json.
 */
export function topologyCachePath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const explicit = env[CACHE_DIR_ENV];
  if (explicit) return join(explicit, 'topology.json');
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg ? xdg : join(home, '.cache'), 'ringkernel', 'topology.json');
}
