/**
 * The quick start: what `npm start` runs. It connects a named ramdisk through
 * its layer, writes and reads sectors, takes a snapshot, changes the disk,
 * restores the snapshot, resizes, and prints each step.
 *
 * The program asks for `BlockDevice` and `Ramdisk` only; `RamdiskLive` and
 * `RegistryLive` are provided at the edge, which is where an application would
 * provide a file device instead.
 */
import { BlockDevice, formatError } from "@effect-block/block"
import { Ramdisk, RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { pathToFileURL } from "node:url"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0+$/, "")

/** The steps, as an Effect that needs a block device and a ramdisk; returns what it saw. */
export const program = Effect.gen(function*() {
  const device = yield* BlockDevice
  const ramdisk = yield* Ramdisk
  const info = yield* device.info
  yield* Console.log(
    `connected ramdisk "${ramdisk.name}": ${info.sizeSectors} sectors of ${info.sectorSize} bytes (${
      info.sizeSectors * info.sectorSize / 2 ** 20
    } MiB), allocated ${(yield* ramdisk.stats).allocatedBytes} bytes`
  )

  const sector = new Uint8Array(info.sectorSize)
  sector.set(new TextEncoder().encode("hello, block device"))
  yield* device.write(100, sector)
  yield* Console.log(`wrote "${text(sector)}" to sector 100; allocated ${(yield* ramdisk.stats).allocatedBytes} bytes`)

  const readBack = new Uint8Array(info.sectorSize)
  yield* device.read(100, readBack)
  yield* Console.log(`read sector 100: "${text(readBack)}"`)

  const snapshot = yield* ramdisk.snapshot
  yield* Console.log(`took a snapshot (O(1), ${snapshot.allocatedBytes} bytes shared with the disk)`)

  const overwrite = new Uint8Array(info.sectorSize)
  overwrite.set(new TextEncoder().encode("overwritten"))
  yield* device.write(100, overwrite)
  yield* device.read(100, readBack)
  const afterOverwrite = text(readBack)
  yield* Console.log(`overwrote sector 100: "${afterOverwrite}"`)

  yield* ramdisk.restore(snapshot)
  yield* device.read(100, readBack)
  const afterRestore = text(readBack)
  yield* Console.log(`restored the snapshot: sector 100 reads "${afterRestore}" again`)

  const extentEnd = yield* device.seekUnmapped(yield* device.seekMapped(0))
  yield* Console.log(`first mapped extent: sectors [${yield* device.seekMapped(0)}, ${extentEnd})`)

  yield* device.resize(64)
  const shrunk = (yield* device.info).sizeSectors
  yield* device.resize(info.sizeSectors)
  yield* device.read(100, readBack)
  const afterRegrow = text(readBack)
  yield* Console.log(
    `resized to ${shrunk} sectors and back to ${info.sizeSectors}: sector 100 reads "${afterRegrow}" (zeros), allocated ${
      (yield* ramdisk.stats).allocatedBytes
    } bytes`
  )

  const error = yield* Effect.flip(device.read(info.sizeSectors, sector))
  yield* Console.log(`reading past the end fails as it should: ${formatError(error)}`)

  return { afterOverwrite, afterRestore, afterRegrow, shrunk, error: error._tag }
})

/** The layers the program runs with: a ramdisk called "quickstart" of 2048 sectors, in a fresh registry. */
export const QuickstartLive = RamdiskLive({ name: "quickstart", sizeSectors: 2048 }).pipe(Layer.provide(RegistryLive))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Effect.runPromise(Effect.provide(program, QuickstartLive)).catch((error: unknown) => {
    process.exitCode = 1
    process.stderr.write(`quickstart failed: ${String(error)}\n`)
  })
}
