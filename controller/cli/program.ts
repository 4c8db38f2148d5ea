// The commander program: global options, exit codes (0 ok, 1 failure, 2 usage) and the one-line
// error contract of ../shared/DESIGN.md §4.
import { Command, CommanderError } from 'commander';
import { exitCodeFor, formatDiagnostic, formatError, InvalidInputError, SilentExit, UsageError } from '../errors.ts';
import { packageVersion } from './context.ts';
import { verbs } from './verbs.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('xenoform')
    .description("Declarative Xen: YAML domain manifests driving an embedded emulated x86 Xen PV hypervisor")
    .version(packageVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--state-dir <dir>', 'state directory (default: $XENOFORM_STATE_DIR, else ./.xenoform)')
    .showSuggestionAfterError(true)
    // set before the verbs: commander copies these settings into each subcommand it creates
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.replace(/\n(?=.)/g, ' ')),
    });
  for (const v of verbs) v.register(program);
  for (const c of program.commands) c.helpOption('-h, --help', 'show help');
  return program;
}

/** Runs the CLI and returns the exit code; never throws, never prints a stack trace. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return 0;
      return 2; // commander already printed its one line
    }
    if (e instanceof SilentExit) return e.exitCode;
    if (e instanceof InvalidInputError) {
      for (const d of e.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
      return e.exitCode;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${formatError(e)}\n`);
    if (process.env.XENOFORM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return exitCodeFor(e);
  }
}
