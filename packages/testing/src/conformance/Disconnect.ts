/**
 * The rules of `disconnect` (docs/semantics.md, "Operations of
 * BlockDevice"): idempotent, never failing, and afterwards every operation
 * of the handle but `info` and `disconnect` fails `Disconnected`.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import {
  check,
  type DeviceError,
  expectFailure,
  guardByte,
  isFilledWith,
  pattern,
  untouchedBuffer
} from "../internal/ConformanceKit.js"
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
    "afterwards every operation but info and disconnect fails Disconnected",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        yield* device.disconnect
        const buffer = untouchedBuffer(sectorSize)
        const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, DeviceError>]> = [
          ["read(0, 1 sector)", device.read(0, buffer)],
          ["write(0, 1 sector)", device.write(0, pattern(22, 0, 1, sectorSize))],
          ["flush", device.flush],
          ["discard(0, 1)", device.discard(0, 1)],
          ["resize(32)", device.resize(32)],
          ["seekMapped(0)", device.seekMapped(0)],
          ["seekUnmapped(0)", device.seekUnmapped(0)]
        ]
        for (const [what, call] of calls) yield* expectFailure(`${what} after disconnect`, "Disconnected", call)
        yield* check(isFilledWith(buffer, guardByte), () => "read after disconnect wrote into the buffer")
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
