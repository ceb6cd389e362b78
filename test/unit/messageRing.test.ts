// Message rings with the addon's mapping (where the addon is built; the file fallback otherwise,
// tested on its own in messageRingFallback.test.ts).
import { sharedMapper } from '../../server/src/hosts/sharedMapping';
import { ringTests } from './transfer/ringChecks';

ringTests(sharedMapper().ok);
