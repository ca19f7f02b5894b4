/**
 * `fill`: give a disk recognisable (pattern) or realistic (seeded random)
 * contents, reproducibly.
 */
import { compare, fill } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks, text } from "./disks.js"
import { runMain } from "./run.js"

/** Fills with a pattern and with seeds; returns what it observed. */
export const program = Effect.gen(function*() {
  const [a, b] = yield* disks(["a", "b"], 64)
  yield* fill(a!, { pattern: new TextEncoder().encode("effect-block "), sectors: 1 })
  const first = new Uint8Array(512)
  yield* a!.read(0, first)
  yield* fill(a!, { seed: 42, start: 1 })
  yield* fill(b!, { seed: 42, start: 1, chunkSectors: 5, concurrency: 3 })
  yield* b!.write(0, first)
  const sameSeedSameBytes = (yield* compare(a!, b!)) === 0
  const pattern = text(first.subarray(0, 26))
  yield* Console.log(`sector 0 starts "${pattern}"; same seed, same bytes: ${sameSeedSameBytes}`)
  return { pattern, sameSeedSameBytes }
})

runMain(import.meta.url, program)
