// Our own PTX validator: parse, check, and turn problems into diagnostics at exact positions.
import { LineIndex, type Diagnostic } from '../diagnostic';
import type { PtxModule } from './ast';
import { PtxChecker } from './checker';
import { parsePtx } from './parser';
import { parseArch, type ParsedArch } from './targets';

export const PTX_PARSER_SOURCE = 'ringkernel-ptx';

export interface PtxParserResult {
  diagnostics: Diagnostic[];
  module: PtxModule;
  /** The module's `.target` architecture, when it names one we can read. */
  arch?: ParsedArch;
  /** Where the architecture word is, for diagnostics about it. */
  archLine?: number;
}

export function checkPtxText(text: string, index = new LineIndex(text)): PtxParserResult {
  const checker = new PtxChecker({ lineOf: (offset) => index.positionAt(offset).line });
  const module = parsePtx(text, checker);
  const problems = checker.finish(module);
  problems.sort((a, b) => a.start - b.start);
  const diagnostics: Diagnostic[] = problems.map((problem) => ({
    range: index.rangeOf(problem.start, problem.end - problem.start),
    severity: problem.severity,
    message: problem.message,
    source: PTX_PARSER_SOURCE,
    code: problem.code,
  }));
  const result: PtxParserResult = { diagnostics, module };
  for (const word of module.target?.words ?? []) {
    const arch = parseArch(word.text);
    if (arch) {
      result.arch = arch;
      result.archLine = word.line;
      break;
    }
  }
  return result;
}
