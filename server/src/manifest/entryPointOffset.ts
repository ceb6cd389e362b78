// Where a kernel's entry point is named in its source (the server answers ringkernel/entryPointOffsets for the client's CodeLenses): the same
// scans the manifest check uses (comments skipped), returning the name's offset. No VS Code API.
import { blankCComments } from './sourceEntryPoints';
import { findWgslFunctions } from '../validation/wgslEntryPoints';

/** The UTF-16 offset of entry point `name` in `text`, or undefined when the file does not define it. */
export function entryPointOffset(language: string, text: string, name: string): number | undefined {
  if (language === 'wgsl')
    return findWgslFunctions(text).find((fn) => fn.name === name && fn.stage === 'compute')?.start;
  if (language === 'ptx') {
    for (const match of blankCComments(text).matchAll(/\.entry\s+([A-Za-z_$%][\w$]*)/g)) {
      if (match[1] === name) return match.index + match[0].length - name.length;
    }
  }
  return undefined;
}
