/**
 * The rules of `disconnect` (docs/semantics.md, "Operations of
 * BlockDevice"): idempotent, never failing, and afterwards every operation
 * of the handle but `info` and `disconnect` fails `Disconnected`.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { check, expectEveryOperationDisconnected } from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"

/** Every rule of `disconnect`. */
export const disconnectRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "disconnect",
    "is idempotent and never fails",
    withDevice((device) =>
      Effect.gen(function*() {
        yield* device.disconnect
        yield* device.disconnect
        yield* device.disconnect
      })
    )
  ),
  rule(
    "disconnect",
    "afterwards every operation but info and disconnect fails Disconnected, touching no buffer",
    withDevice((device, info) =>
      Effect.gen(function*() {
        yield* device.disconnect
        yield* expectEveryOperationDisconnected("disconnect", device, info)
      })
    )
  ),
  rule(
    "disconnect",
    "info still reports the geometry afterwards",
    withDevice((device, info) =>
      Effect.gen(function*() {
        yield* device.disconnect
        const after = yield* device.info
        yield* check(
          after.sectorSize === info.sectorSize && after.sizeSectors === info.sizeSectors,
          () =>
            `info after disconnect says ${after.sizeSectors} sectors of ${after.sectorSize} bytes, before ${info.sizeSectors} of ${info.sectorSize}`
        )
      })
    )
  )
]
