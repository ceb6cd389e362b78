// A corrupted import caught by the target's verify on its device (the WebGPU digest kernel, after
// the last write): test/support/migrationVerifySuite.ts.
import { migrationVerifySuite } from '../support/migrationVerifySuite';

migrationVerifySuite(false);
