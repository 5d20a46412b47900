import { errorText, productVersion } from '@telemy/protocol';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';

/**
 * The `telemy` command. Every subcommand lives in `commands/<group>.ts` and registers itself; this
 * file only sets the shared behaviour: usage errors exit 2, other failures print one line and exit 1
 * (a stack trace only with --verbose).
 */
const program = new Command('telemy')
  .description(
    'Telemy: keeps a live stream on air (OBS health, automatic failover, chat control, cloud relay)',
  )
  .version(productVersion(), '-V, --version', 'print the version')
  .option('--verbose', 'print stack traces for errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program.configureOutput({ outputError: (str, write) => write(str) });
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
      process.exit(0);
    }
    process.exit(2);
  }
  const verbose = program.opts().verbose === true;
  const message = errorText(err);
  process.stderr.write(`telemy: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(
    typeof (err as { exitCode?: unknown }).exitCode === 'number' ? (err as { exitCode: number }).exitCode : 1,
  );
}
