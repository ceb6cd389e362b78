// Faults while the language server restarts: the real server (--stdio) runs a kernel with 1 MiB
// of state whose reads cross through shared-memory files, is killed (SIGKILL) at a seeded random
// moment while state reads are in flight, and is started again on the same workspace, as the
// client restarts it. Checked: every device host of the killed server exits (no kernel keeps
// running without a server, none runs twice after the restart); no shared-memory file of the
// killed server stays behind once the next server started; the kernel runs again under the new
// server. Resuming from the checkpoint files on disk is checked where those are written:
// test/process/checkpointFiles.test.ts (a crashed runtime's successor resumes from the newest file)
// and test/process/serverCheckpoints.test.ts (a server shut down and started again).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import {
  InitializeRequest,
  InitializedNotification,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { kernelStateRequest, kernelsRequest } from '../../../server/src/lsp/protocol';
import {
  FaultLedger,
  bulkFilesOf,
  deviceHostChildren,
  faultRuns,
  faultSeed,
  processAlive,
  releaseAll,
  seededChooser,
} from '../../support/faultHarness';
import { counterWorkspace, webgpuSkipReason } from '../../support/faultRuntime';
import { pollUntil } from '../../support/poll';
import { repoRoot } from '../../support/repo';

const ledger = new FaultLedger('server-restart');

after(() => {
  ledger.print();
  releaseAll();
});

/** A server on `root`, initialised (a trusted workspace starts its kernels), and its process. */
async function startServer(root: string): Promise<{
  pid: number;
  kill(): void;
  exited: Promise<unknown>;
  step(): Promise<number | undefined>;
  readState(): Promise<unknown>;
}> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  child.stderr.resume();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // A request ends when the server exits, answered or not: vscode-jsonrpc rejects pending requests
  // on dispose() but not one whose message is still being written at that moment, which would
  // otherwise stay pending forever once the killed server's pipes close.
  const gone = exited.then(() => {
    throw new Error(`the language server (pid ${child.pid}) exited`);
  });
  gone.catch(() => undefined);
  const untilExit = <T>(request: Promise<T>): Promise<T> => Promise.race([request, gone]);
  const connection = createProtocolConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  connection.onError(() => undefined);
  connection.listen();
  await untilExit(
    connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'kernels' }],
    }),
  );
  await connection.sendNotification(InitializedNotification.type, {});
  assert.ok(child.pid);
  return {
    pid: child.pid,
    kill: () => {
      child.kill('SIGKILL');
      connection.dispose();
    },
    exited,
    step: async () => {
      const info = await untilExit(connection.sendRequest(kernelsRequest));
      const counter = info.kernels.find((k) => k.id === 'counter');
      return counter?.state === 'running' && counter.step > 0 ? counter.step : undefined;
    },
    readState: async () => untilExit(connection.sendRequest(kernelStateRequest, { id: 'counter' })),
  };
}

test(
  'server restart: SIGKILL of the server at seeded random moments while state reads are in flight (RINGKERNEL_FAULT_RUNS, RINGKERNEL_FAULT_SEED)',
  { timeout: 600_000 },
  async (t) => {
    const skip = await webgpuSkipReason();
    if (skip) return t.skip(skip);
    const runs = Math.max(1, faultRuns(3));
    const seed = faultSeed();
    console.log(`fault server-restart random: seed ${seed}, ${runs} runs (RINGKERNEL_FAULT_SEED=${seed} replays it)`);
    const choose = seededChooser(seed);
    // The counter with 1 MiB of state (shared-memory reads), placed by the server's coordinator.
    const root = counterWorkspace({ devices: ['auto'] }).dir;
    try {
      let server = await startServer(root);
      for (let run = 0; run < runs; run++) {
        await pollUntil('the counter runs', () => server.step(), { timeoutMs: 60_000, intervalMs: 100 });
        const hosts = deviceHostChildren(server.pid).map((child) => child.pid);
        assert.ok(hosts.length > 0, 'the server runs a device host');
        // State reads in flight (1 MiB each, through /dev/shm), then the kill at a random moment.
        let reading = true;
        const reads = (async () => {
          while (reading) await server.readState().catch(() => undefined);
        })();
        const delayMs = choose.below(300);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const killed = server.pid;
        server.kill();
        reading = false;
        await server.exited;
        await reads;
        // Its device hosts notice the lost channel and exit: nothing keeps stepping without a server.
        let stray: number[] = [];
        try {
          await pollUntil(
            "the killed server's device hosts exit",
            () => (hosts.every((pid) => !processAlive(pid)) ? true : undefined),
            {
              timeoutMs: 10_000,
            },
          );
        } catch {
          stray = hosts.filter((pid) => processAlive(pid));
        }
        // The client starts a new server; it runs the kernel again and clears what the dead one left.
        server = await startServer(root);
        const again = await pollUntil('the counter runs under the new server', () => server.step(), {
          timeoutMs: 60_000,
          intervalMs: 100,
        }).catch(() => undefined);
        let leftovers: string[] = [];
        try {
          await pollUntil(
            'no file of the killed server is left',
            () => (bulkFilesOf(killed).length === 0 ? true : undefined),
            {
              timeoutMs: 5_000,
            },
          );
        } catch {
          leftovers = bulkFilesOf(killed);
        }
        ledger.record(
          `SIGKILL +${delayMs} ms`,
          {
            lost: again === undefined ? ['counter'] : [],
            twice: [],
            older: [],
            rerunSteps: 0,
            leftovers,
            strayHosts: stray,
            kernels: new Map(),
          },
          { restarts: 1 },
        );
        assert.deepEqual(stray, [], `run ${run + 1}: device hosts of the killed server still running`);
        assert.deepEqual(leftovers, [], `run ${run + 1}: shared-memory files the killed server left`);
        assert.ok(again !== undefined, `run ${run + 1}: the kernel runs under the new server`);
      }
      server.kill();
      await server.exited;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);
