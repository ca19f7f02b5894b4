/**
 * How the command reports a bad command line: one line naming the flag,
 * printed by `main`, with a non-zero exit code. Shared by every subcommand.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Flag } from "effect/cli"

/**
 * A bad flag or value, or a failure to start: `message` is the whole line.
 *
 * @since 0.1.0
 */
export class CommandLineError extends Schema.TaggedError<CommandLineError>()("CommandLineError", {
  message: Schema.String
}) {}

/**
 * The error for a bad value of `--flag`: `--flag: reason`.
 *
 * @since 0.1.0
 */
export const flagError = (flag: string, reason: string): CommandLineError =>
  new CommandLineError({ message: `--${flag}: ${reason}` })

/**
 * A flag with its `--help` text.
 *
 * @since 0.1.0
 */
export const describedFlag = <A>(flag: Flag.Flag<A>, description: string): Flag.Flag<A> =>
  Flag.withDescription(flag, description)
