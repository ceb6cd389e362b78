// Every command the extension registers, in one table; package.json contributes the same ids
// (test/unit/commandIds.test.ts checks both ways). Commands are registered only through
// CommandRegistry, by name from this table. No VS Code API here, so tests run it in plain Node.

export const COMMANDS = {
  restartServer: 'ringkernel.restartServer',
  showLog: 'ringkernel.showLog',
  showServerInfo: 'ringkernel.showServerInfo',
  measureTopology: 'ringkernel.measureTopology',
  refreshTopology: 'ringkernel.refreshTopology',
  drainDevice: 'ringkernel.drainDevice',
  undrainDevice: 'ringkernel.undrainDevice',
  migrateKernel: 'ringkernel.migrateKernel',
  /** The same command under the title "Migrate…", for a kernel's context menu in the view. */
  migrateKernelFromView: 'ringkernel.migrateKernelFromView',
  startKernels: 'ringkernel.startKernels',
  stopKernels: 'ringkernel.stopKernels',
  reloadKernel: 'ringkernel.reloadKernel',
  rollbackKernel: 'ringkernel.rollbackKernel',
  showKernelActions: 'ringkernel.showKernelActions',
  showRunningDiff: 'ringkernel.showRunningDiff',
  showRouterStats: 'ringkernel.showRouterStats',
  showKernelState: 'ringkernel.showKernelState',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandId = (typeof COMMANDS)[CommandName];
/** Hooks the integration tests call, registered only in the extension's test mode and never contributed. */
export type TestHookId = `ringkernel.test.${string}`;

// VS Code's own signature for command handlers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandHandler = (...args: any[]) => unknown;

export interface Disposable {
  dispose(): unknown;
}

/** Registers commands by their name in COMMANDS, once each, and says which have no handler yet. */
export class CommandRegistry {
  private readonly registered = new Set<CommandName>();

  /** `registerCommand` is vscode.commands.registerCommand in the extension. */
  constructor(private readonly registerCommand: (id: CommandId | TestHookId, handler: CommandHandler) => Disposable) {}

  register(name: CommandName, handler: CommandHandler): Disposable {
    if (this.registered.has(name)) throw new Error(`the command ${COMMANDS[name]} is registered twice`);
    this.registered.add(name);
    return this.registerCommand(COMMANDS[name], handler);
  }

  /** A test hook: outside the table (package.json does not contribute it), so never "missing". */
  registerTestHook(id: TestHookId, handler: CommandHandler): Disposable {
    return this.registerCommand(id, handler);
  }

  /** Commands of the table that nothing registered: activation reports them. */
  missing(): CommandId[] {
    return (Object.keys(COMMANDS) as CommandName[])
      .filter((name) => !this.registered.has(name))
      .map((name) => COMMANDS[name]);
  }
}
