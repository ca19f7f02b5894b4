/**
 * `slice`: partitions. Each partition is a device of its own; none can reach
 * outside its window.
 */
import { fill, formatError, slice } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks, text } from "./disks.js"
import { runMain } from "./run.js"

/** Splits a disk in two, writes through each half, and tries to escape one. */
export const program = Effect.gen(function*() {
  const [disk] = yield* disks(["disk"], 2048)
  const boot = slice(disk!, { start: 0, sectors: 64 })
  const data = slice(disk!, { start: 64, sectors: 1984 })
  yield* fill(boot, { pattern: new TextEncoder().encode("boot") })
  yield* fill(data, { pattern: new TextEncoder().encode("data"), sectors: 1 })
  const sector = new Uint8Array(512)
  yield* disk!.read(64, sector)
  const atSector64 = text(sector.subarray(0, 4))
  const error = yield* Effect.flip(boot.write(64, sector))
  yield* Console.log(`disk sector 64 holds "${atSector64}"; writing past the boot partition: ${formatError(error)}`)
  return { atSector64, error: error._tag }
})

runMain(import.meta.url, program)
