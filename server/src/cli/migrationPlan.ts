// `--migrate ID=DEVICE@STEP` for `ringkernel run`: when kernel ID has completed STEP steps, it
// moves to DEVICE (a device key such as webgpu:1 or cuda:0) and runs its remaining steps there.
export interface PlannedMigration {
  kernelId: string;
  device: string;
  step: number;
}

/** One --migrate value, or why it is not one. */
export function parseMigration(value: string | undefined): PlannedMigration | string {
  const match = /^([^=]+)=((?:cuda|webgpu):\d+)@(\d+)$/.exec(value ?? '');
  if (!match?.[1] || !match[2] || !match[3]) {
    return `--migrate needs ID=DEVICE@STEP, e.g. heat=webgpu:1@30 (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`;
  }
  const step = Number(match[3]);
  if (!Number.isSafeInteger(step)) return `--migrate ${value ?? ''}: the step ${match[3]} is too large`;
  return { kernelId: match[1], device: match[2], step };
}

/** The migrations of one kernel in step order; two at the same step are refused. */
export function migrationsOf(kernelId: string, all: readonly PlannedMigration[]): PlannedMigration[] {
  return all.filter((m) => m.kernelId === kernelId).sort((a, b) => a.step - b.step);
}
