// Draining the outbox in PTX, on an NVIDIA GPU (RINGKERNEL_TEST_GPU=1): test/fixtures/k2k/outbox_flood.ptx.
import { readFileSync } from 'node:fs';
import { outboxDrainSuite } from '../support/outboxDrainSuite';
import { fixture } from '../support/repo';

outboxDrainSuite({
  backend: 'cuda',
  flood: {
    language: 'ptx',
    label: 'outbox_flood',
    entryPoint: 'outbox_flood',
    code: readFileSync(fixture('k2k', 'outbox_flood.ptx'), 'utf8'),
  },
  block: [64, 1, 1],
  skip:
    process.env.RINGKERNEL_TEST_GPU === '1'
      ? false
      : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one',
});
