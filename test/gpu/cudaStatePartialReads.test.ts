// Partial reads of a kernel's state at a step boundary on CUDA (RINGKERNEL_TEST_GPU=1), through
// the backend's pinned staging memory; test/support/partialReadSuite.ts says what.
import { partialReadSuite } from '../support/partialReadSuite';
import { RAMP_WORDS, rampPtx } from '../support/rampKernel';

const skip =
  process.env.RINGKERNEL_TEST_GPU === '1'
    ? false
    : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one';

partialReadSuite({
  backend: 'cuda',
  ramp: rampPtx,
  launch: { grid: [RAMP_WORDS / 256, 1, 1], block: [256, 1, 1] },
  skip,
});
