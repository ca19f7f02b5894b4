/**
 * `stream` and `sink`: move a disk's bytes through Effect streams, here
 * through a transformation, with memory bounded by one chunk.
 */
import { compare, fill, sink, stream } from "@effect-block/block"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { disks } from "./disks.js"
import { runMain } from "./run.js"

/** Copies a disk through a stream, then writes an inverted copy; returns what it checked. */
export const program = Effect.gen(function*() {
  const [source, copyDisk, inverted] = yield* disks(["source", "copy", "inverted"], 4096)
  yield* fill(source!, { seed: 7 })
  const sectors = yield* Stream.run(stream(source!, { chunkSectors: 128 }), sink(copyDisk!))
  const equal = (yield* compare(source!, copyDisk!)) === 0
  yield* stream(source!).pipe(
    Stream.map((chunk) => chunk.map((byte) => 255 - byte)),
    Stream.run(sink(inverted!))
  )
  const differs = (yield* compare(source!, inverted!)) !== 0
  yield* Console.log(`streamed ${sectors} sectors; copy equal: ${equal}; inverted copy differs: ${differs}`)
  return { sectors, equal, differs }
})

runMain(import.meta.url, program)
