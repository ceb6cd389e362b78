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
  startKernels: 'ringkernel.startKernels',
  stopKernels: 'ringkernel.stopKernels',
  reloadKernel: 'ringkernel.reloadKernel',
  rollbackKernel: 'ringkernel.rollbackKernel',
  showKernelActions: 'ringkernel.showKernelActions',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandId = (typeof COMMANDS)[CommandName];

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
  constructor(private readonly registerCommand: (id: CommandId, handler: CommandHandler) => Disposable) {}

  register(name: CommandName, handler: CommandHandler): Disposable {
    if (this.registered.has(name)) throw new Error(`the command ${COMMANDS[name]} is registered twice`);
    this.registered.add(name);
    return this.registerCommand(COMMANDS[name], handler);
  }

  /** Commands of the table that nothing registered: activation reports them. */
  missing(): CommandId[] {
    return (Object.keys(COMMANDS) as CommandName[]).filter((name) => !this.registered.has(name)).map((name) => COMMANDS[name]);
  }
}
