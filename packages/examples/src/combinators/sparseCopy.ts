/**
 * `sparseCopy`: copy only the data of a mostly empty disk; the copy stays
 * sparse, and stale data on the destination is cleared.
 */
import { compare, extents, fill, sparseCopy } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks } from "./disks.js"
import { runMain } from "./run.js"

/** Copies a disk with two small extents of data over a dirty destination; returns the destination's map. */
export const program = Effect.gen(function*() {
  const [golden, scratch] = yield* disks(["golden", "scratch"], 1 << 20)
  yield* fill(golden!, { seed: 1, start: 2048, sectors: 64 })
  yield* fill(golden!, { pattern: new TextEncoder().encode("tail"), start: 900_000, sectors: 8 })
  yield* fill(scratch!, { pattern: new Uint8Array([0xff]), start: 2000, sectors: 200 }) // stale data to clear
  yield* sparseCopy(golden!, scratch!)
  const map = yield* extents(scratch!)
  yield* Console.log(`copy equal: ${(yield* compare(golden!, scratch!)) === 0}; destination map:`)
  for (const run of map) yield* Console.log(`  ${run.start}+${run.sectors} ${run.mapped ? "data" : "hole"}`)
  return map
})

runMain(import.meta.url, program)
