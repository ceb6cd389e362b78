// What the probe child (probe/child/probeMain.ts) sends its parent, once, before it exits.
import type { BackendReport } from '../backends/backendReport';
import type { TopologyProbes } from './probeRecords';

export interface ProbeResult {
  kind: 'probe-result';
  reports: BackendReport[];
  /** What the hardware says about how the devices connect (see probe/child/hardwareProbe.ts). */
  topology: TopologyProbes;
}
