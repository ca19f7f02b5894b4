/**
 * Swapping devices: the same application code on a ramdisk (as in tests) and
 * on a file device (as in production), then a file image copied into a
 * ramdisk and back through Effect streams, with memory bounded by one chunk.
 *
 * `appendLog` and `readLog` know only `BlockDevice`; the layers decide which
 * device that is.
 */
import { BlockDevice, compare, sink, stream } from "@effect-block/block"
import { FileDevice, FileLive } from "@effect-block/file"
import { RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runMain } from "./combinators/run.js"

/** Application code: writes one message per sector from sector 0, then flushes. */
export const appendLog = (messages: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const { sectorSize } = yield* device.info
    const buffer = new Uint8Array(messages.length * sectorSize)
    messages.forEach((message, i) => buffer.set(new TextEncoder().encode(message).subarray(0, sectorSize), i * sectorSize))
    yield* device.write(0, buffer)
    yield* device.flush
  })

/** Application code: reads `count` messages back. */
export const readLog = (count: number) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const { sectorSize } = yield* device.info
    const buffer = new Uint8Array(count * sectorSize)
    yield* device.read(0, buffer)
    return Array.from({ length: count }, (_, i) =>
      new TextDecoder().decode(buffer.subarray(i * sectorSize, (i + 1) * sectorSize)).replace(/\0+$/, ""))
  })

const messages = ["first", "second", "third"]
const app = Effect.andThen(appendLog(messages), readLog(messages.length))

/** Runs the app on a ramdisk and on a new file image in `directory`, then streams the image through a ramdisk. */
export const run = (directory: string) =>
  Effect.gen(function*() {
    const onRamdisk = yield* app.pipe(
      Effect.provide(RamdiskLive({ name: "log", sizeSectors: 2048 }).pipe(Layer.provide(RegistryLive)))
    )
    yield* Console.log(`on a ramdisk:    ${onRamdisk.join(", ")}`)

    const image = join(directory, "log.img")
    const onFile = yield* app.pipe(Effect.provide(FileLive({ path: image, create: { sizeSectors: 2048 } })))
    yield* Console.log(`on a file image: ${onFile.join(", ")}`)

    // The image into a ramdisk and back out to a second file, 64 KiB at a time.
    const copied = yield* Effect.scoped(Effect.gen(function*() {
      const registry = yield* Registry
      const ramdisk = yield* registry.connect({ name: "scratch", sizeSectors: 2048 })
      // FileDevice.make is the scoped form of FileLive: the file stays open until this scope closes.
      const file = yield* FileDevice.make({ path: image })
      yield* Stream.run(stream(file, { chunkSectors: 128 }), sink(ramdisk))
      const back = yield* FileDevice.make({ path: join(directory, "copy.img"), create: { sizeSectors: 2048 } })
      const sectors = yield* Stream.run(stream(ramdisk, { chunkSectors: 128 }), sink(back))
      return { sectors, equal: (yield* compare(file, ramdisk)) === 0 && (yield* compare(ramdisk, back)) === 0 }
    }).pipe(Effect.provide(RegistryLive)))
    yield* Console.log(`streamed the image through a ramdisk and back: ${copied.sectors} sectors, identical: ${copied.equal}`)
    return { onRamdisk, onFile, ...copied }
  })

/** The example as a program: runs in a temporary directory it removes afterwards. */
export const program = Effect.acquireUseRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-block-swap-"))),
  run,
  (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
)

runMain(import.meta.url, program)
