/**
 * `effect-block compare A B`: whether two disks hold the same bytes. Exit
 * code 0 when they do (same size, same contents), 1 when they differ (one
 * line on stdout says so, with the sizes when those differ), 2 when either
 * cannot be opened or read (one line on stderr). Ranges both report as holes are skipped, so sparse disks compare in
 * time proportional to their data.
 *
 * @since 0.1.0
 */
import { compare as compareDevices } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Argument, Command } from "effect/cli"
import { oneLine } from "./internal/Report.js"
import { openTarget } from "./Target.js"

/**
 * The outcome of a comparison and its exit code.
 *
 * @since 0.1.0
 */
export type Comparison =
  | { readonly _tag: "Equal"; readonly exitCode: 0 }
  | { readonly _tag: "Different"; readonly exitCode: 1; readonly message: string }
  | { readonly _tag: "Error"; readonly exitCode: 2; readonly message: string }

/**
 * Compares two TARGETs, never failing: errors are the `Error` outcome.
 *
 * @since 0.1.0
 */
export const compareTargets = (a: string, b: string): Effect.Effect<Comparison> =>
  Effect.gen(function*() {
    const first = yield* openTarget(a, { readOnly: true })
    const second = yield* openTarget(b, { readOnly: true })
    const infoA = yield* first.device.info
    const infoB = yield* second.device.info
    const bytesA = infoA.sizeSectors * infoA.sectorSize
    const bytesB = infoB.sizeSectors * infoB.sectorSize
    const order = yield* compareDevices(first.device, second.device)
    if (order === 0) return { _tag: "Equal", exitCode: 0 } as const
    const message = bytesA !== bytesB ?
      `${a} and ${b} differ: sizes ${bytesA} and ${bytesB} bytes` :
      `${a} and ${b} differ`
    return { _tag: "Different", exitCode: 1, message } as const
  }).pipe(
    Effect.scoped,
    Effect.catch((error) => Effect.succeed({ _tag: "Error", exitCode: 2, message: oneLine(`${error._tag}: ${error.message}`) } as const))
  )

const flags = {
  a: Argument.String("a").pipe(Argument.withDescription("a file path or an NBD URI")),
  b: Argument.String("b").pipe(Argument.withDescription("a file path or an NBD URI"))
}

/**
 * The `compare` subcommand.
 *
 * @since 0.1.0
 */
export const compare = Command.make("compare", flags, ({ a, b }) =>
  Effect.gen(function*() {
    const outcome = yield* compareTargets(a, b)
    if (outcome._tag === "Different") yield* Console.log(outcome.message)
    if (outcome._tag === "Error") yield* Console.error(`effect-block compare: ${outcome.message}`)
    // 0 equal, 1 different, 2 error: the exit code is the answer, as with cmp(1).
    yield* Effect.sync(() => {
      process.exitCode = outcome.exitCode
    })
  })).pipe(Command.withDescription("Compare two disks: exit 0 when equal, 1 when different, 2 on error."))
