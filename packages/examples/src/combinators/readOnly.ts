/**
 * `readOnly` and `ReadOnlyLive`: hand code a device it cannot change.
 */
import { BlockDevice, formatError, ReadOnlyLive } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { runMain } from "./run.js"

/** Application code: it only asks for a `BlockDevice`, and tries to write to it. */
const tryToWrite = Effect.gen(function*() {
  const device = yield* BlockDevice
  const error = yield* Effect.flip(device.write(0, new Uint8Array(512)))
  yield* Console.log(`writing through the read-only layer: ${formatError(error)}`)
  return error._tag
})

/** The same disk layer, made read-only by stacking `ReadOnlyLive` on it. */
const ReadOnlyDisk = ReadOnlyLive.pipe(
  Layer.provide(RamdiskLive({ name: "evidence", sizeSectors: 64 })),
  Layer.provide(RegistryLive)
)

/** Returns the tag of the error the write failed with. */
export const program = Effect.provide(tryToWrite, ReadOnlyDisk)

runMain(import.meta.url, program)
