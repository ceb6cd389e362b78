// Entry of the `ringkernel` command line (dist/cli.js): the engine without an editor.
import { probeBackends } from '../probe/machineProbe';
import { describeBackend } from '../backends/backendReport';
import { VERSION } from '../version';
import { checkCommand } from './checkCommand';
import { asksForHelp, commandHelpText, commandsOverview, isCommandName } from './commandHelp';
import { runCommand } from './runCommand';
import { topologyCommand } from './topologyCommand';
import { printDriverLine } from '../driverNoise';

const HELP = `ringkernel ${VERSION}: GPU kernels in WGSL, PTX and Metal, from the command line.

Usage:
${commandsOverview()}
  ringkernel COMMAND --help
      a command's options and exit codes
  ringkernel --version
      print the version
  ringkernel --help
      print this help

The language server for editors is a separate command: ringkernel-language-server --stdio
`;

/** Exit codes: 0 success, 1 the command ran and found a problem, 2 the command line was wrong. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  // Every command's --help is answered here, before the command reads its options.
  if (isCommandName(command) && asksForHelp(rest)) {
    process.stdout.write(commandHelpText(command));
    return 0;
  }
  if (command === 'devices') return devices(rest);
  if (command === 'topology') return topologyCommand(rest);
  if (command === 'check') return checkCommand(rest);
  if (command === 'run') return runCommand(rest);
  process.stderr.write(`ringkernel: unknown command "${command}". Run \`ringkernel --help\` for the commands.\n`);
  return 2;
}

async function devices(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`ringkernel devices: unknown option ${unknown.join(' ')}; the only option is --json\n`);
    return 2;
  }
  const reports = await probeBackends({ onOutput: printDriverLine });
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ backends: reports }, null, 2)}\n`);
  else for (const report of reports) process.stdout.write(`${describeBackend(report)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ringkernel: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
