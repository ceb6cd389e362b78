// Entry of the `ringkernel` command line (dist/cli.js): the engine without an editor.
import { probeBackends } from '../backends/backendProbe';
import { describeBackend } from '../backends/backendReport';
import { VERSION } from '../version';
import { checkCommand } from './checkCommand';
import { runCommand } from './runCommand';
import { topologyCommand } from './topologyCommand';

const HELP = `ringkernel ${VERSION}: GPU kernels in WGSL, PTX and Metal, from the command line.

Usage:
  ringkernel devices [--json]   list every GPU backend and its devices, or why it is unavailable
  ringkernel topology [--json] [--measure]
                                the devices and their links (NVLink, PCIe, host), bandwidth and
                                latency; --measure measures them and caches the result
  ringkernel check FILE... [--json] [--ptxas PATH] [--allow-unchecked] [--jobs N] [--verbose]
                                validate .wgsl, .ptx and .metal files as the editor does; prints
                                file:line:col: error|warning|note: message [source], details
                                indented under it; exit 1 on errors and on files that could not
                                be checked (unless --allow-unchecked); --jobs: files at once
                                (default one per core)
  ringkernel run MANIFEST [--steps N] [--json]
                                run the kernels of a ringkernel.json headless for N steps (default
                                100) each; prints per kernel its id, device, step and the SHA-256
                                of its state; exit 1 when a kernel could not run
  ringkernel --version          print the version
  ringkernel --help             print this help

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
  const reports = await probeBackends({ onOutput: (line) => process.stderr.write(`[driver] ${line}\n`) });
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ backends: reports }, null, 2)}\n`);
  else for (const report of reports) process.stdout.write(`${describeBackend(report)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    process.stderr.write(`ringkernel: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
