/**
 * The rule of a wrapper and the device it wraps (docs/semantics.md,
 * "Wrappers, interruption and vectored requests"): disconnecting the wrapper
 * disconnects the wrapper only; the device beneath stays connected for its
 * owner. It needs the `beneath` control.
 *
 * @since 0.2.0
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Effect from "effect/Effect"
import { expectFailure, expectSectors, pattern } from "../internal/ConformanceKit.js"
import { type ConformanceRule, control, rule, withDevice } from "./Rule.js"

/** Every rule of a wrapper over the device that `beneath` gives. */
export const beneathRules = <R>(beneath: Effect.Effect<BlockDeviceShape, unknown, R>): ReadonlyArray<ConformanceRule<R>> => [
  rule(
    "wrapper",
    "disconnecting the wrapper leaves the device beneath connected",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const base = yield* control("beneath", beneath)
        yield* device.write(2, pattern(79, 2, 1, sectorSize))
        yield* device.disconnect
        yield* expectFailure("read through the disconnected wrapper", "Disconnected", device.read(2, new Uint8Array(sectorSize)))
        // The wrapper may map its sectors anywhere on the device beneath (a slice), so the device beneath
        // is checked on its own: it still writes, reads back and seeks.
        const { sectorSize: baseSectorSize } = yield* base.info
        yield* base.write(0, pattern(79, 0, 2, baseSectorSize))
        yield* expectSectors("read through the device beneath", base, baseSectorSize, 0, pattern(79, 0, 2, baseSectorSize))
        yield* base.seekMapped(0)
      })
    )
  )
]
