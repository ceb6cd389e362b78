// Shared-memory transfer regions with the addon's mapping (where the addon is built; the file
// fallback otherwise, tested on its own in transferRegionsFallback.test.ts).
import { sharedMapper } from '../../server/src/hosts/sharedMapping';
import { regionTests } from './transfer/regionChecks';

regionTests(sharedMapper().ok ? true : undefined);
