// Partial reads of a kernel's state at a step boundary on WebGPU, in real device hosts on this
// machine's Vulkan device (lavapipe without a GPU); test/support/partialReadSuite.ts says what.
import { partialReadSuite } from '../support/partialReadSuite';
import { RAMP_WORDS, rampWgsl } from '../support/rampKernel';

partialReadSuite({ backend: 'webgpu', ramp: rampWgsl, launch: { grid: [RAMP_WORDS / 64, 1, 1] }, skip: false });
