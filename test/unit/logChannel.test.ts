import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientLine } from '../../client/src/logChannel';

test("vscode-languageclient's lines lose their own timestamp and keep their level", () => {
  assert.deepEqual(parseClientLine('[Warn  - 10:42:01 AM] kernel "heat" did not start: no CUDA'), {
    level: 'warn',
    text: 'kernel "heat" did not start: no CUDA',
  });
  assert.deepEqual(parseClientLine('[Error - 10:42:01] boom'), { level: 'error', text: 'boom' });
  assert.deepEqual(parseClientLine('[Info  - 10:42:01] started'), { level: 'info', text: 'started' });
  assert.deepEqual(
    parseClientLine('[Debug - 10:42:01] [probe] maxDynamicUniformBuffersPerPipelineLayout artificially reduced'),
    { level: 'debug', text: '[probe] maxDynamicUniformBuffersPerPipelineLayout artificially reduced' },
  );
  assert.deepEqual(
    parseClientLine('    at Object.<anonymous> (x.js:1:1)', 'error'),
    { level: 'error', text: '    at Object.<anonymous> (x.js:1:1)' },
    'a stack line keeps the level of its message',
  );
});
