/**
 * The `imeiflow` command line. Exit codes (exit-codes.ts): 0 ok, 1 input errors (rejected rows,
 * bad files, bad configuration), 2 usage errors. Each command module registers its commands.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { isImeiflowError, messageOf } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { registerCertCommands } from './cert-command.js';
import { registerCheckCommand } from './check-command.js';
import { EXIT_INPUT, EXIT_OK, EXIT_USAGE, type SetExit } from './exit-codes.js';
import { registerLoadCommands } from './load-command.js';
import { registerPurgeCommand } from './purge-command.js';
import { registerRunCommands } from './run-command.js';
import { registerStoreCommands } from './store-command.js';
import { registerTokenCommands } from './token-command.js';

const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

/** Every command, in the order --help lists them. */
const COMMANDS: readonly ((cli: Command, setExit: SetExit) => void)[] = [
  registerLoadCommands,
  registerCheckCommand,
  registerTokenCommands,
  registerCertCommands,
  registerPurgeCommand,
  registerStoreCommands,
  registerRunCommands,
];

function program(setExit: SetExit): Command {
  const cli = new Command('imeiflow')
    .description('IMEI verification stream processor for the national IMEI database (БДИК)')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(cli, setExit);
  return cli;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const cli = program((code) => {
    exitCode = code;
  });
  try {
    await cli.parseAsync(argv as string[], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    process.stderr.write(
      `imeiflow: ${isImeiflowError(error) ? `${error.message} [${error.code}]` : messageOf(error)}\n`,
    );
    return EXIT_INPUT;
  }
}
