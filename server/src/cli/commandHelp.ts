// What each `ringkernel` command does and takes: one table for the overview (`ringkernel --help`)
// and for each command's own `--help`, so the two never say different things.

export type CommandName = 'devices' | 'topology' | 'check' | 'run';

interface CommandHelp {
  usage: string;
  summary: string;
  /** One line per option: the option, then what it does. */
  options: readonly (readonly [string, string])[];
  /** Exit codes beyond the common ones (0 success, 2 a wrong command line). */
  exit?: string;
}

export const COMMANDS: Readonly<Record<CommandName, CommandHelp>> = {
  devices: {
    usage: 'ringkernel devices [--json]',
    summary: 'list every GPU backend and its devices, or why it is unavailable',
    options: [['--json', "print the probe's result as JSON"]],
  },
  topology: {
    usage: 'ringkernel topology [--json] [--measure]',
    summary:
      'the devices and their links (NVLink, PCIe, host), bandwidth and latency; --measure measures them and caches the result',
    options: [
      ['--json', 'print the topology as JSON'],
      ['--measure', 'measure bandwidth and latency of every link first, and cache them for this machine'],
    ],
    exit: '1 when a measurement failed',
  },
  check: {
    usage: 'ringkernel check FILE... [--json] [--ptxas PATH] [--allow-unchecked] [--jobs N] [--verbose]',
    summary:
      'validate .wgsl, .ptx and .metal files as the editor does; prints file:line:col: error|warning|note: message [source], details indented under it',
    options: [
      ['--json', "print each file's diagnostics as JSON"],
      [
        '--ptxas PATH',
        'the ptxas that checks PTX (default: $CUDA_HOME/bin, $CUDA_PATH/bin, then PATH); a PATH that does not work is an error',
      ],
      ['--allow-unchecked', 'a file that could not be checked (too large, parse budget spent) is not an error'],
      ['--jobs N', 'files checked at once (default: one per core)'],
      ['--verbose', 'print every line of multi-line compiler messages'],
    ],
    exit: '1 when a file has an error or could not be checked; 2 on bad usage (an unknown option, a --ptxas that does not work)',
  },
  run: {
    usage:
      'ringkernel run MANIFEST [--steps N] [--json] [--webgpu-instances N] [--cuda-instances N] [--migrate ID=DEVICE@STEP]... [--snapshot VIEW@STEP=FILE]... [--checkpoint-dir DIR]',
    summary:
      'run the kernels of a ringkernel.json headless for N steps, together in lockstep (messages between kernels delivered between steps); prints per kernel its id, device, step and the SHA-256 of its state',
    options: [
      ['--steps N', 'steps per kernel (default 100)'],
      [
        '--json',
        "print the results as JSON (with each migration: from, to, bytes, route, routeLabel, deviceToDevice, ms, GB/s, pause, verified, verifiedOn; and the K2K router's totals: sent, delivered, pending, refused, failed, lost)",
      ],
      [
        '--webgpu-instances N',
        'open N device instances of the WebGPU adapter: webgpu:0 to webgpu:N-1, each a device of its own (default 1)',
      ],
      [
        '--cuda-instances N',
        'open each CUDA GPU as N devices, each in its own device host with its own CUDA context (default 1); on one GPU cuda:0 to cuda:N-1, between which a migration copies device to device',
      ],
      [
        '--migrate ID=DEVICE@STEP',
        'move kernel ID to DEVICE once it has run STEP steps, checking its state there (repeatable)',
      ],
      [
        '--snapshot VIEW@STEP=FILE',
        'write a manifest view (VIEW is kernel.view, e.g. heat.rod) as it is after STEP steps: a picture when FILE ends in .png, the numbers with the step when .csv (repeatable)',
      ],
      [
        '--checkpoint-dir DIR',
        "resume every kernel from its newest checkpoint file in DIR written by the same code (all at one step; --steps N then runs N more), and write each kernel's final state there",
      ],
    ],
    exit: '1 when a kernel could not run, a checkpoint could not be written, a snapshot could not be written, or the manifest has an error; 2 on bad usage (an unknown option, a view the manifest does not have)',
  },
};

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** Whether the arguments ask for help rather than for the command. */
export const asksForHelp = (args: readonly string[]): boolean => args.includes('--help') || args.includes('-h');

/** `ringkernel COMMAND --help`: usage, what it does, its options, its exit codes. */
export function commandHelpText(name: CommandName): string {
  const help = COMMANDS[name];
  const width = Math.max(...help.options.map(([option]) => option.length), '--help'.length);
  const lines = [
    `Usage: ${help.usage}`,
    '',
    `${help.summary[0]?.toUpperCase() ?? ''}${help.summary.slice(1)}.`,
    '',
    'Options:',
  ];
  for (const [option, what] of [...help.options, ['--help', 'print this help'] as const])
    lines.push(`  ${option.padEnd(width)}  ${what}`);
  lines.push('', `Exit codes: 0 success${help.exit ? `, ${help.exit}` : ''}, 2 a wrong command line.`, '');
  return lines.join('\n');
}

/** The overview's lines for every command. */
export function commandsOverview(): string {
  return Object.values(COMMANDS)
    .map((help) => `  ${help.usage}\n      ${help.summary}`)
    .join('\n');
}
