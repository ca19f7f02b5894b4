/**
 * The `effect-block` command's entry point (run by `bin/effect-block.js`):
 * the subcommands, and how errors end the process — one line on stderr
 * and exit code 1 for a bad command line or a failure to start.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { CliOutput, Command } from "effect/cli"
import { commandLineMessage, oneLine } from "./internal/Report.js"
import { serve } from "./Serve.js"
import { clientCommands } from "./ClientCommands.js"

const root = Command.make("effect-block").pipe(
  Command.withDescription("Block devices for Effect: serve them over NBD, inspect, copy and compare disks."),
  Command.withSubcommands([serve, ...clientCommands])
)

// Help and --version print as usual; a bad invocation prints one line, not the help page.
const presenter = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.sync(() => {
        process.stderr.write(`effect-block: ${event.errors.map((error) => oneLine(error.message)).join("; ")}\n`)
      })
      : CliOutput.defaultPresenter.present(event)
})

const program = Command.run(root, { version: "0.1.0" }).pipe(
  Effect.provide(Layer.merge(NodeServices.layer, presenter))
)

NodeRuntime.runMain(
  program.pipe(
    Effect.catchCause((cause) =>
      Effect.suspend(() => {
        const message = commandLineMessage(cause)
        if (message === undefined) return Effect.failCause(cause)
        if (message.length > 0) process.stderr.write(`effect-block: ${message}\n`)
        process.exitCode = 1
        return Effect.void
      })
    ),
    Effect.onExit((exit) =>
      Effect.sync(() => {
        if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) process.exitCode = 1
      })
    )
  ),
  {
    // Stopping the server with SIGINT or SIGTERM is the normal way out: exit 0.
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  }
)
