/**
 * The rules of several handles of one device (docs/semantics.md, the
 * `write` and `resize` rows and "Two handles share one device"): what one
 * handle writes or resizes, every other handle sees; what one handle only
 * reads or computes never changes what another sees; and disconnecting one
 * leaves the others working. They need the `connect` control.
 *
 * @since 0.2.0
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { check, expectFailure, expectSectors, headSectors, pattern, readSectors } from "../internal/ConformanceKit.js"
import { type ConformanceRule, control, rule, withDevice } from "./Rule.js"

/** Every rule of several handles, for a device whose other handles `connect` opens. */
export const handleRules = <R>(
  connect: Effect.Effect<BlockDeviceShape, unknown, R | Scope.Scope>
): ReadonlyArray<ConformanceRule<R>> => {
  const other = control("connect", connect)
  return [
    rule(
      "handles",
      "a write through one handle is read through another, both ways",
      withDevice((device, { sectorSize }) =>
        Effect.gen(function*() {
          const second = yield* other
          yield* device.write(3, pattern(70, 3, 2, sectorSize))
          yield* expectSectors("through the other handle", second, sectorSize, 3, pattern(70, 3, 2, sectorSize))
          yield* second.write(9, pattern(71, 9, 3, sectorSize))
          yield* expectSectors("through the handle under test", device, sectorSize, 9, pattern(71, 9, 3, sectorSize))
        })
      )
    ),
    rule(
      "handles",
      "a resize through one handle is seen by every handle, and stays the device's size",
      withDevice((device, info) =>
        Effect.gen(function*() {
          const { sectorSize, sizeSectors } = info
          const second = yield* other
          yield* device.write(0, pattern(72, 0, headSectors, sectorSize))
          yield* device.resize(32)
          const seen = yield* second.info
          yield* check(seen.sizeSectors === 32, () => `after resize(32) the other handle's info says ${seen.sizeSectors} sectors`)
          yield* expectFailure("read(32, 1 sector) through the other handle after resize(32)", "InvalidRequest", second.read(32, new Uint8Array(sectorSize)))
          yield* second.resize(sizeSectors + 4)
          const grown = yield* device.info
          yield* check(
            grown.sizeSectors === sizeSectors + 4,
            () => `after the other handle's resize(${sizeSectors + 4}) this handle's info says ${grown.sizeSectors} sectors`
          )
          yield* expectSectors("the sectors kept by the shrink", device, sectorSize, 0, pattern(72, 0, 32, sectorSize))
          yield* expectSectors("the sectors dropped by the shrink", device, sectorSize, 32, new Uint8Array((headSectors - 32) * sectorSize))
          // The size belongs to the device, not to the handles that saw the resize.
          yield* device.flush
          const third = yield* other
          const later = yield* third.info
          yield* check(
            later.sizeSectors === sizeSectors + 4,
            () => `a handle opened after the resizes says ${later.sizeSectors} sectors, expected ${sizeSectors + 4}`
          )
        })
      )
    ),
    rule(
      "handles",
      "reads, seeks, info and flushes through one handle never change what another handle wrote",
      withDevice((device, info) =>
        Effect.gen(function*() {
          const { sectorSize } = info
          const second = yield* other
          const writes = 24
          const writer = Effect.forEach(
            Array.from({ length: writes }, (_, i) => i),
            (i) => Effect.andThen(second.write(i, pattern(73, i, 1, sectorSize)), Effect.yieldNow),
            { discard: true }
          )
          const observer = Effect.forEach(
            Array.from({ length: 2 * writes }, (_, i) => i),
            () =>
              Effect.all([
                readSectors(device, sectorSize, 0, headSectors),
                device.seekMapped(0),
                device.seekUnmapped(0),
                device.info,
                device.flush,
                Effect.yieldNow
              ], { discard: true }),
            { discard: true }
          )
          yield* Effect.all([writer, observer], { concurrency: "unbounded", discard: true })
          const expected = pattern(73, 0, writes, sectorSize)
          yield* expectSectors("the other handle's writes, read through it", second, sectorSize, 0, expected)
          yield* expectSectors("the other handle's writes, read through this one", device, sectorSize, 0, expected)
        })
      )
    ),
    rule(
      "handles",
      "disconnecting one handle leaves the others working",
      withDevice((device, { sectorSize }) =>
        Effect.gen(function*() {
          const second = yield* other
          yield* second.disconnect
          yield* device.write(5, pattern(74, 5, 1, sectorSize))
          yield* expectSectors("after the other handle disconnected", device, sectorSize, 5, pattern(74, 5, 1, sectorSize))
          const third = yield* other
          yield* device.disconnect
          yield* expectSectors("through a handle still connected", third, sectorSize, 5, pattern(74, 5, 1, sectorSize))
          yield* third.write(6, pattern(74, 6, 1, sectorSize))
        })
      )
    )
  ]
}
