/**
 * The rules of a read-only handle (docs/semantics.md: `IsReadOnly` is "a
 * write-type operation on a read-only handle", nothing written; `info`
 * reports `readWrite` false): writes, discards and resizes fail
 * `IsReadOnly` and change nothing, while reads, seeks and flush work and
 * see what writable handles wrote. They need the `connectReadOnly` control.
 *
 * @since 0.2.0
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { check, expectFailure, expectSectors, expectUnchanged, pattern, prefill } from "../internal/ConformanceKit.js"
import { type ConformanceRule, control, rule, withDevice } from "./Rule.js"

/** Every rule of a read-only handle, for a device whose read-only handles `connectReadOnly` opens. */
export const readOnlyRules = <R>(
  connectReadOnly: Effect.Effect<BlockDeviceShape, unknown, R | Scope.Scope>,
  supports: { readonly discard: boolean; readonly resize: boolean }
): ReadonlyArray<ConformanceRule<R>> => {
  const readOnly = control("connectReadOnly", connectReadOnly)
  return [
    rule(
      "read-only handle",
      "info says readWrite false, with the device's geometry",
      withDevice((_, info) =>
        Effect.gen(function*() {
          const seen = yield* (yield* readOnly).info
          yield* check(!seen.readWrite, () => "a read-only handle's info says readWrite true")
          yield* check(
            seen.sectorSize === info.sectorSize && seen.sizeSectors === info.sizeSectors,
            () =>
              `a read-only handle says ${seen.sizeSectors} sectors of ${seen.sectorSize} bytes, the device ${info.sizeSectors} of ${info.sectorSize}`
          )
        })
      )
    ),
    rule(
      "read-only handle",
      `write${supports.discard ? ", discard" : ""}${supports.resize ? " and resize" : ""} fail IsReadOnly and change nothing`,
      withDevice((device, info) =>
        Effect.gen(function*() {
          const { sectorSize, sizeSectors } = info
          const before = yield* prefill(device, info)
          const handle = yield* readOnly
          yield* expectFailure("write(0, 2 sectors) on a read-only handle", "IsReadOnly", handle.write(0, pattern(77, 0, 2, sectorSize)))
          yield* expectFailure(
            "write of the last sector on a read-only handle",
            "IsReadOnly",
            handle.write(sizeSectors - 1, pattern(77, sizeSectors - 1, 1, sectorSize))
          )
          if (supports.discard) yield* expectFailure("discard(0, 8) on a read-only handle", "IsReadOnly", handle.discard(0, 8))
          if (supports.resize) {
            yield* expectFailure("resize(32) on a read-only handle", "IsReadOnly", handle.resize(32))
            yield* expectFailure(`resize(${sizeSectors + 8}) on a read-only handle`, "IsReadOnly", handle.resize(sizeSectors + 8))
          }
          yield* expectUnchanged("after the read-only handle's rejected calls", device, sectorSize, before)
          yield* expectUnchanged("read through the read-only handle", handle, sectorSize, before)
        })
      )
    ),
    rule(
      "read-only handle",
      "reads and seeks see what a writable handle wrote, and flush succeeds",
      withDevice((device, { sectorSize, sizeSectors }) =>
        Effect.gen(function*() {
          const handle = yield* readOnly
          yield* device.write(12, pattern(78, 12, 3, sectorSize))
          yield* expectSectors("read through the read-only handle", handle, sectorSize, 12, pattern(78, 12, 3, sectorSize))
          const mapped = yield* handle.seekMapped(0)
          yield* check(mapped <= 12, () => `seekMapped(0) on the read-only handle returned ${mapped}, past the data at sector 12`)
          const unmapped = yield* handle.seekUnmapped(12)
          yield* check(
            unmapped >= 12 && unmapped <= sizeSectors && (unmapped === sizeSectors || unmapped >= 15),
            () => `seekUnmapped(12) on the read-only handle returned ${unmapped}, but sectors 12 to 14 hold data`
          )
          yield* handle.flush
        })
      )
    )
  ]
}
