// The migration messages on the client side: where a kernel could move, moving it (with the
// server's work-done progress and cancellation), draining a device and taking it back.
import type * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import {
  drainDeviceRequest,
  migrateRequest,
  migrationTargetsRequest,
  undrainDeviceRequest,
  type DrainOutcome,
  type MigrationOutcome,
  type MigrationTargets,
} from '../../server/src/lsp/protocol';
import type { ServerConnection } from './serverConnection';

export interface PhaseProgress {
  message?: string;
  /** 0-100, when the server gives one. */
  percentage?: number;
  /** False once the server says a cancel would no longer stop the work (the switch has begun). */
  cancellable?: boolean;
}

let tokens = 0;

/** A work-done token unique to this extension host. */
function workDoneToken(what: string): string {
  return `ringkernel-${what}-${process.pid}-${++tokens}`;
}

/** Sends `send`'s request with a fresh work-done token and hands every begin/report to `report`. */
async function withWorkDone<R>(
  client: LanguageClient,
  what: string,
  report: (progress: PhaseProgress) => void,
  send: (token: string) => Promise<R>,
): Promise<R> {
  const token = workDoneToken(what);
  const listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
    if (value.kind === 'end') return;
    const update: PhaseProgress = {};
    if (value.message !== undefined) update.message = value.message;
    if (value.percentage !== undefined) update.percentage = value.percentage;
    if (value.cancellable !== undefined) update.cancellable = value.cancellable;
    report(update);
  });
  try {
    return await send(token);
  } finally {
    listener.dispose();
  }
}

export class MigrationClient {
  constructor(private readonly server: ServerConnection) {}

  targets(kernelId: string): Promise<MigrationTargets> {
    return this.server.runningClient().sendRequest(migrationTargetsRequest, { kernelId });
  }

  /** Moves a running kernel; cancelling `token` sends $/cancelRequest (the server honours it until the switch). */
  migrate(
    kernelId: string,
    device: string,
    report: (progress: PhaseProgress) => void,
    token?: vscode.CancellationToken,
  ): Promise<MigrationOutcome> {
    const client = this.server.runningClient();
    return withWorkDone(client, 'migrate', report, (workDoneToken) =>
      client.sendRequest(migrateRequest, { kernelId, device, workDoneToken }, token),
    );
  }

  /** Takes a device out of service and moves its kernels elsewhere (progress per kernel). */
  drain(device: string, report: (progress: PhaseProgress) => void): Promise<DrainOutcome> {
    const client = this.server.runningClient();
    return withWorkDone(client, 'drain', report, (workDoneToken) =>
      client.sendRequest(drainDeviceRequest, { device, workDoneToken }),
    );
  }

  undrain(device: string): Promise<{ device: string; message: string }> {
    return this.server.runningClient().sendRequest(undrainDeviceRequest, { device });
  }
}
