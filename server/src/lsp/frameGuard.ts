// The LSP base protocol's framing on stdin, checked. vscode-jsonrpc's reader hands a frame it cannot
// read (no Content-Length, a value that is not a number) to an error event that vscode-languageserver
// never listens to, and takes a negative or short length at its word, after which nothing reads as
// a message again: the server stays alive, silent and logging nothing. The guard reads the same
// bytes beside the library's reader (headers only; bodies are counted, not parsed) and says what is
// wrong, so the server can log it and exit: a client restarts a server that died, and another
// editor at least sees that it did.
import type { Readable } from 'node:stream';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** Far more than the two headers the protocol has; a header block this long is not one. */
const MAX_HEADER_BYTES = 8 * 1024;
/** An HTTP header name: RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const isHeaderLine = (line: string): boolean => HEADER_NAME.test(line.slice(0, Math.max(0, line.indexOf(':'))));

function quote(bytes: string): string {
  return JSON.stringify(bytes.length > 60 ? `${bytes.slice(0, 60)}...` : bytes);
}

/** Bodies up to this size are parsed beside the library to catch one that is not JSON; larger ones only counted (parsing twice costs). */
export const MAX_CHECKED_BODY_BYTES = 1024 * 1024;

/**
 * What is wrong with a body that is not JSON, or undefined. The library drops such a message into
 * the same unheard error event, so the client would wait for an answer that never comes.
 */
export function bodyProblem(body: Buffer): string | undefined {
  try {
    // Decoded as the library decodes it: invalid UTF-8 becomes U+FFFD, which it accepts.
    JSON.parse(body.toString('utf8'));
    return undefined;
  } catch (error) {
    return `a message body of ${body.length} bytes that is not JSON (${error instanceof Error ? error.message : String(error)}): ${quote(body.toString('latin1'))}`;
  }
}

/** Follows the frames of one byte stream; `push` says what is wrong with the first bad one. */
export class FrameChecker {
  /** Header bytes read so far, while between bodies. */
  private header: Buffer = Buffer.alloc(0);
  private bodyLeft = 0;
  /** The Content-Length of the frame before, for the message when its body was longer. */
  private previousLength: number | undefined;
  /** The current body's bytes so far, when it is small enough to check. */
  private body: Buffer[] | undefined;

  /** `onBadBody` hears each well-framed body that is not JSON; the framing goes on (the next frame is still readable). */
  constructor(private readonly onBadBody?: (problem: string) => void) {}

  /** Feeds the next bytes; returns what is wrong with the framing, or undefined while it is right. */
  push(chunk: Buffer): string | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.body?.push(chunk.subarray(at, at + take));
        this.bodyLeft -= take;
        at += take;
        if (this.bodyLeft === 0 && this.body) {
          const problem = bodyProblem(Buffer.concat(this.body));
          this.body = undefined;
          if (problem !== undefined) this.onBadBody?.(problem);
        }
        continue;
      }
      const seen = this.header.length;
      // Never more than a header block can be: the bytes after it are a body, or the header is bad anyway.
      const piece = chunk.subarray(at, at + MAX_HEADER_BYTES + HEADER_END.length);
      this.header = seen === 0 ? piece : Buffer.concat([this.header, piece]);
      // The terminator may straddle two chunks: search from just before the new bytes.
      const end = this.header.indexOf(HEADER_END, Math.max(0, seen - 3));
      if (end === -1) return this.checkPartialHeader();
      const problem = this.readHeader(this.header.subarray(0, end).toString('latin1'));
      if (problem !== undefined) return problem;
      at += end + HEADER_END.length - seen;
      this.header = Buffer.alloc(0);
    }
    return undefined;
  }

  private readHeader(block: string): string | undefined {
    let length: string | undefined;
    for (const line of block.split('\r\n')) {
      if (!isHeaderLine(line)) return this.notAHeader(line);
      const colon = line.indexOf(':');
      if (line.slice(0, colon).toLowerCase() === 'content-length') {
        if (length !== undefined) return 'two Content-Length headers in one frame';
        length = line.slice(colon + 1).trim();
      }
    }
    if (length === undefined)
      return `a frame without a Content-Length header (its headers: ${quote(block)}); every message needs "Content-Length: <bytes>"`;
    if (/^-\d+$/.test(length)) return `Content-Length is negative (${length}); it must be the body's size in bytes`;
    if (!/^\d+$/.test(length)) return `Content-Length is not a number of bytes: ${quote(length)}`;
    const bytes = Number(length);
    if (bytes === 0) return 'Content-Length is 0, but a message body is never empty';
    if (!Number.isSafeInteger(bytes)) return `Content-Length ${length} is too large`;
    this.bodyLeft = bytes;
    this.previousLength = bytes;
    this.body = this.onBadBody !== undefined && bytes <= MAX_CHECKED_BODY_BYTES ? [] : undefined;
    return undefined;
  }

  /** Header bytes without their end yet: catches what can never become a header without waiting for more. */
  private checkPartialHeader(): string | undefined {
    if (this.header.length > MAX_HEADER_BYTES)
      return `no end of headers ("\\r\\n\\r\\n") in the first ${MAX_HEADER_BYTES} bytes of a frame: ${quote(this.header.toString('latin1'))}`;
    const lines = this.header.toString('latin1').split('\r\n');
    const last = lines.pop() ?? '';
    const bad = lines.find((line) => !isHeaderLine(line));
    if (bad !== undefined) return this.notAHeader(bad);
    // The line still arriving: nothing yet, part of a name, or a name, a colon and part of its value.
    const colon = last.indexOf(':');
    const name = (colon === -1 ? last : last.slice(0, colon)).replace(/\r$/, '');
    if (name === '' ? colon !== -1 : !HEADER_NAME.test(name)) return this.notAHeader(last);
    return undefined;
  }

  private notAHeader(line: string): string {
    const shortBody =
      this.previousLength !== undefined
        ? `; the frame before declared Content-Length ${this.previousLength}, probably less than its body really was`
        : '';
    return `expected a header such as "Content-Length: 123" but got ${quote(line)}${shortBody}`;
  }
}

/**
 * Watches a transport's bytes (without consuming them) and calls `onBadFrame` once, at the first
 * bad frame, and `onBadBody` for each well-framed body that is not JSON.
 */
export function guardFraming(
  input: Readable,
  onBadFrame: (problem: string) => void,
  onBadBody?: (problem: string) => void,
): void {
  const checker = new FrameChecker(onBadBody);
  const onData = (chunk: Buffer | string): void => {
    const problem = checker.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (problem === undefined) return;
    input.off('data', onData);
    onBadFrame(problem);
  };
  input.on('data', onData);
}
