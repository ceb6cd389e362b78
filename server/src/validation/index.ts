// The validation engine's public surface, for the LSP wiring and the `ringkernel check` command.
export type { Diagnostic, Position, Range, RelatedInformation, Severity, ValidationResult } from './diagnostic';
export { LineIndex, capDiagnostics, DEFAULT_MAX_DIAGNOSTICS } from './diagnostic';
export { ValidationService, type DocumentToValidate, type ValidationServiceOptions } from './validationService';
export {
  ValidatorSet,
  kernelLanguageOf,
  DEFAULT_SIZE_LIMITS,
  NOT_VALIDATED,
  type KernelLanguage,
  type SizeLimits,
  type ValidationContext,
  type ValidationOutcome,
  type ValidatorSetOptions,
} from './validatorSet';
export { WgslValidator, checkEntryPoints, type ExpectedEntryPoint, type WgslValidateOptions } from './wgslValidator';
export { checkDeviceFeatures, type WgslDevice } from './wgslFeatures';
export { validatePtx, type CudaDeviceInfo, type JitCompile, type PtxValidateOptions } from './ptxValidator';
export { findPtxas, runPtxas, type PtxasLookup, type PtxasTool } from './ptxas';
export { ptxasLogToDiagnostics, parsePtxasLog } from './ptxasLog';
export { checkPtxText } from './ptx/ptxParserCheck';
export { validateMsl, validateMslWithParser, type MslValidateOptions } from './msl/mslValidator';
