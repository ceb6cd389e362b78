// Whether a kernel source file defines the entry point the manifest names, per language. This is
// a scan of the text, not a compile: the compilers (Tint, ptxas, metal) run in validation, while
// the manifest's check must be instant and work on any machine. WGSL reuses validation's scanner
// (it knows nested block comments); PTX and Metal share C-style comments, blanked first so a
// commented-out kernel does not count.
import type { KernelLanguage } from '../validation/validatorSet';
import { findWgslFunctions } from '../validation/wgslEntryPoints';

export interface EntryPointLookup {
  found: boolean;
  /** The kernel entry points the file does define, in order (for "did you mean"). */
  entryPoints: string[];
  /** When the name exists but is not a kernel entry point: what it is instead. */
  otherKind?: string;
}

/** What a language calls its kernel entry points, for messages. */
export const ENTRY_POINT_KIND: Record<KernelLanguage, string> = {
  wgsl: '@compute function',
  ptx: '.entry',
  msl: 'kernel function',
};

/**
 * Replaces `//` and `/* *\/` comments with spaces (line breaks kept), so offsets stay valid and
 * nothing inside a comment matches. String literals are skipped so a `"//"` survives.
 */
export function blankCComments(text: string): string {
  const out = text.split('');
  const n = text.length;
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
  };
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const start = i;
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      blank(start, i);
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else {
      i++;
    }
  }
  return out.join('');
}

function namesOf(pattern: RegExp, text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(pattern)) if (match[1] !== undefined) names.push(match[1]);
  return names;
}

function lookUpWgsl(text: string, name: string): EntryPointLookup {
  const functions = findWgslFunctions(text);
  const entryPoints = functions.filter((fn) => fn.stage === 'compute').map((fn) => fn.name);
  if (entryPoints.includes(name)) return { found: true, entryPoints };
  const other = functions.find((fn) => fn.name === name);
  if (!other) return { found: false, entryPoints };
  return {
    found: false,
    entryPoints,
    otherKind: other.stage ? `a @${other.stage} entry point, not @compute` : 'a function without @compute',
  };
}

// PTX: `.visible .entry name(`; a `.func` may put its return parameters before the name.
const PTX_ENTRY = /\.entry\s+([A-Za-z_$%][\w$]*)/g;
const PTX_FUNC = /\.func\s+(?:\([^)]*\)\s*)?([A-Za-z_$%][\w$]*)/g;

function lookUpPtx(text: string, name: string): EntryPointLookup {
  const code = blankCComments(text);
  const entryPoints = namesOf(PTX_ENTRY, code);
  if (entryPoints.includes(name)) return { found: true, entryPoints };
  if (namesOf(PTX_FUNC, code).includes(name))
    return { found: false, entryPoints, otherKind: 'a .func (a device function), not an .entry' };
  return { found: false, entryPoints };
}

// Metal: `kernel void name(` or the attribute form `[[kernel]] void name(`.
const MSL_KERNEL = /(?:\bkernel|\[\[\s*kernel\s*\]\])\s+void\s+([A-Za-z_]\w*)\s*\(/g;

function lookUpMsl(text: string, name: string): EntryPointLookup {
  const code = blankCComments(text);
  const entryPoints = namesOf(MSL_KERNEL, code);
  return { found: entryPoints.includes(name), entryPoints };
}

/** Looks for `name` among the kernel entry points `text` defines. Never throws. */
export function lookUpEntryPoint(language: KernelLanguage, text: string, name: string): EntryPointLookup {
  switch (language) {
    case 'wgsl':
      return lookUpWgsl(text, name);
    case 'ptx':
      return lookUpPtx(text, name);
    case 'msl':
      return lookUpMsl(text, name);
  }
}

/** Where the kernel entry point `name` is declared in `text` (its name's UTF-16 offset), if it is found. Never throws. */
export function entryPointOffset(language: KernelLanguage, text: string, name: string): number | undefined {
  if (language === 'wgsl')
    return findWgslFunctions(text).find((fn) => fn.name === name && fn.stage === 'compute')?.start;
  const pattern = language === 'ptx' ? PTX_ENTRY : MSL_KERNEL;
  for (const match of blankCComments(text).matchAll(pattern)) {
    if (match[1] === name && match.index !== undefined) return match.index + match[0].lastIndexOf(name);
  }
  return undefined;
}
