/**
 * `overlay`: run a test against a golden image without changing it, the
 * way the nbdkit cow filter does.
 */
import { compare, fill, overlay } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { disks, text } from "./disks.js"
import { runMain } from "./run.js"

/** Writes and discards through an overlay; returns what the overlay and the golden image read. */
export const program = Effect.gen(function*() {
  const [golden, reference, scratch] = yield* disks(["golden", "reference", "scratch"], 256)
  yield* fill(golden!, { pattern: new TextEncoder().encode("golden, ") })
  yield* fill(reference!, { pattern: new TextEncoder().encode("golden, ") })
  const disk = overlay(golden!, scratch!)
  yield* disk.write(3, new Uint8Array(512).fill(0x41))
  yield* disk.discard(10, 2)
  const sector = new Uint8Array(512)
  yield* disk.read(3, sector)
  const written = text(sector.subarray(0, 4))
  yield* disk.read(4, sector)
  const untouched = text(sector.subarray(0, 6))
  yield* disk.read(10, sector)
  const discardedIsZero = sector.every((byte) => byte === 0)
  const goldenUnchanged = (yield* compare(golden!, reference!)) === 0
  yield* Console.log(
    `overlay sector 3: "${written}", sector 4: "${untouched}", discarded reads zeros: ${discardedIsZero}; golden unchanged: ${goldenUnchanged}`
  )
  return { written, untouched, discardedIsZero, goldenUnchanged }
})

runMain(import.meta.url, program)
