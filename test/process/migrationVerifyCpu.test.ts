// A corrupted import caught by the target's verify on the CPU (RINGKERNEL_TEST_CPU_VERIFY=1: the
// state read back and hashed beside the import, as where a device has no digest kernel):
// test/support/migrationVerifySuite.ts.
import { migrationVerifySuite } from '../support/migrationVerifySuite';

migrationVerifySuite(true);
