/**
 * `copy`: clone a disk sector by sector, then show that the clone is equal.
 */
import { compare, copy, fill } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks } from "./disks.js"
import { runMain } from "./run.js"

/** Fills a disk with seeded bytes, copies it, and returns `compare`'s verdict (0: equal). */
export const program = Effect.gen(function*() {
  const [disk, backup] = yield* disks(["disk", "backup"], 4096)
  yield* fill(disk!, { seed: 2024 })
  yield* copy(disk!, backup!, { chunkSectors: 256, concurrency: 2 })
  const order = yield* compare(disk!, backup!)
  yield* Console.log(`copied 4096 sectors; compare(disk, backup) = ${order}`)
  return order
})

runMain(import.meta.url, program)
