/**
 * The rules of a device destroyed (or, under a wrapper, disconnected)
 * beneath its handle (docs/semantics.md: `Disconnected` means "this handle
 * was disconnected, or its device destroyed"; "Wrappers, interruption and
 * vectored requests"): every operation then fails `Disconnected`, never
 * `InvalidRequest` computed from a size that is gone, never an `IOError`.
 * They need the `destroy` control.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { expectEveryOperationDisconnected, pattern } from "../internal/ConformanceKit.js"
import { type ConformanceRule, control, rule, withDevice } from "./Rule.js"

/** Every rule of a destroyed device, for a device that `destroy` destroys. */
export const destroyRules = <R>(destroy: Effect.Effect<void, unknown, R>): ReadonlyArray<ConformanceRule<R>> => [
  rule(
    "destroy",
    "after the device beneath is destroyed, every operation but info and disconnect fails Disconnected, touching no buffer",
    withDevice((device, info) =>
      Effect.gen(function*() {
        yield* device.write(0, pattern(75, 0, 2, info.sectorSize))
        yield* control("destroy", destroy)
        yield* expectEveryOperationDisconnected("destroy", device, info)
      })
    )
  ),
  rule(
    "destroy",
    "after the device beneath is destroyed, info never fails and disconnect succeeds, twice",
    withDevice((device) =>
      Effect.gen(function*() {
        yield* control("destroy", destroy)
        yield* device.info
        yield* device.disconnect
        yield* device.disconnect
        yield* device.info
      })
    )
  )
]
