// A raw LSP client over the real server's stdio (dist/server.js --stdio): writes any bytes, reads
// whatever frames come back, and waits for answers with deadlines. The fuzz targets need raw
// bytes, which vscode-languageclient would never send.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { distFile } from '../support/repo';
import { within } from './fuzzRun';

export interface LspMessage {
  id?: unknown;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string };
  params?: unknown;
}

export const frame = (body: string | Buffer): Buffer => {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]);
};

export class LspSession {
  readonly process: ChildProcessWithoutNullStreams;
  readonly messages: LspMessage[] = [];
  stderr = '';
  private pending = Buffer.alloc(0);
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor() {
    this.process = spawn(process.execPath, [distFile('server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stdout.on('data', (chunk: Buffer) => this.read(chunk));
    this.process.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // A server that exits closes its stdin; writes after that must not throw in the test.
    this.process.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        resolve({ code, signal });
        this.wake();
      }),
    );
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  write(bytes: Buffer): void {
    if (this.alive) this.process.stdin.write(bytes);
  }

  send(message: object): void {
    this.write(frame(JSON.stringify(message)));
  }

  /** The answer to request `id`, or the server's exit, within `ms`. */
  async answer(id: number | string, ms: number, what: string): Promise<LspMessage | 'exited'> {
    return within(
      ms,
      `${what} (request id ${JSON.stringify(id)})`,
      new Promise<LspMessage | 'exited'>((resolve) => {
        const look = (): void => {
          const found = this.messages.find((m) => m.id === id && m.method === undefined);
          if (found) resolve(found);
          else if (!this.alive) resolve('exited');
          else this.waiters.push(look);
        };
        look();
      }),
    );
  }

  async exit(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return within(ms, 'the server to exit', this.exited);
  }

  async initialize(): Promise<void> {
    this.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { processId: null, rootUri: null, capabilities: {} },
    });
    const answer = await this.answer('init', 30_000, 'initialize');
    if (answer === 'exited' || answer.error)
      throw new Error(`the server did not initialize: ${JSON.stringify(answer)} ${this.stderr}`);
    this.send({ jsonrpc: '2.0', method: 'initialized', params: {} });
  }

  kill(): void {
    if (this.alive) this.process.kill('SIGKILL');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private read(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end === -1) break;
      const length = Number(
        /Content-Length: *(\d+)/i.exec(this.pending.subarray(0, end).toString('latin1'))?.[1] ?? NaN,
      );
      if (!Number.isFinite(length) || this.pending.length < end + 4 + length) break;
      const body = this.pending.subarray(end + 4, end + 4 + length).toString('utf8');
      this.pending = this.pending.subarray(end + 4 + length);
      this.messages.push(JSON.parse(body) as LspMessage);
    }
    // Only the newest messages matter to a waiter; keep memory bounded over a long run.
    if (this.messages.length > 5000) this.messages.splice(0, this.messages.length - 1000);
    this.wake();
  }
}
