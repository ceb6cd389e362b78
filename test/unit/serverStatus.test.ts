import assert from 'node:assert/strict';
import { test } from 'node:test';
import { viewOf, type ServerStatus } from '../../client/src/serverStatus';
import type { ServerInfo } from '../../server/src/lsp/protocol';

const info: ServerInfo = {
  version: '1.2.3',
  pid: 42,
  node: '20.20.2',
  uptimeMs: 10,
  probing: false,
  backends: [
    {
      backend: 'webgpu',
      available: true,
      devices: [
        {
          backend: 'webgpu',
          index: 0,
          name: 'llvmpipe',
          vendor: 'mesa',
          detail: 'software Vulkan (llvmpipe)',
          peerCapable: false,
          limits: {
            maxBufferBytes: 1 << 30,
            maxBindingBytes: 1 << 27,
            maxWorkgroupsPerDimension: 65535,
            maxThreadsPerWorkgroup: 256,
          },
        },
      ],
      probeMs: 300,
    },
    { backend: 'cuda', available: false, reason: 'libcuda.so.1 could not be loaded', devices: [], probeMs: 1 },
  ],
};
const ready: ServerStatus = { state: 'ready', info, crashRestarts: 0, problem: undefined };

test('a ready server shows the backends found and why the others are missing', () => {
  const view = viewOf(ready);
  assert.equal(view.text, '$(chip) RingKernel: WebGPU ×1 · CUDA –');
  assert.match(view.tooltip, /WebGPU \(Dawn\): llvmpipe \(software Vulkan \(llvmpipe\)\)/);
  assert.match(view.tooltip, /CUDA: unavailable: libcuda.so.1 could not be loaded/);
  assert.equal(view.background, undefined);
});

test('a server still probing says so', () => {
  assert.match(viewOf({ ...ready, info: { ...info, probing: true } }).text, /probing GPUs/);
});

test('a server restarted after a crash is marked until the session ends', () => {
  const view = viewOf({ ...ready, crashRestarts: 2 });
  assert.match(view.text, /\(restarted\)$/);
  assert.match(view.tooltip, /restarted after 2 crashes/);
  assert.equal(view.background, 'statusBarItem.warningBackground');
});

test('a crashed server shows an error and how to recover', () => {
  const view = viewOf({
    state: 'crashed',
    info: undefined,
    crashRestarts: 6,
    problem: 'it exited 6 times in 3 minutes',
  });
  assert.equal(view.text, '$(error) RingKernel: crashed');
  assert.match(view.tooltip, /it exited 6 times.*Restart Server/);
  assert.equal(view.background, 'statusBarItem.errorBackground');
});
