// WGSL validation by Tint (inside Dawn's null backend, in the Tint host child, with every optional
// feature the adapter offers): every compilation message at its exact range, its first line as the
// message and the rest as related information, warnings as warnings. Plus what the workspace
// manifest implies: the entry points it expects, and the features its kernels' devices have.
import type { Logger } from '../logger';
import { LineIndex, range, type Diagnostic, type Severity, type ValidationResult } from './diagnostic';
import { TintHost, type TintHostOptions } from './tintHost';
import type { TintMessage } from './tintProtocol';
import { findWgslFunctions, type ShaderStage } from './wgslEntryPoints';
import { checkDeviceFeatures, type WgslDevice } from './wgslFeatures';

export const TINT_SOURCE = 'tint';

export interface ExpectedEntryPoint {
  name: string;
  /** The manifest's kernel id, for the message. */
  kernelId?: string;
  /** Defaults to compute (kernels are compute shaders). */
  stage?: ShaderStage;
  /** The manifest's `device` for this kernel: a WebGPU device index, or `auto` (any). */
  device?: 'auto' | number;
}

export interface WgslValidateOptions {
  /** Entry points the manifest declares for this file; each one missing is an error. */
  expectedEntryPoints?: readonly ExpectedEntryPoint[] | undefined;
  /** The manifest's name in messages (default `ringkernel.json`). */
  manifestName?: string | undefined;
  /** The WebGPU devices present, with their features: an extension a kernel's device lacks is reported at its `enable`. */
  webgpuDevices?: readonly WgslDevice[] | undefined;
  /** Tint's deadline; past it the host is killed and restarted (default 10 s). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_WGSL_TIMEOUT_MS = 10_000;

const severityOf = (type: TintMessage['type']): Severity =>
  type === 'error' ? 'error' : type === 'warning' ? 'warning' : 'information';

const BULLET = /^[•*-] /;

/**
 * Splits a multi-line Tint message: the first line is the message; the rest (a list of candidate
 * overloads, say) become entries of their own, one per bullet with its indented details, so each
 * editor shows one line per diagnostic and the details where it shows notes.
 */
export function splitTintMessage(message: string): { first: string; details: string[] } {
  const lines = message.replace(/\r\n?/g, '\n').trimEnd().split('\n');
  const first = (lines[0] ?? '').trim();
  const details: string[] = [];
  let groupIndent = -1;
  let groupIsBullet = false;
  for (const line of lines.slice(1)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const indent = line.length - line.trimStart().length;
    const bullet = BULLET.test(trimmed);
    if (details.length === 0 || indent <= groupIndent || (bullet && !groupIsBullet)) {
      details.push(trimmed.replace(/\s+/g, ' '));
      groupIndent = indent;
      groupIsBullet = bullet;
    } else {
      details[details.length - 1] += ` ${trimmed.replace(/\s+/g, ' ')}`;
    }
  }
  return { first, details };
}

/** Tint's messages as diagnostics: offset and length (UTF-16) give the exact range; further lines go to `related`. */
export function tintMessagesToDiagnostics(messages: readonly TintMessage[], index: LineIndex): Diagnostic[] {
  return messages.map((m) => {
    const hasSpan = m.lineNum > 0 && m.offset >= 0;
    // Tint counts some line breaks LSP does not (\v, \f, U+2028); the offset is exact either way.
    const r = hasSpan ? index.rangeOf(m.offset, m.length) : range(0, 0, 0, 0);
    const { first, details } = splitTintMessage(m.message);
    const diagnostic: Diagnostic = { range: r, severity: severityOf(m.type), message: first, source: TINT_SOURCE };
    if (details.length > 0) diagnostic.related = details.map((detail) => ({ message: detail, range: r }));
    if (!hasSpan) diagnostic.fileLevel = true;
    return diagnostic;
  });
}

/** Errors for the manifest's entry points this file does not have. */
export function checkEntryPoints(
  text: string,
  expected: readonly ExpectedEntryPoint[],
  index: LineIndex,
  manifestName = 'ringkernel.json',
): Diagnostic[] {
  if (expected.length === 0) return [];
  const functions = findWgslFunctions(text);
  const entryPoints = functions.filter((fn) => fn.stage !== undefined);
  const diagnostics: Diagnostic[] = [];
  for (const want of expected) {
    const stage = want.stage ?? 'compute';
    const declaredFor = want.kernelId !== undefined ? ` for kernel '${want.kernelId}'` : '';
    const found = functions.find((fn) => fn.name === want.name);
    if (found?.stage === stage) continue;
    if (found) {
      const now = found.stage ? `a @${found.stage} entry point` : 'a plain function, not an entry point';
      diagnostics.push({
        range: index.rangeOf(found.start, found.end - found.start),
        severity: 'error',
        message:
          `${manifestName} declares entry point '${want.name}'${declaredFor} as a @${stage} shader, but here it is ${now}` +
          (stage === 'compute' ? ': add @compute @workgroup_size(...) before fn.' : '.'),
        source: TINT_SOURCE,
        code: 'missing-entry-point',
      });
      continue;
    }
    // Shown on the first entry point the file has (likely the one misnamed), else at the top.
    const anchor = entryPoints[0];
    const others = entryPoints.map((fn) => `'${fn.name}'`).join(', ');
    diagnostics.push({
      range: anchor ? index.rangeOf(anchor.start, anchor.end - anchor.start) : range(0, 0, 0, 0),
      severity: 'error',
      message:
        `${manifestName} declares entry point '${want.name}'${declaredFor}, but this file has no @${stage} function of that name` +
        (others !== '' ? ` (its entry points: ${others})` : ' (it has no entry points)') +
        `. Rename the function, or fix entryPoint in ${manifestName}.`,
      source: TINT_SOURCE,
      code: 'missing-entry-point',
    });
  }
  return diagnostics;
}

/** Validates WGSL through one long-lived Tint host (one Dawn device, reused across validations). */
export class WgslValidator {
  private readonly host: TintHost;

  constructor(options: TintHostOptions & { logger?: Logger } = {}) {
    this.host = new TintHost(options);
  }

  warmUp(): void {
    this.host.warmUp();
  }

  async validate(text: string, options: WgslValidateOptions = {}): Promise<ValidationResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WGSL_TIMEOUT_MS;
    // Tint first: the checks below run in this thread while it compiles in its own process.
    const compiled = this.host.validate(text, timeoutMs, options.signal);
    const index = new LineIndex(text);
    // The manifest's checks need no compiler: kept even when Tint could not run.
    const entryDiagnostics = [
      ...checkEntryPoints(text, options.expectedEntryPoints ?? [], index, options.manifestName),
      ...checkDeviceFeatures(
        text,
        options.expectedEntryPoints ?? [],
        options.webgpuDevices ?? [],
        index,
        options.manifestName,
      ),
    ];
    const outcome = await compiled;
    if (outcome.kind === 'skipped') {
      return { diagnostics: entryDiagnostics, validator: TINT_SOURCE, skipped: outcome.reason, unchecked: true };
    }
    const diagnostics = tintMessagesToDiagnostics(outcome.messages, index);
    if (outcome.scopeError !== undefined && !diagnostics.some((d) => d.severity === 'error')) {
      // Dawn rejected the module with no compilation message: show its own words.
      diagnostics.push({
        range: range(0, 0, 0, 0),
        severity: 'error',
        message: outcome.scopeError,
        source: TINT_SOURCE,
        fileLevel: true,
      });
    }
    const result: ValidationResult = { diagnostics: [...diagnostics, ...entryDiagnostics], validator: TINT_SOURCE };
    if (outcome.deviceRecreated) result.notes = [`Tint: a new Dawn device was opened (${outcome.ms.toFixed(1)} ms)`];
    return result;
  }

  /** Destroys the validator's Dawn device, as a driver reset would (tests of the recovery). */
  loseDevice(): Promise<void> {
    return this.host.loseDevice();
  }

  dispose(): void {
    this.host.dispose();
  }
}
