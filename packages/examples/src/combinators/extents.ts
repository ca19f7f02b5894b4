/**
 * `extents`: the map of a disk's data and holes, like `nbdinfo --map`.
 */
import { extents } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks } from "./disks.js"
import { runMain } from "./run.js"

/** Writes two extents and returns the map. */
export const program = Effect.gen(function*() {
  const [disk] = yield* disks(["disk"], 256)
  yield* disk!.write(8, new Uint8Array(16 * 512).fill(1))
  yield* disk!.write(128, new Uint8Array(8 * 512).fill(2))
  const map = yield* extents(disk!)
  for (const run of map) yield* Console.log(`${run.start}\t${run.sectors}\t${run.mapped ? "data" : "hole"}`)
  return map
})

runMain(import.meta.url, program)
