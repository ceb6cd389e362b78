// A failed kernel request keeps the GpuError's code and log for the client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LSPErrorCodes } from 'vscode-languageserver/node';
import { GpuError } from '../../server/src/backends/gpuError';
import { kernelRequestError } from '../../server/src/lsp/kernelWiring';

test('a GpuError becomes a RequestFailed error whose data carries its code and log', () => {
  const error = kernelRequestError(new GpuError('COMPILE_FAILED', 'kernel "heat" does not compile', 'line 3: error'));
  assert.equal(error.code, LSPErrorCodes.RequestFailed);
  assert.equal(error.message, 'kernel "heat" does not compile');
  assert.deepEqual(error.data, { code: 'COMPILE_FAILED', log: 'line 3: error' });
  assert.deepEqual(error.toJson().data, { code: 'COMPILE_FAILED', log: 'line 3: error' });
  assert.deepEqual(kernelRequestError(new GpuError('WATCHDOG_TIMEOUT', 'hung')).data, { code: 'WATCHDOG_TIMEOUT' });
});

test('any other error keeps its message and has no data', () => {
  const error = kernelRequestError(new Error('no kernel "x" in ringkernel.json'));
  assert.equal(error.message, 'no kernel "x" in ringkernel.json');
  assert.equal(error.data, undefined);
});
