// validation: save -> diagnostics as an LSP client sees it (the real server over stdio: a change
// and a save, until that version's publishDiagnostics), against the same compiler called directly
// in a lean process of its own (raw.ts). Runs on any machine: no GPU needed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extensionRoot } from '../../server/src/paths';
import { LspSession } from '../lspSession';
import type { BenchContext } from '../method';
import { RawChild, type ValidatedLanguage } from '../raw';

const SUITE = 'validation';

interface Sample {
  language: ValidatedLanguage;
  size: string;
  text: string;
}

function samples(): Sample[] {
  const root = extensionRoot();
  const read = (...parts: string[]): string => readFileSync(join(root, ...parts), 'utf8');
  const wgsl = read('examples', 'kernels', 'heat.wgsl');
  const ptx = read('test', 'fixtures', 'kernels', 'abi_kernels.ptx');
  const msl = read('examples', 'kernels', 'saxpy.metal');
  const grow = (text: string, lines: number, each: (i: number) => string): string => {
    const out = [text];
    let count = text.split('\n').length;
    for (let i = 0; count < lines; i++) {
      const more = each(i);
      out.push(more);
      count += more.split('\n').length;
    }
    return out.join('\n');
  };
  const lines = (text: string): string => `${text.split('\n').length} lines`;
  const list: Sample[] = [
    { language: 'wgsl', size: '', text: wgsl },
    {
      language: 'wgsl',
      size: '',
      text: grow(
        wgsl,
        2000,
        (i) => `fn helper${i}(a: f32, b: f32) -> f32 {\n  let c = a * b + ${i}.0;\n  return c * c;\n}`,
      ),
    },
    { language: 'ptx', size: '', text: ptx },
    {
      language: 'ptx',
      size: '',
      text: grow(
        ptx,
        2000,
        (i) =>
          `.visible .entry filler${i}(.param .u64 p)\n{\n\t.reg .b32 %r<3>;\n\tmov.u32 %r1, ${i};\n\tadd.s32 %r2, %r1, 1;\n\tret;\n}`,
      ),
    },
    { language: 'msl', size: '', text: msl },
    {
      language: 'msl',
      size: '',
      text: grow(
        msl,
        2000,
        (i) => `inline float helper${i}(float a, float b) {\n  float c = a * b + ${i}.0f;\n  return c * c;\n}`,
      ),
    },
  ];
  return list.map((sample) => ({ ...sample, size: lines(sample.text) }));
}

const LANGUAGE_NAME: Record<ValidatedLanguage, string> = { wgsl: 'WGSL', ptx: 'PTX', msl: 'Metal' };

export async function validationSuite(bench: BenchContext): Promise<void> {
  const saves = bench.plan.quick ? 5 : 15;
  const session = LspSession.spawn();
  const raw = RawChild.start('compiler');
  try {
    await session.initialize(null);
    await session.untilProbed();
    for (const [n, sample] of samples().entries()) {
      const uri = `file:///bench/sample${n}.${sample.language === 'msl' ? 'metal' : sample.language}`;
      const opened = await session.open(uri, sample.language, sample.text);
      let version = 1;
      let edit = 0;
      let compiler = '';
      const name = `save → diagnostics, ${LANGUAGE_NAME[sample.language]}, ${sample.size}`;
      // Every save and every raw call gets new text (a comment that changes), so nothing is cached.
      await bench.pair({
        suite: SUITE,
        figures: [{ name, unit: 'ms' }],
        ours: async () => {
          const times: number[] = [];
          for (let i = 0; i < saves; i++) {
            version++;
            const started = performance.now();
            await session.changeAndSave(uri, version, `${sample.text}\n// edit ${version}\n`);
            times.push(performance.now() - started);
          }
          return { [name]: times };
        },
        raw: async () => {
          const times: number[] = [];
          for (let i = 0; i < saves; i++) {
            const result = await raw.ask<{ ms: number; compiler: string }>('compile', {
              language: sample.language,
              text: `${sample.text}\n// raw ${edit++}\n`,
            });
            compiler = result.compiler;
            times.push(result.ms);
          }
          return { [name]: times };
        },
        detail: () => ({
          server: [...new Set(opened.diagnostics.map((d) => d.source))].join(', ') || 'no diagnostics (valid code)',
          raw: compiler,
          savesPerRound: saves,
        }),
      });
    }
  } finally {
    raw.dispose();
    await session.close();
  }
}
