// Hot reload of PTX kernels through the CUDA addon; needs a GPU (RINGKERNEL_TEST_GPU=1).
import { hotReloadSuite } from '../support/hotReloadSuite';
import { ptxAbiModule } from '../support/kernelSources';

const ptx = (body: string): string =>
  ptxAbiModule(body, '  .reg .pred %p<2>;\n  .reg .b32 %r<4>;\n  .reg .b64 %rd<3>;');

hotReloadSuite({
  backend: 'cuda',
  extension: 'ptx',
  entryPoint: 'step',
  counter: (tick) =>
    ptx(`
  ld.global.u32 %r1, [%rd1];
  add.u32 %r1, %r1, 1;
  st.global.u32 [%rd2], %r1;
  ld.global.u32 %r2, [%rd2+4];
  add.u32 %r2, %r2, ${tick};
  st.global.u32 [%rd2+4], %r2;`),
  invalid: ptx(`
  ld.global.u32 %r1, [%rd1];
  add.u32 %r1, %r1;
  st.global.u32 [%rd2], %r1;`),
  // Spins until a word the kernel never sets changes: a step that never ends.
  endless: ptx(`
$Lspin:
  ld.volatile.global.u32 %r3, [%rd2+8];
  setp.ne.u32 %p1, %r3, 0xFFFFFFFF;
  @%p1 bra $Lspin;`),
  enabled: process.env['RINGKERNEL_TEST_GPU'] === '1',
  skipReason: 'needs a CUDA GPU: run with RINGKERNEL_TEST_GPU=1 on a GPU machine',
});
