// The one place a kernel's run state changes. ManagedKernel owns a KernelLifecycle and moves it
// through named transitions; everyone else (HotReloadManager, the runtime, the migrator) asks the
// kernel to do something and reads the state. A move the table does not allow is a bug in the
// caller, so it throws instead of leaving a kernel in a state nobody planned for.
import type { KernelPhase, KernelRunState } from './kernelReports';

/**
 * Where each state may go. Every state that does work on the device may end in `recovering`,
 * because a device host can die under any of them; `stopped` is reached only from states that
 * are not in the middle of a reload or a move (operations on one kernel run one at a time, so a
 * stop waits for them to end).
 */
export const TRANSITIONS: Readonly<Record<KernelRunState, readonly KernelRunState[]>> = {
  stopped: ['starting'],
  starting: ['running', 'failed'],
  running: ['reloading', 'draining', 'checkpointing', 'migrating', 'recovering', 'stopped'],
  // Back to running with the new version, or the old one when the new code did not compile.
  reloading: ['running', 'recovering'],
  // Draining is the first half of a stop: the state is kept, then the kernel is stopped.
  draining: ['checkpointing', 'stopped', 'recovering'],
  // A checkpoint resumes the loop afterwards, or ends a stop.
  checkpointing: ['running', 'stopped', 'recovering'],
  // Running on the target device, or on the source when the move failed before the switch.
  migrating: ['running', 'recovering'],
  // Stopped too: the user can always stop a kernel that does not come back.
  recovering: ['running', 'failed', 'stopped'],
  failed: ['stopped'],
};

/** The phases each state goes through, in order; states not listed have none. */
export const PHASES: Readonly<Partial<Record<KernelRunState, readonly KernelPhase[]>>> = {
  starting: ['compiling', 'resuming'],
  reloading: ['compiling', 'draining', 'checkpointing', 'swapping', 'restoring', 'resuming'],
  migrating: ['draining', 'checkpointing', 'moving', 'resuming'],
  recovering: ['restoring', 'resuming'],
};

export function canMove(from: KernelRunState, to: KernelRunState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A move the transition table forbids: a caller asked a kernel to do something its state does not allow. */
export class IllegalTransition extends Error {
  constructor(
    readonly kernelId: string,
    readonly from: KernelRunState,
    readonly to: KernelRunState | KernelPhase,
    kind: 'state' | 'phase',
  ) {
    const move = kind === 'state' ? `go from ${from} to ${to}` : `enter phase "${to}" while ${from}`;
    const allowed =
      kind === 'state'
        ? `from ${from} it can go to ${TRANSITIONS[from].join(', ')}`
        : `${from} has ${PHASES[from] ? `the phases ${PHASES[from].join(', ')}` : 'no phases'}`;
    super(
      `kernel "${kernelId}" cannot ${move} (${allowed}); this is a bug in RingKernel: please report it with the log`,
    );
    this.name = 'IllegalTransition';
  }
}

export interface LifecycleChange {
  from: KernelRunState;
  to: KernelRunState;
  phase: KernelPhase | undefined;
}

export class KernelLifecycle {
  private current: KernelRunState = 'stopped';
  private currentPhase: KernelPhase | undefined;

  constructor(
    private readonly kernelId: string,
    private readonly changed: (change: LifecycleChange) => void,
  ) {}

  get state(): KernelRunState {
    return this.current;
  }

  /** The phase within the state, when the state has phases and one has begun. */
  get phase(): KernelPhase | undefined {
    return this.currentPhase;
  }

  is(...states: KernelRunState[]): boolean {
    return states.includes(this.current);
  }

  /** Moves to `to` (optionally straight into its first phase); throws IllegalTransition when the table forbids it. */
  move(to: KernelRunState, phase?: KernelPhase): void {
    const from = this.current;
    if (!canMove(from, to)) throw new IllegalTransition(this.kernelId, from, to, 'state');
    if (phase !== undefined) this.checkPhase(to, phase);
    this.current = to;
    this.currentPhase = phase;
    this.changed({ from, to, phase });
  }

  /** Enters `phase` of the current state; throws IllegalTransition when the state has no such phase. */
  enter(phase: KernelPhase): void {
    this.checkPhase(this.current, phase);
    if (this.currentPhase === phase) return;
    this.currentPhase = phase;
    this.changed({ from: this.current, to: this.current, phase });
  }

  private checkPhase(state: KernelRunState, phase: KernelPhase): void {
    if (!(PHASES[state] ?? []).includes(phase)) throw new IllegalTransition(this.kernelId, state, phase, 'phase');
  }
}
