/**
 * The disks the combinator examples work on: ramdisks in a registry of their
 * own, so every run starts from zeroed devices.
 */
import type { BlockDeviceShape } from "@effect-block/block"
import { makeRegistry } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"

/** Fresh ramdisks named `names`, each `sizeSectors` sectors of 512 bytes. */
export const disks = (names: ReadonlyArray<string>, sizeSectors: number) =>
  Effect.gen(function*() {
    const registry = yield* makeRegistry
    const devices: Array<BlockDeviceShape> = []
    for (const name of names) devices.push(yield* registry.connect({ name, sizeSectors }))
    return devices
  })

/** The first bytes of a sector as text, for printing. */
export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0+$/, "")
