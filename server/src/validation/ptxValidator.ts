// PTX validation: ptxas where it exists, else the CUDA driver's JIT (through an injected function,
// so the engine needs no addon here), else our own parser. Our parser always runs first: it is
// cheap (about 1 ms per 1,000 lines), and its `.target` chooses ptxas's -arch and drives the
// device warning.
//
// Decision: when ptxas (or the JIT) ran, its diagnostics are published and our parser's are not.
// ptxas is the assembler that will actually run; ours would repeat its findings in other words
// (two squiggles for one slip), and if the two ever disagree ptxas is right. The one exception: a
// compiler that reports errors with no location at all, where ours can point at the line.
import { LineIndex, range, type Diagnostic, type ValidationResult } from './diagnostic';
import { checkPtxText, PTX_PARSER_SOURCE } from './ptx/ptxParserCheck';
import { archRunsOn, capabilityOf, type ParsedArch } from './ptx/targets';
import { DEFAULT_PTXAS_TIMEOUT_MS, findPtxas, ptxasDeadlineMs, runPtxas } from './ptxas';
import { ptxasLogToDiagnostics } from './ptxasLog';
import { errorMessage } from '../logger';

export const CUDA_JIT_SOURCE = 'cuda-jit';

export interface CudaDeviceInfo {
  name: string;
  /** `9.0`, `sm_90`, `[9, 0]` or 90. */
  computeCapability: string | number | readonly [number, number];
}

/** The driver's JIT (cuModuleLoadDataEx), as the CUDA addon offers it. Its logs read like ptxas's. */
export type JitCompile = (ptx: string, signal?: AbortSignal) => Promise<{ errorLog: string; infoLog: string }>;

export interface PtxValidateOptions {
  /** The setting `ringkernel.ptxas.path`. */
  ptxasPath?: string | undefined;
  /** For CUDA_HOME, CUDA_PATH and PATH (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Assemble for this arch (`sm_90`) instead of the module's `.target`. */
  deviceArch?: string | undefined;
  /** The CUDA devices present; a `.target` none of them can run is a warning naming them. */
  devices?: readonly CudaDeviceInfo[] | undefined;
  jitCompile?: JitCompile | undefined;
  /** Deadline for ptxas or the JIT on a small file (default 10 s); a larger file gets more in proportion (ptxasDeadlineMs). */
  timeoutMs?: number | undefined;
  /** The user's name for the file (its path), used in messages instead of a temporary file's. */
  displayName?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Only our parser (tests; the CLI's --no-compiler). */
  parserOnly?: boolean | undefined;
}

function deviceWarning(
  arch: ParsedArch,
  archLine: number,
  devices: readonly CudaDeviceInfo[],
  index: LineIndex,
): Diagnostic | undefined {
  const known = devices
    .map((device) => ({ device, capability: capabilityOf(device.computeCapability) }))
    .filter((d): d is { device: CudaDeviceInfo; capability: number } => d.capability !== undefined);
  if (known.length === 0 || known.some((d) => archRunsOn(arch, d.capability))) return undefined;
  const names = known.map((d) => `${d.device.name} (sm_${d.capability})`).join(', ');
  const why =
    arch.suffix === 'a'
      ? `${arch.name} code runs only on compute capability ${Math.floor(arch.capability / 10)}.${arch.capability % 10} devices`
      : arch.suffix === 'f'
        ? `${arch.name} code runs only on the sm_${Math.floor(arch.capability / 10)}x family from ${arch.name.replace(/f$/, '')} on`
        : `.target ${arch.name} is newer than every CUDA device present`;
  return {
    range: index.findTokenOnLine(archLine, arch.name) ?? index.lineExtent(archLine),
    severity: 'warning',
    message: `${why}: ${names}. The driver will refuse to load this module there; lower .target (and -arch) to one they support.`,
    source: PTX_PARSER_SOURCE,
    code: 'target-newer-than-devices',
  };
}

/**
 * Compiler diagnostics, plus our located ones when the compiler gave no location at all. A
 * compiler syntax error ("Parsing error near 'mov'") points at the token after the slip; when our
 * parser saw the slip itself (a missing ';' on the line before), that goes along as related
 * information, so the editor can show both places.
 */
function preferCompiler(compiler: Diagnostic[], ours: Diagnostic[]): Diagnostic[] {
  const compilerErrors = compiler.filter((d) => d.severity === 'error');
  if (compilerErrors.length > 0 && compilerErrors.every((d) => d.fileLevel === true)) {
    return [...compiler, ...ours.filter((d) => d.severity === 'error')];
  }
  for (const diagnostic of compiler) {
    if (!/syntax error/i.test(diagnostic.message)) continue;
    const line = diagnostic.range.start.line;
    const slip = ours.find(
      (d) => d.severity === 'error' && (d.range.start.line === line || d.range.start.line === line - 1),
    );
    if (slip) (diagnostic.related ??= []).push({ message: `${PTX_PARSER_SOURCE}: ${slip.message}`, range: slip.range });
  }
  return compiler;
}

/** A whole-file note at the top, never a claim about line 1 (fileLevel). */
function fileNote(severity: Diagnostic['severity'], message: string, code: string): Diagnostic {
  return { range: range(0, 0, 0, 0), severity, message, source: PTX_PARSER_SOURCE, code, fileLevel: true };
}

export async function validatePtx(text: string, options: PtxValidateOptions = {}): Promise<ValidationResult> {
  const index = new LineIndex(text);
  const parsed = checkPtxText(text, index);
  const notes: string[] = [];
  const extra: Diagnostic[] = [];
  if (parsed.arch && parsed.archLine !== undefined && options.devices) {
    const warning = deviceWarning(parsed.arch, parsed.archLine, options.devices, index);
    if (warning) extra.push(warning);
  }
  const timeoutMs = ptxasDeadlineMs(text.length, options.timeoutMs ?? DEFAULT_PTXAS_TIMEOUT_MS);
  /** Why no compiler answered, when one was wanted. */
  const missed: string[] = [];
  /** Whether a compiler that exists failed on this file (then the fallback is worth a diagnostic, not only a log line). */
  let compilerFailed = false;

  if (options.parserOnly !== true) {
    const lookup = await findPtxas({ explicitPath: options.ptxasPath, env: options.env });
    notes.push(...lookup.notes);
    if (lookup.found) {
      const run = await runPtxas(lookup.tool, text, {
        target: parsed.arch?.name,
        deviceArch: options.deviceArch,
        signal: options.signal,
        timeoutMs,
        displayName: options.displayName,
      });
      if (run.kind === 'ran') {
        notes.push(
          `${lookup.tool.source} from ${lookup.tool.origin} (${lookup.tool.path}), -arch ${run.arch ?? 'default'}, ${run.ms.toFixed(0)} ms`,
        );
        return {
          diagnostics: [...preferCompiler(run.diagnostics, parsed.diagnostics), ...extra],
          validator: lookup.tool.source,
          notes,
        };
      }
      if (options.signal?.aborted === true)
        return { diagnostics: [], validator: lookup.tool.source, skipped: 'cancelled', notes };
      missed.push(`ptxas skipped: ${run.reason}`);
      compilerFailed = true;
    } else if (lookup.explicit) {
      // A ptxas named explicitly that does not work is a mistake to show, not a reason to use another one.
      missed.push(lookup.reason);
      extra.push(
        fileNote(
          'warning',
          `ringkernel.ptxas.path is ${lookup.explicit.path}, which ${lookup.explicit.problem}: no ptxas checked this file. ` +
            'Fix the setting, or clear it to find ptxas through CUDA_HOME, CUDA_PATH or PATH.',
          'ptxas-path',
        ),
      );
    } else {
      missed.push(lookup.reason);
    }

    if (options.jitCompile) {
      try {
        const log = await withTimeout(options.jitCompile(text, options.signal), timeoutMs);
        if (log === undefined) {
          missed.push(`the CUDA driver's JIT did not answer within ${timeoutMs} ms`);
          compilerFailed = true;
        } else {
          const compiler = ptxasLogToDiagnostics(`${log.errorLog}\n${log.infoLog}`, text, CUDA_JIT_SOURCE, index);
          return {
            diagnostics: [...preferCompiler(compiler, parsed.diagnostics), ...extra],
            validator: CUDA_JIT_SOURCE,
            notes: [...notes, ...missed],
          };
        }
      } catch (error) {
        missed.push(`the CUDA driver's JIT failed: ${errorMessage(error)}`);
        compilerFailed = true;
      }
    }
  }
  const instead = "Checked with RingKernel's own PTX parser instead";
  const why = missed.map((reason) => reason.replace(/\.$/, '')).join('; ');
  if (compilerFailed) {
    // The compiler exists but gave no answer on this file (too slow, crashed): the result is
    // weaker than usual, and the user must see that where the diagnostics are.
    extra.push(
      fileNote('information', `${why}. ${instead}, which finds fewer problems than the compiler.`, 'compiler-fallback'),
    );
  }
  const result: ValidationResult = {
    diagnostics: [...parsed.diagnostics, ...extra],
    validator: PTX_PARSER_SOURCE,
    notes,
  };
  // The parser answered, but the compiler that will run the code did not: say so (logged once per reason).
  if (missed.length > 0) result.skipped = `${why}. ${instead}.`;
  return result;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
