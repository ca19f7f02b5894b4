/**
 * `effect-block map TARGET`: the disk's extents — which ranges may hold
 * data and which read as zeros — printed as `nbdinfo --map` prints them
 * (offset, length, type, description; bytes), or with `--json` as the same
 * list of objects.
 *
 * An extent is what the device's seeks report (docs/semantics.md): type 0
 * `data` for a range that may hold data, type 3 `hole,zero` for one that
 * reads as zeros. A device that cannot seek is one data extent.
 *
 * @since 0.1.0
 */
import { type Extent, extents } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Argument, Command, Flag } from "effect/cli"
import { CommandLineError, describedFlag } from "./Errors.js"
import { openTarget } from "./Target.js"

/**
 * One line of the map, in bytes.
 *
 * @since 0.1.0
 */
export interface MapEntry {
  readonly offset: number
  readonly length: number
  readonly type: 0 | 3
  readonly description: "data" | "hole,zero"
}

/**
 * Extents in sectors as map entries in bytes.
 *
 * @since 0.1.0
 */
export const toEntries = (runs: ReadonlyArray<Extent>, sectorSize: number): ReadonlyArray<MapEntry> =>
  runs.map((run) => ({
    offset: run.start * sectorSize,
    length: run.sectors * sectorSize,
    type: run.mapped ? 0 : 3,
    description: run.mapped ? "data" : "hole,zero"
  }))

/**
 * The entries as `nbdinfo --map` prints them: offset and length right-aligned
 * in 10 columns, the type in 3, then the description.
 *
 * @since 0.1.0
 */
export const formatMap = (entries: ReadonlyArray<MapEntry>): string =>
  entries.map((e) => `${String(e.offset).padStart(10)}  ${String(e.length).padStart(10)}  ${String(e.type).padStart(3)}  ${e.description}`)
    .join("\n")

/**
 * The entries as `nbdinfo --map --json` prints them: a JSON array, one object a line.
 *
 * @since 0.1.0
 */
export const formatMapJson = (entries: ReadonlyArray<MapEntry>): string =>
  ["[", entries.map((e) => `{ "offset": ${e.offset}, "length": ${e.length}, "type": ${e.type}, "description": "${e.description}"}`).join(",\n"), "]"]
    .filter((line) => line !== "").join("\n")

const flags = {
  target: Argument.String("target").pipe(Argument.withDescription("a file path or an NBD URI")),
  json: describedFlag(Flag.Boolean("json").pipe(Flag.withDefault(false)), "print a JSON array, as nbdinfo --map --json does")
}

/**
 * The `map` subcommand.
 *
 * @since 0.1.0
 */
export const map = Command.make("map", flags, ({ json, target }) =>
  Effect.gen(function*() {
    const opened = yield* openTarget(target, { readOnly: true })
    const { sectorSize } = yield* opened.device.info
    const runs = yield* Effect.mapError(
      extents(opened.device),
      (error) => new CommandLineError({ message: `${target}: ${error._tag}: ${error.message}` })
    )
    const entries = toEntries(runs, sectorSize)
    if (entries.length > 0 || json) yield* Console.log(json ? formatMapJson(entries) : formatMap(entries))
  }).pipe(
    Effect.scoped,
    Effect.catchTag("TargetError", (error) => Effect.fail(new CommandLineError({ message: error.message })))
  )).pipe(Command.withDescription("Print a disk's extents (data, or holes reading as zeros) as nbdinfo --map does."))
