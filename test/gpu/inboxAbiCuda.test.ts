// The inbox ABI in PTX, on an NVIDIA GPU (RINGKERNEL_TEST_GPU=1): test/fixtures/k2k/inbox_echo.ptx.
import { readFileSync } from 'node:fs';
import { inboxAbiSuite } from '../support/inboxAbiSuite';
import { fixture } from '../support/repo';

inboxAbiSuite({
  backend: 'cuda',
  echo: {
    language: 'ptx',
    label: 'inbox_echo',
    entryPoint: 'inbox_echo',
    code: readFileSync(fixture('k2k', 'inbox_echo.ptx'), 'utf8'),
  },
  block: [32, 1, 1],
  skip:
    process.env.RINGKERNEL_TEST_GPU === '1'
      ? false
      : 'needs an NVIDIA GPU: set RINGKERNEL_TEST_GPU=1 on a machine with one',
});
