// One entry point for every language: picks the validator, applies the size limits and the
// diagnostics cap, and turns anything a validator throws into a skip with its reason. Never throws.
import { errorMessage, type Logger } from '../logger';
import { capDiagnostics, compareDiagnostics, DEFAULT_MAX_DIAGNOSTICS, range, type Diagnostic } from './diagnostic';
import { disposeSharedMslParser, sharedMslParser } from './msl/mslParserWorker';
import { validateMsl, type MslValidateOptions } from './msl/mslValidator';
import { validatePtx, type PtxValidateOptions } from './ptxValidator';
import { WgslValidator, type ExpectedEntryPoint } from './wgslValidator';
import type { WgslDevice } from './wgslFeatures';

export type KernelLanguage = 'wgsl' | 'ptx' | 'msl';

/** `wgsl`, `ptx`, `msl`/`metal`, or a file name/path ending in `.wgsl`, `.ptx`, `.metal`. */
export function kernelLanguageOf(languageIdOrPath: string): KernelLanguage | undefined {
  const lower = languageIdOrPath.toLowerCase();
  if (lower === 'wgsl' || lower.endsWith('.wgsl')) return 'wgsl';
  if (lower === 'ptx' || lower.endsWith('.ptx')) return 'ptx';
  if (lower === 'msl' || lower === 'metal' || lower.endsWith('.metal')) return 'msl';
  return undefined;
}

/**
 * What a validation needs to know beyond the text; all optional. PTX's options (ptxas path,
 * devices, JIT, deadline, parser only, signal) apply to every language where they mean something.
 */
export interface ValidationContext extends PtxValidateOptions, Pick<MslValidateOptions, 'parseBudgetMs'> {
  /** WGSL: entry points the manifest declares for this file (one per kernel using it, with its device). */
  expectedEntryPoints?: readonly ExpectedEntryPoint[] | undefined;
  manifestName?: string | undefined;
  /** WGSL: the WebGPU devices present, with their features. */
  webgpuDevices?: readonly WgslDevice[] | undefined;
}

export interface ValidationOutcome {
  language: KernelLanguage;
  diagnostics: Diagnostic[];
  /** `tint`, `ptxas 13.0`, `cuda-jit`, `metal`, `ringkernel-ptx`, `ringkernel-msl`. */
  validator: string;
  /** Why nothing (or only part) was validated; never an exception. */
  skipped?: string;
  /** Nothing checked the text (see ValidationResult.unchecked); the diagnostics then carry a `not-validated` one saying why. */
  unchecked?: true;
  notes?: string[];
  ms: number;
}

/** The code of the diagnostic that says a file was not validated at all. */
export const NOT_VALIDATED = 'not-validated';

/** Largest text each language is validated at, in UTF-16 code units. */
export interface SizeLimits {
  wgsl: number;
  ptx: number;
  msl: number;
}

export const DEFAULT_SIZE_LIMITS: SizeLimits = {
  // Tint needs about 5 µs per character on function-dense code (1.4 MB: 7 s).
  wgsl: 1024 * 1024,
  // Our PTX parser runs in the server's thread: about 60 ms per MB.
  ptx: 16 * 1024 * 1024,
  // tree-sitter stops at its time budget anyway; this only spares the attempt.
  msl: 4 * 1024 * 1024,
};

export interface ValidatorSetOptions {
  logger: Logger;
  /** dist/tintHost.js by default. */
  tintHostScript?: string | undefined;
  limits?: Partial<SizeLimits>;
  maxDiagnostics?: number;
}

const DEFAULT_SOURCE: Record<KernelLanguage, string> = { wgsl: 'tint', ptx: 'ringkernel-ptx', msl: 'ringkernel-msl' };

export class ValidatorSet {
  private wgsl: WgslValidator | undefined;
  private readonly limits: SizeLimits;

  constructor(private readonly options: ValidatorSetOptions) {
    this.limits = { ...DEFAULT_SIZE_LIMITS, ...options.limits };
  }

  /** Starts the WGSL validator's child process and the MSL parser's worker thread ahead of the first file. */
  warmUp(): void {
    this.wgslValidator().warmUp();
    this.listenToMslParser();
    sharedMslParser().warmUp();
  }

  private stopListening: (() => void) | undefined;

  /** A Metal parser worker replaced after a fault or a hang goes to the log (the file says so in its diagnostic). */
  private listenToMslParser(): void {
    this.stopListening ??= sharedMslParser().onRestart((reason) => this.options.logger.warn(reason));
  }

  private wgslValidator(): WgslValidator {
    this.wgsl ??= new WgslValidator({ logger: this.options.logger, hostScript: this.options.tintHostScript });
    return this.wgsl;
  }

  async validate(language: KernelLanguage, text: string, context: ValidationContext = {}): Promise<ValidationOutcome> {
    const started = performance.now();
    const finish = (outcome: Omit<ValidationOutcome, 'ms' | 'language'>): ValidationOutcome => {
      const all = [...outcome.diagnostics];
      // A file nobody checked must not look like a clean one: say so where diagnostics are read.
      if (
        outcome.unchecked === true &&
        outcome.skipped !== undefined &&
        outcome.skipped !== 'cancelled' &&
        context.signal?.aborted !== true
      ) {
        all.push({
          range: range(0, 0, 0, 0),
          severity: 'information',
          message: `This file was not validated: ${outcome.skipped.replace(/\.$/, '')}.`,
          source: outcome.validator,
          code: NOT_VALIDATED,
          fileLevel: true,
        });
      }
      const diagnostics = capDiagnostics(
        all.sort(compareDiagnostics),
        this.options.maxDiagnostics ?? DEFAULT_MAX_DIAGNOSTICS,
        outcome.validator,
      );
      return { ...outcome, diagnostics, language, ms: performance.now() - started };
    };
    const limit = this.limits[language];
    if (text.length > limit) {
      return finish({
        diagnostics: [],
        validator: DEFAULT_SOURCE[language],
        skipped: `the file has ${formatSize(text.length)}, more than the ${formatSize(limit)} that ${language.toUpperCase()} files are validated up to`,
        unchecked: true,
      });
    }
    try {
      switch (language) {
        case 'wgsl':
          return finish(await this.wgslValidator().validate(text, context));
        case 'ptx':
          return finish(await validatePtx(text, context));
        case 'msl':
          this.listenToMslParser();
          return finish(await validateMsl(text, context));
      }
    } catch (error) {
      this.options.logger.error(
        `the ${language.toUpperCase()} validator failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return finish({
        diagnostics: [],
        validator: DEFAULT_SOURCE[language],
        skipped: `internal error in the ${language.toUpperCase()} validator: ${errorMessage(error)}`,
        unchecked: true,
      });
    }
  }

  dispose(): void {
    this.wgsl?.dispose();
    this.wgsl = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
    void disposeSharedMslParser();
  }
}

function formatSize(units: number): string {
  return units >= 1024 * 1024
    ? `${(units / (1024 * 1024)).toFixed(1)} M characters`
    : `${Math.ceil(units / 1024)} K characters`;
}
