// Message rings without a mapping: the same ring file read and written in chunks.
process.env.RINGKERNEL_SHARED_MAPPING = '0';
import { ringTests } from './transfer/ringChecks';

ringTests(false);
