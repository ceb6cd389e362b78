// WGSL's optional extensions: valid everywhere Tint validates (the null adapter offers every
// feature), and checked against the features of the devices the manifest's kernels run on, as
// the probe reports them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { probeBackends } from '../../../server/src/probe/machineProbe';
import { checkDeviceFeatures, findEnables, type WgslDevice } from '../../../server/src/validation/wgslFeatures';
import { WgslValidator } from '../../../server/src/validation/wgslValidator';
import { distFile, fixture } from '../../support/repo';
import { tintHostScript } from './tintHostScript';

const read = (name: string): string => readFileSync(fixture('validation', 'wgsl', name), 'utf8');

// The features Dawn reports for lavapipe (Mesa 25), which has f16 and subgroups, and for a device
// without them: what the probe puts in each WebGPU device's report.
const LAVAPIPE: WgslDevice = {
  index: 0,
  name: 'llvmpipe (LLVM 15.0.6, 256 bits)',
  features: [
    'clip-distances',
    'depth-clip-control',
    'dual-source-blending',
    'float32-filterable',
    'primitive-index',
    'shader-f16',
    'subgroups',
    'timestamp-query',
  ],
};
const NO_F16: WgslDevice = {
  index: 1,
  name: 'Mali-G52',
  features: ['depth-clip-control', 'float32-filterable', 'timestamp-query'],
};

let validator: WgslValidator;
before(async () => {
  validator = new WgslValidator({ hostScript: await tintHostScript() });
});
after(() => validator.dispose());

test('enable directives are found with the exact place of each extension, comments ignored', () => {
  const text =
    '// enable subgroups;\nenable f16;\n/* enable clip_distances; */ enable primitive_index,\n  dual_source_blending;\nfn f() {}\n';
  assert.deepEqual(
    findEnables(text).map((e) => [e.name, text.slice(e.start, e.end)]),
    [
      ['f16', 'f16'],
      ['primitive_index', 'primitive_index'],
      ['dual_source_blending', 'dual_source_blending'],
    ],
  );
});

test('a kernel whose device lacks an enabled feature is an error at the enable, naming the device and the feature', async () => {
  const text = read('f16_softmax.wgsl');
  const result = await validator.validate(text, {
    expectedEntryPoints: [{ name: 'softmax', kernelId: 'attention', device: 1 }],
    webgpuDevices: [LAVAPIPE, NO_F16],
  });
  assert.equal(result.skipped, undefined);
  assert.equal(result.diagnostics.length, 1, JSON.stringify(result.diagnostics));
  const [error] = result.diagnostics;
  assert.equal(error?.severity, 'error');
  assert.equal(error?.code, 'device-feature');
  // `enable f16;` is line 3: the squiggle is on `f16`.
  assert.deepEqual(error?.range, { start: { line: 2, character: 7 }, end: { line: 2, character: 10 } });
  assert.equal(
    error?.message,
    "kernel 'attention' runs on WebGPU device 1 (Mali-G52), which lacks the feature 'shader-f16' that 'enable f16' needs: it cannot run there. " +
      'Set "device" in ringkernel.json to one that has it (WebGPU device 0 (llvmpipe (LLVM 15.0.6, 256 bits))), or remove the extension.',
  );
});

test('a kernel placed automatically is warned about the devices without the feature; one with it, or unknown features, say nothing', () => {
  const text = read('subgroup_histogram.wgsl');
  const auto = checkDeviceFeatures(
    text,
    [
      { name: 'histogram', kernelId: 'hist' },
      { name: 'scan_bins', kernelId: 'scan', device: 0 },
    ],
    [LAVAPIPE, NO_F16],
  );
  assert.deepEqual(
    auto.map((d) => [d.severity, d.range.start.line, d.message]),
    [
      [
        'warning',
        2,
        "kernel 'hist' may be placed on WebGPU device 1 (Mali-G52), which lacks the feature 'subgroups' that 'enable subgroups' needs. " +
          'Set "device" in ringkernel.json to one that has it (WebGPU device 0 (llvmpipe (LLVM 15.0.6, 256 bits))).',
      ],
    ],
  );
  const nowhere = checkDeviceFeatures(text, [{ name: 'histogram', kernelId: 'hist' }], [NO_F16]);
  assert.deepEqual(
    nowhere.map((d) => d.severity),
    ['error'],
  );
  assert.match(nowhere[0]?.message ?? '', /No WebGPU device here has it/);
  assert.deepEqual(
    checkDeviceFeatures(text, [{ name: 'histogram', kernelId: 'hist', device: 0 }], [LAVAPIPE, NO_F16]),
    [],
  );
  assert.deepEqual(
    checkDeviceFeatures(text, [{ name: 'histogram', kernelId: 'hist' }], [{ index: 0, name: 'unknown' }]),
    [],
    'features unknown: nothing claimed',
  );
  assert.deepEqual(checkDeviceFeatures(text, [], [NO_F16]), [], 'a file no kernel uses runs nowhere');
});

test(
  "the probe reports each WebGPU device's features, and the kernels' files are checked against them",
  { skip: process.platform !== 'linux' && 'Vulkan is checked on Linux' },
  async () => {
    const reports = await probeBackends({ probeScript: distFile('probe.js') });
    const webgpu = reports.find((r) => r.backend === 'webgpu');
    assert.ok(webgpu?.available, webgpu?.reason);
    for (const device of webgpu.devices) {
      assert.ok(
        Array.isArray(device.features) && device.features.length > 0,
        `${device.name}: ${JSON.stringify(device.features)}`,
      );
      assert.ok(device.features.every((f) => /^[a-z0-9-]+$/.test(f)));
    }
    const devices = webgpu.devices.map((d) => ({ index: d.index, name: d.name, features: d.features }));
    const kernels = [{ name: 'softmax', kernelId: 'attention', device: 0 }];
    const result = await validator.validate(read('f16_softmax.wgsl'), {
      expectedEntryPoints: kernels,
      webgpuDevices: devices,
    });
    const hasF16 = devices[0]?.features?.includes('shader-f16') === true;
    assert.deepEqual(
      result.diagnostics.map((d) => d.code),
      hasF16 ? [] : ['device-feature'],
      `device 0 ${hasF16 ? 'has' : 'lacks'} shader-f16`,
    );
  },
);
