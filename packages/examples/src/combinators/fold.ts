/**
 * `fold`, `foldMapped`, `foldUnmapped`: walk a disk's data, its mapped runs
 * only, or its holes.
 */
import { fold, foldMapped, foldUnmapped } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks } from "./disks.js"
import { runMain } from "./run.js"

/** Counts non-zero bytes three ways; returns the counts and the hole sizes. */
export const program = Effect.gen(function*() {
  const [disk] = yield* disks(["disk"], 1024)
  yield* disk!.write(16, new Uint8Array(8 * 512).fill(1))
  const countNonZero = (count: number, _sector: number, data: Uint8Array) =>
    Effect.succeed(count + data.reduce((n, byte) => n + (byte === 0 ? 0 : 1), 0))
  const everywhere = yield* fold(disk!, 0, countNonZero)
  const inData = yield* foldMapped(disk!, 0, countNonZero)
  const holes = yield* foldUnmapped(disk!, [] as Array<number>, (acc, _sector, sectors) => Effect.succeed([...acc, sectors]))
  yield* Console.log(`non-zero bytes: ${everywhere} (whole disk), ${inData} (mapped runs only); holes: ${holes.join(", ")} sectors`)
  return { everywhere, inData, holes }
})

runMain(import.meta.url, program)
