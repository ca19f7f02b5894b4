/**
 * Turns whatever ended a subcommand with a failure into the one line the
 * command prints, or undefined when it is not a command-line problem (a
 * defect, which the runtime reports in full).
 */
import * as Cause from "effect/Cause"
import { CliError } from "effect/cli"
import { CommandLineError } from "../Errors.js"

/** Folds a message onto one line. */
export const oneLine = (text: string) => text.replace(/\s*\r?\n\s*/g, " ").trim()

/** The one-line message for a failure, or undefined. */
export const commandLineMessage = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure === undefined) return undefined
  const error = failure.error
  if (error instanceof CommandLineError) return oneLine(error.message)
  if (CliError.isCliError(error)) {
    // The presenter has printed a bad invocation already (""); help alone is no failure.
    if (error._tag === "ShowHelp") return error.errors.length === 0 ? undefined : ""
    return oneLine(error.message)
  }
  return undefined
}
