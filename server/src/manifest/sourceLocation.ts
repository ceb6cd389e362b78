// Where a kernel's `source` may be: inside the folder of ringkernel.json (the workspace folder).
// A manifest is shared with its workspace; one that reaches elsewhere (`../x.wgsl`, `/etc/x.wgsl`,
// a symbolic link that leaves the folder) would make opening a folder read, and with trust run,
// files the user never looked at.
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
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

/** Resolves kernel sources against one manifest folder, refusing those outside it. */
export class SourceLocator {
  private realFolder: string | null | undefined;

  constructor(private readonly folder: string) {}

  locate(written: string): SourceLocation {
    const path = resolve(this.folder, written);
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
    const target = this.realFolder === null ? undefined : realPath(path);
    if (target !== undefined && this.realFolder !== null && !contains(this.realFolder, target)) {
      return {
        path,
        outside: `"source" "${written}" leads through a symbolic link to ${target}, outside the workspace folder; ${fix}`,
      };
    }
    return { path };
  }
}
