// Shared-memory transfer regions without a mapping: reused files read and written in chunks.
process.env.RINGKERNEL_SHARED_MAPPING = '0';
import { regionTests } from './transfer/regionChecks';

regionTests(false);
