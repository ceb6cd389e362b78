// The same engine tests through the CUDA backend, with PTX from nvcc (test/fixtures/kernels/
// abi_kernels.cu). They need an NVIDIA GPU: switched on by RINGKERNEL_TEST_GPU=1.
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AFFINE_WORDS, kernelEngineSuite } from '../support/kernelSuite';
import { fixture } from '../support/repo';

if (process.env.RINGKERNEL_TEST_GPU !== '1') {
  test(
    'CUDA kernels in a device host',
    { skip: 'needs an NVIDIA GPU: run with RINGKERNEL_TEST_GPU=1 on a GPU machine' },
    () => {},
  );
} else {
  const ptx = readFileSync(fixture('kernels', 'abi_kernels.ptx'), 'utf8');
  const source = (entryPoint: string): { language: 'ptx'; label: string; code: string; entryPoint: string } => ({
    language: 'ptx',
    label: entryPoint,
    code: ptx,
    entryPoint,
  });
  kernelEngineSuite({
    backend: 'cuda',
    affine: { source: source('affine'), grid: [AFFINE_WORDS / 64, 1, 1], block: [64, 1, 1] },
    sender: { source: source('sender'), grid: [1, 1, 1], block: [8, 1, 1] },
    endless: { source: source('endless'), grid: [1, 1, 1], block: [1, 1, 1] },
    fault: { source: source('fault'), grid: [1, 1, 1], block: [32, 1, 1] },
    broken: { language: 'ptx', label: 'broken', code: ptx.replace('mad.lo.s32', 'madd.lo.s32'), entryPoint: 'affine' },
  });
}
