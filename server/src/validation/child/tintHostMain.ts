// Entry of the Tint host child (dist/tintHost.js): WGSL validation through Dawn's null backend,
// away from the language server. Three measured reasons it is a child process: dawn.node prints
// shader warnings to stdout (the LSP transport in --stdio mode); createShaderModule is synchronous
// (a 1.4 MB file blocks for 7 s, a 10 MB one for 48 s) and can only be stopped by killing its
// process (terminating a worker thread mid-call aborts the whole process); and a Dawn crash must
// not take the server down.
import { dawnInstance } from '../../backends/webgpu/dawn';
import type { TintMessage, TintReply, TintRequest } from '../tintProtocol';
import { errorMessage } from '../../logger';

/** Invalid on purpose: a working validator must report an error for it. */
const CANARY = 'fn ringkernel_canary( {';

function send(reply: TintReply): void {
  process.send?.(reply);
}

function copyMessages(info: GPUCompilationInfo): TintMessage[] {
  return info.messages.map((m) => ({
    type: m.type,
    lineNum: m.lineNum,
    linePos: m.linePos,
    offset: m.offset,
    length: m.length,
    message: m.message,
  }));
}

async function compile(device: GPUDevice, code: string): Promise<{ messages: TintMessage[]; scopeError?: string }> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  // Both answers are ready once createShaderModule returns: wait for them together, not in turn
  // (each wait is a round of Dawn's event processing).
  const [scope, info] = await Promise.all([device.popErrorScope(), module.getCompilationInfo()]);
  const messages = copyMessages(info);
  return scope ? { messages, scopeError: scope.message } : { messages };
}

let devicePromise: Promise<GPUDevice> | undefined;
/** Devices whose `lost` promise has resolved: their results cannot be trusted. */
const lostDevices = new WeakSet<GPUDevice>();
let adapterName = '';

/** The current device, opened (and checked) on first use and after a loss. */
function currentDevice(): Promise<GPUDevice> {
  devicePromise ??= openDevice().catch((error: unknown) => {
    devicePromise = undefined;
    throw error;
  });
  return devicePromise;
}

async function openDevice(): Promise<GPUDevice> {
  const adapter = await dawnInstance('null').requestAdapter();
  if (!adapter) throw new Error("Dawn's null backend offered no adapter");
  adapterName = adapter.info.description || adapter.info.vendor || 'Dawn null backend';
  // Every optional feature the adapter offers (the null adapter offers them all): a valid file
  // that enables f16 or subgroups must pass. Whether the device a kernel runs on has the feature
  // is checked against that device (wgslFeatures.ts).
  const opened = await adapter.requestDevice({ requiredFeatures: [...adapter.features] as GPUFeatureName[] });
  // Errors outside a scope would otherwise be printed by dawn.node.
  opened.addEventListener('uncapturederror', (event) => event.preventDefault());
  void opened.lost.then(async (info) => {
    lostDevices.add(opened);
    if (devicePromise && (await devicePromise.catch(() => undefined)) === opened) devicePromise = undefined;
    send({
      kind: 'log',
      message: `Tint host: device lost (${info.reason}): ${info.message}; the next validation opens a new one`,
    });
  });
  // A lost or broken device reports nothing even for invalid code: make sure this one reports.
  const canary = await compile(opened, CANARY);
  if (!canary.messages.some((m) => m.type === 'error')) {
    opened.destroy();
    throw new Error('Dawn reported no error for invalid WGSL: its validator is not working');
  }
  return opened;
}

async function validate(request: Extract<TintRequest, { kind: 'validate' }>): Promise<void> {
  const started = performance.now();
  let recreated = devicePromise === undefined;
  let device = await currentDevice();
  let result = await compile(device, request.code);
  // The device was lost during the call, or the scope says invalid but no error came back: the
  // device stopped validating. Once more on a new one.
  if (
    lostDevices.has(device) ||
    (result.scopeError !== undefined && !result.messages.some((m) => m.type === 'error'))
  ) {
    devicePromise = undefined;
    device.destroy();
    device = await currentDevice();
    recreated = true;
    result = await compile(device, request.code);
  }
  const reply: TintReply = {
    kind: 'result',
    id: request.id,
    messages: result.messages,
    ms: performance.now() - started,
    deviceRecreated: recreated,
  };
  if (result.scopeError !== undefined) reply.scopeError = result.scopeError;
  send(reply);
}

function main(): void {
  if (!process.send) {
    process.stderr.write('tintHost.js is started by the RingKernel language server; it talks over IPC only\n');
    process.exitCode = 2;
    return;
  }
  // The server went away: nothing left to do.
  process.on('disconnect', () => process.exit(0));
  let queue = Promise.resolve();
  process.on('message', (request: TintRequest) => {
    if (request.kind === 'lose-device') {
      queue = queue.then(async () => (await currentDevice()).destroy()).catch(() => undefined);
      return;
    }
    queue = queue
      .then(() => validate(request))
      .catch((error: unknown) => {
        send({ kind: 'failed', id: request.id, error: errorMessage(error) });
      });
  });
  currentDevice().then(
    () => send({ kind: 'ready', adapter: adapterName }),
    (error: unknown) => {
      // Say why, then leave: the server reports the reason and does not restart in a loop.
      process.send?.({ kind: 'fatal', error: errorMessage(error) } satisfies TintReply, () => process.exit(1));
    },
  );
}

main();
