// Where a kernel's `source` may be: inside the folder of ringkernel.json (the workspace folder).
// A manifest is shared with its workspace; one that reaches elsewhere (`../x.wgsl`, `/etc/x.wgsl`,
// a symbolic link that leaves the folder) would make opening a folder read, and with trust run,
// files the user never looked at.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MANIFEST_NAME } from './manifestRules';

export interface SourceLocation {
  /** The absolute path `source` names. */
  path: string;
  /** Set when the file is outside the folder, saying where it leads; such a file is never read. */
  outside?: string;
}

function contains(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined; // missing (the reader says so), or not a real file system path
  }
}

/**
 * Where `path` really is, also when it does not exist yet: a missing file under a linked folder,
 * or a link whose target is missing, would otherwise pass unchecked and lead out once the file
 * appears. The nearest existing parent's real path, then the rest; a dangling link by its target.
 */
function realPathEvenIfMissing(path: string): string | undefined {
  const real = realPath(path);
  if (real !== undefined) return real;
  const parent = dirname(path);
  if (parent === path) return undefined;
  const realParent = realPathEvenIfMissing(parent);
  if (realParent === undefined) return undefined;
  try {
    if (lstatSync(path).isSymbolicLink()) return resolve(realParent, readlinkSync(path));
  } catch {
    // missing: the rest of the path is taken as written
  }
  return join(realParent, basename(path));
}

/** Resolves kernel sources against one manifest folder, refusing those outside it. */
export class SourceLocator {
  private realFolder: string | null | undefined;

  constructor(private readonly folder: string) {}

  locate(written: string): SourceLocation {
    const path = resolve(this.folder, written);
    if (written.includes('\0'))
      return {
        path,
        outside: `"source" contains a NUL character, which no file name has; give the file's relative path`,
      };
    const fix = `kernel sources must be inside the folder of ${MANIFEST_NAME} (${this.folder}): move the file there and give its relative path`;
    if (isAbsolute(written))
      return {
        path,
        outside: `"source" must be a path relative to ${MANIFEST_NAME}, not the absolute path ${path}; ${fix}`,
      };
    if (!contains(this.folder, path))
      return { path, outside: `"source" "${written}" resolves to ${path}, outside the workspace folder; ${fix}` };
    // A link may lead out of the folder; compare real paths (the folder itself may sit behind a link).
    if (this.realFolder === undefined) this.realFolder = realPath(this.folder) ?? null;
    const target = this.realFolder === null ? undefined : realPathEvenIfMissing(path);
    if (target !== undefined && this.realFolder !== null && !contains(this.realFolder, target)) {
      return {
        path,
        outside: `"source" "${written}" leads through a symbolic link to ${target}, outside the workspace folder; ${fix}`,
      };
    }
    return { path };
  }
}
