// Inputs for the validators: real kernels mutated the ways editing and damage mutate files, random
// bytes, deep nesting, huge lines, and text from invalid UTF-8 (or with lone UTF-16 surrogates).
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import fc from 'fast-check';
import { fixture } from '../support/repo';
import { somewhere } from './fuzzRun';

export type SourceLanguage = 'wgsl' | 'ptx' | 'msl';

const EXTENSION: Record<SourceLanguage, string> = { wgsl: '.wgsl', ptx: '.ptx', msl: '.metal' };

/** Every fixture kernel of a language under test/fixtures (validation, workspace, kernels, ptx). */
export function fixtureKernels(language: SourceLanguage): string[] {
  const folders = [['validation', language], ['workspace'], ['kernels'], ['ptx']];
  const texts: string[] = [];
  for (const parts of folders) {
    let names: string[];
    try {
      names = readdirSync(fixture(...parts));
    } catch {
      continue;
    }
    for (const name of names.sort())
      if (extname(name) === EXTENSION[language]) texts.push(readFileSync(fixture(...parts, name), 'utf8'));
  }
  if (texts.length === 0) throw new Error(`no ${language} fixtures under test/fixtures`);
  return texts;
}

/** Words each language is made of, so insertions reach past the lexer. */
const TOKENS: Record<SourceLanguage, string[]> = {
  wgsl: [
    'fn',
    '@compute',
    '@workgroup_size(64)',
    'var<storage, read_write>',
    'struct',
    'array<u32>',
    'let',
    'loop',
    'if',
    '{',
    '}',
    '(',
    ')',
    ';',
    '<',
    '>',
    'u32',
    'f16',
    'enable f16;',
    '@group(0)',
    '@binding(1)',
    '//',
    '/*',
    '*/',
    '"',
    '\\',
  ],
  ptx: [
    '.version 8.0',
    '.target sm_90',
    '.address_size 64',
    '.visible .entry',
    '.reg .b32 %r<4>;',
    'ld.global.u32',
    'st.global.u32',
    'add.s32',
    'bra',
    '{',
    '}',
    '(',
    ')',
    ';',
    ',',
    '%r1',
    '$L1:',
    '.param .u64',
    '//',
    '/*',
    '*/',
    '@%p1',
  ],
  msl: [
    '#include <metal_stdlib>',
    'using namespace metal;',
    'kernel void',
    'device float*',
    '[[buffer(0)]]',
    '[[thread_position_in_grid]]',
    'template<typename T>',
    '#define X(',
    '#if',
    '#endif',
    '{',
    '}',
    '(',
    ')',
    ';',
    '<',
    '>',
    '::',
    '//',
    '/*',
    '*/',
    '"',
    '\\',
  ],
};

/** Openers and closers that nest, per language (parsers recurse on these). */
const NESTERS: Record<SourceLanguage, [string, string][]> = {
  wgsl: [
    ['{', '}'],
    ['(', ')'],
    ['array<', '>'],
    ['-', ''],
    ['!', ''],
  ],
  ptx: [
    ['{', '}'],
    ['(', ')'],
    ['[', ']'],
    ['-', ''],
  ],
  msl: [
    ['{', '}'],
    ['(', ')'],
    ['[', ']'],
    ['<', '>'],
    ['#if 1\n', '#endif\n'],
  ],
};

type Edit = (text: string) => string;

function edits(language: SourceLanguage): fc.Arbitrary<Edit> {
  const at = somewhere;
  const splice = (text: string, where: number, remove: number, insert: string): string => {
    const i = Math.floor(where * text.length);
    return text.slice(0, i) + insert + text.slice(i + remove);
  };
  return fc.oneof(
    // Typing: a token or a few characters in.
    fc.tuple(at, fc.constantFrom(...TOKENS[language])).map(
      ([w, token]) =>
        (text: string) =>
          splice(text, w, 0, token),
    ),
    fc.tuple(at, fc.string({ maxLength: 8 })).map(
      ([w, s]) =>
        (text: string) =>
          splice(text, w, 0, s),
    ),
    // Deleting a span, or everything from a point (a truncated file).
    fc.tuple(at, fc.nat({ max: 200 })).map(
      ([w, n]) =>
        (text: string) =>
          splice(text, w, n, ''),
    ),
    at.map((w) => (text: string) => text.slice(0, Math.floor(w * text.length))),
    // One character replaced by anything, lone surrogates and control characters included.
    fc.tuple(at, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })).map(
      ([w, c]) =>
        (text: string) =>
          splice(text, w, 1, c),
    ),
    // A span duplicated (paste) or moved.
    fc.tuple(at, at, fc.nat({ max: 400 })).map(([from, to, n]) => (text: string) => {
      const i = Math.floor(from * text.length);
      return splice(text, to, 0, text.slice(i, i + n));
    }),
    // Line endings and whitespace damage.
    fc.constantFrom<Edit>(
      (t) => t.replace(/\n/g, '\r\n'),
      (t) => t.replace(/\n/g, '\r'),
      (t) => t.replace(/\n/g, '\u2028'),
      (t) => t.replace(/ /g, '\t'),
      (t) => `\uFEFF${t}`,
      (t) => t.replace(/;/g, ''),
    ),
    // Deep nesting at a point.
    fc.tuple(at, fc.constantFrom(...NESTERS[language]), fc.integer({ min: 1, max: 20_000 }), fc.boolean()).map(
      ([w, [open, close], depth, closed]) =>
        (text: string) =>
          splice(text, w, 0, open.repeat(depth) + (closed ? close.repeat(depth) : '')),
    ),
    // A huge line.
    fc.tuple(at, fc.constantFrom('a', ' ', '0', '/', '"', 'x1_'), fc.integer({ min: 1000, max: 200_000 })).map(
      ([w, unit, n]) =>
        (text: string) =>
          splice(text, w, 0, unit.repeat(n)),
    ),
  );
}

/** A real kernel of the language with 1 to 6 edits. */
export function mutatedKernel(language: SourceLanguage): fc.Arbitrary<string> {
  const kernels = fixtureKernels(language);
  return fc
    .tuple(fc.constantFrom(...kernels), fc.array(edits(language), { minLength: 1, maxLength: 6 }))
    .map(([text, steps]) => steps.reduce((t, edit) => edit(t), text));
}

/** Random bytes read as UTF-8, the way an editor shows a binary file (invalid sequences as U+FFFD). */
export const invalidUtf8Text: fc.Arbitrary<string> = fc
  .uint8Array({ maxLength: 4096 })
  .map((bytes) => Buffer.from(bytes).toString('utf8'));

/** Everything a validator may be handed: mostly mutated kernels, plus raw noise and pathological shapes. */
export function validatorInput(language: SourceLanguage): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: mutatedKernel(language) },
    { weight: 1, arbitrary: invalidUtf8Text },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2000 }) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.constantFrom(...TOKENS[language], ' ', '\n'), { maxLength: 400 })
        .map((parts) => parts.join(' ')),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...NESTERS[language]), fc.integer({ min: 100, max: 100_000 }))
        .map(([[open], depth]) => open.repeat(depth)),
    },
  );
}
