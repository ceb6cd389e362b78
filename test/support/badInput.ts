// Hostile file contents the language server must survive.
import { randomBytes } from 'node:crypto';

/** Random bytes decoded as UTF-8 (so invalid sequences become U+FFFD, as an editor would show them). */
export function randomText(bytes: number): string {
  return randomBytes(bytes).toString('utf8');
}

/** About `megabytes` MB of plausible source in a language, so parsers do real work on it. */
export function hugeSource(languageId: 'wgsl' | 'ptx' | 'msl', megabytes: number): string {
  const line = {
    wgsl: 'fn f(a: f32) -> f32 { return a * 2.0; } // filler for a very large file\n',
    ptx: '\tadd.s32 \t%r1, %r2, %r3; // filler for a very large file\n',
    msl: 'inline float f(float a) { return a * 2.0f; } // filler for a very large file\n',
  }[languageId];
  return line.repeat(Math.ceil((megabytes * 1024 * 1024) / line.length));
}
