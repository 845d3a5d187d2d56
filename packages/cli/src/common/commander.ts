/**
 * Commander wiring shared by both commands: usage errors exit 2 with the message on stderr,
 * `--help` and `--version` exit 0, and actions return their exit code.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT } from './exit-codes.ts';
import { reportError } from './fail.ts';

export const VERSION = '0.1.0';

export function newProgram(name: string, description: string): Command {
  return new Command(name).description(description).version(VERSION).exitOverride().showHelpAfterError('(run with --help for usage)');
}

/** Parses argv and runs the chosen action; returns the process exit code. */
export async function runProgram(program: Command, argv: readonly string[], result: { code: number }): Promise<number> {
  try {
    await program.parseAsync(argv as string[]);
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    // Whatever a command did not handle itself: one line naming the command, never a stack trace.
    const sub = program.args[0];
    return reportError(sub && program.commands.some((c) => c.name() === sub) ? `${program.name()} ${sub}` : program.name(), err);
  }
}

/** Parses a TCP port flag (0 = any free port). */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}
