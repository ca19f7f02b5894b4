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
import {
  check,
  type DeviceError,
  expectFailure,
  guardByte,
  isFilledWith,
  pattern,
  untouchedBuffer
} from "../internal/ConformanceKit.js"
import { type ConformanceRule, control, rule, withDevice } from "./Rule.js"

/** Every rule of a destroyed device, for a device that `destroy` destroys. */
export const destroyRules = <R>(destroy: Effect.Effect<void, unknown, R>): ReadonlyArray<ConformanceRule<R>> => [
  rule(
    "destroy",
    "after the device beneath is destroyed, every operation but info and disconnect fails Disconnected, touching no buffer",
    withDevice((device, { sectorSize, sizeSectors }) =>
      Effect.gen(function*() {
        yield* device.write(0, pattern(75, 0, 2, sectorSize))
        yield* control("destroy", destroy)
        const first = untouchedBuffer(sectorSize)
        const last = untouchedBuffer(sectorSize)
        // Requests that were valid before: only the loss of the device may fail them.
        const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, DeviceError>]> = [
          ["read(0, 1 sector)", device.read(0, first)],
          [`read(${sizeSectors - 1}, 1 sector), the last sector`, device.read(sizeSectors - 1, last)],
          ["write(0, 1 sector)", device.write(0, pattern(76, 0, 1, sectorSize))],
          [`write(${sizeSectors - 1}, 1 sector)`, device.write(sizeSectors - 1, pattern(76, sizeSectors - 1, 1, sectorSize))],
          ["flush", device.flush],
          ["discard(0, 1)", device.discard(0, 1)],
          ["resize(32)", device.resize(32)],
          ["seekMapped(0)", device.seekMapped(0)],
          [`seekUnmapped(${sizeSectors})`, device.seekUnmapped(sizeSectors)]
        ]
        for (const [what, call] of calls) yield* expectFailure(`${what} after destroy`, "Disconnected", call)
        yield* check(
          isFilledWith(first, guardByte) && isFilledWith(last, guardByte),
          () => "a read after destroy wrote into the buffer"
        )
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
