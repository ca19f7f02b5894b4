/**
 * The rules of `resize` (docs/semantics.md, "Operations of BlockDevice"):
 * the new size holds for reads, writes and info; shrinking drops data and
 * growing exposes zeros; a device that cannot resize fails `Unimplemented`;
 * malformed sizes fail `InvalidRequest` changing nothing.
 *
 * @since 0.2.0
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Effect from "effect/Effect"
import {
  type BadValue,
  badSectorValues,
  check,
  expectFailure,
  expectSectors,
  expectZeroSectors,
  headSectors,
  pattern,
  prefill,
  unchecked
} from "../internal/ConformanceKit.js"
import { callsWith, changesNothing, type ConformanceRule, rejectsWithoutChange, rule, withDevice } from "./Rule.js"

const expectSize = (device: BlockDeviceShape, expected: number, when: string) =>
  Effect.flatMap(device.info, ({ sizeSectors }) =>
    check(sizeSectors === expected, () => `${when}, info says ${sizeSectors} sectors, expected ${expected}`))

const badSizes = (sectorSize: number): ReadonlyArray<BadValue> => [
  ...badSectorValues,
  {
    value: Math.floor(Number.MAX_SAFE_INTEGER / sectorSize) + 1,
    label: "one sector more than Number.MAX_SAFE_INTEGER bytes",
    mention: String(Math.floor(Number.MAX_SAFE_INTEGER / sectorSize) + 1)
  }
]

/** Every rule of `resize`, for a device that can (`supported`) or cannot resize. */
export const resizeRules = (supported: boolean): ReadonlyArray<ConformanceRule> =>
  supported ?
    [
      rule(
        "resize",
        "shrinking sets the new size for reads, writes and info, and drops the data past the new end",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize } = info
            yield* prefill(device, info)
            yield* device.resize(32)
            yield* expectSize(device, 32, "after resize(32)")
            yield* expectSectors("the sectors kept", device, sectorSize, 0, pattern(1, 0, 32, sectorSize))
            yield* expectFailure("read(32, 1 sector) after resize(32)", "InvalidRequest", device.read(32, new Uint8Array(sectorSize)))
            yield* expectFailure(
              "write(31, 2 sectors) after resize(32)",
              "InvalidRequest",
              device.write(31, new Uint8Array(2 * sectorSize))
            )
            yield* check(
              (yield* device.seekMapped(32)) === 32,
              () => "seekMapped(32) after resize(32) did not return the new size"
            )
          })
        )
      ),
      rule(
        "resize",
        "growing sets the new size and exposes zeros, keeping the data before the old end",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize, sizeSectors } = info
            const before = yield* prefill(device, info)
            yield* device.resize(sizeSectors + 8)
            yield* expectSize(device, sizeSectors + 8, `after resize(${sizeSectors + 8})`)
            yield* expectZeroSectors("the sectors added", device, sectorSize, sizeSectors, 8)
            yield* expectSectors("the old last sectors", device, sectorSize, sizeSectors - 2, before.tail)
            yield* expectSectors("the first sectors", device, sectorSize, 0, before.head)
            const data = pattern(19, sizeSectors + 7, 1, sectorSize)
            yield* device.write(sizeSectors + 7, data)
            yield* expectSectors("the new last sector", device, sectorSize, sizeSectors + 7, data)
          })
        )
      ),
      rule(
        "resize",
        "shrinking then growing reads zeros where the dropped data was",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize, sizeSectors } = info
            yield* prefill(device, info)
            yield* device.resize(10)
            yield* device.resize(sizeSectors)
            yield* expectSize(device, sizeSectors, `after resize(10) then resize(${sizeSectors})`)
            yield* expectSectors("the sectors kept", device, sectorSize, 0, pattern(1, 0, 10, sectorSize))
            yield* expectZeroSectors("the sectors dropped and regrown", device, sectorSize, 10, headSectors - 10)
            yield* expectZeroSectors("the old last sectors", device, sectorSize, sizeSectors - 2, 2)
          })
        )
      ),
      rule(
        "resize",
        "resizing to 0 leaves an empty device, and growing it back exposes zeros",
        withDevice((device, info) =>
          Effect.gen(function*() {
            yield* prefill(device, info)
            yield* device.resize(0)
            yield* expectSize(device, 0, "after resize(0)")
            yield* device.read(0, new Uint8Array(0))
            yield* expectFailure("read(0, 1 sector) after resize(0)", "InvalidRequest", device.read(0, new Uint8Array(info.sectorSize)))
            yield* device.resize(headSectors)
            yield* expectZeroSectors("the regrown device", device, info.sectorSize, 0, headSectors)
          })
        )
      ),
      rule(
        "resize",
        "resizing to the current size changes nothing",
        changesNothing(({ sizeSectors }) => `after resize(${sizeSectors})`, (device, { sizeSectors }) =>
          device.resize(sizeSectors))
      ),
      rule(
        "resize",
        "rejects sizes that are not sector numbers or too many bytes with InvalidRequest naming them, and changes nothing",
        withDevice((device, info) =>
          rejectsWithoutChange(
            device,
            info,
            callsWith(badSizes(info.sectorSize), (bad) => `resize(${bad})`, (bad) => device.resize(unchecked(bad)))
          )
        )
      )
    ] :
    [
      rule(
        "resize",
        "an unsupported resize fails Unimplemented and changes nothing",
        changesNothing(() => "after the unsupported resizes", (device, { sizeSectors }) =>
          Effect.forEach(
            [32, sizeSectors + 8],
            (size) => expectFailure(`resize(${size})`, "Unimplemented", device.resize(size)),
            { discard: true }
          ))
      )
    ]
