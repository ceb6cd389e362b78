// The line a reload leaves in the view: "v3 at step 1,204", and which way it went. No DOM.
import { formatCount } from '../shared/format';

export function markerText(marker: { fromVersion: number; toVersion: number; atStep: number }): string {
  const base = `v${marker.toVersion} at step ${formatCount(marker.atStep)}`;
  return marker.toVersion < marker.fromVersion ? `${base} (back from v${marker.fromVersion})` : base;
}
