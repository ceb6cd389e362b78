// The two ways a checkpoint file fails: it cannot be used (read), or it could not be made (write).
// Both name the file and say what was expected and what was found, so a log line is enough to act.

/** Why a file was rejected; the store falls back to an older file for every one of them. */
export type CheckpointProblem =
  | 'truncated' // shorter than its header says (or than any checkpoint)
  | 'not-a-checkpoint' // wrong magic
  | 'unsupported-version' // a format version this reader does not read
  | 'malformed' // a structure that no writer produces
  | 'digest-mismatch' // a chunk's SHA-256 differs from the one recorded after it
  | 'checksum-mismatch' // the whole-file CRC-32 differs from the trailer's
  | 'foreign' // a sound file, but of another kernel than the one asked for
  | 'incompatible' // a sound file of the kernel, but the caller cannot resume it (other code, another state size)
  | 'unreadable'; // the operating system could not read it

export class CheckpointFileError extends Error {
  override readonly name = 'CheckpointFileError';

  constructor(
    readonly file: string,
    readonly problem: CheckpointProblem,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint file ${file} is rejected: ${detail}`, options);
  }
}

export class CheckpointWriteError extends Error {
  override readonly name = 'CheckpointWriteError';

  constructor(
    message: string,
    /** The operating system's code (ENOSPC, EACCES, ...) when it was one that failed. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The errno code of a Node system error, if it is one. */
export function systemErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Human words for the system errors a checkpoint write meets, with what to do about them. */
export function describeWriteFailure(error: unknown): string {
  const code = systemErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOSPC':
      return 'no space left on device (ENOSPC); free some space on that disk';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT); free some space or raise the quota';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code}); the folder must be writable by the language server`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'EIO':
      return 'input/output error (EIO); the disk may be failing';
    default:
      return message;
  }
}
