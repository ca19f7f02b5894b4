/**
 * The rules of `discard` (docs/semantics.md, "Operations of BlockDevice"):
 * discarded sectors read as zeros and their neighbours keep their data; a
 * device that cannot discard fails `Unimplemented`; malformed requests fail
 * `InvalidRequest` changing nothing.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import {
  badSectorValues,
  expectFailure,
  expectSectors,
  expectZeroSectors,
  headSectors,
  pastTheEnd,
  pattern,
  prefill,
  unchecked
} from "../internal/ConformanceKit.js"
import { callsWith, changesNothing, type ConformanceRule, rejectsWithoutChange, rule, withDevice } from "./Rule.js"

/** Every rule of `discard`, for a device that can (`supported`) or cannot discard. */
export const discardRules = (supported: boolean): ReadonlyArray<ConformanceRule> =>
  supported ?
    [
      rule(
        "discard",
        "discarded sectors read as zeros, and the sectors around them keep their data",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize } = info
            yield* prefill(device, info)
            // Unaligned ranges: a device that frees whole pages must still keep the neighbours.
            const ranges: ReadonlyArray<readonly [number, number]> = [[3, 2], [9, 21], [31, 1], [40, 24]]
            for (const [start, sectors] of ranges) yield* device.discard(start, sectors)
            const expected = pattern(1, 0, headSectors, sectorSize)
            for (const [start, sectors] of ranges) expected.fill(0, start * sectorSize, (start + sectors) * sectorSize)
            yield* expectSectors("the first sectors after the discards", device, sectorSize, 0, expected)
          })
        )
      ),
      rule(
        "discard",
        "discarding the last sectors and never-written sectors works",
        withDevice((device, info) =>
          Effect.gen(function*() {
            yield* prefill(device, info)
            yield* device.discard(info.sizeSectors - 1, 1)
            // Never-written sectors between the head and the tail, if the device is large enough to have some.
            if (info.sizeSectors - 2 > headSectors) yield* device.discard(headSectors, info.sizeSectors - 2 - headSectors)
            yield* expectZeroSectors("the last sector", device, info.sectorSize, info.sizeSectors - 1, 1)
            yield* expectSectors(
              "the sector before it",
              device,
              info.sectorSize,
              info.sizeSectors - 2,
              pattern(1, info.sizeSectors - 2, 1, info.sectorSize)
            )
          })
        )
      ),
      rule(
        "discard",
        "a zero-length discard changes nothing",
        changesNothing(() => "after zero-length discards", (device, { sizeSectors }) =>
          Effect.forEach([0, 5, sizeSectors], (at) => device.discard(at, 0), { discard: true }))
      ),
      rule(
        "discard",
        "rejects a sectorStart or sectors that is not a sector number with InvalidRequest naming it, and changes nothing",
        withDevice((device, info) =>
          rejectsWithoutChange(device, info, [
            ...callsWith(badSectorValues, (bad) => `discard(${bad}, 1)`, (bad) => device.discard(unchecked(bad), 1)),
            ...callsWith(badSectorValues, (bad) => `discard(0, ${bad})`, (bad) => device.discard(0, unchecked(bad)))
          ])
        )
      ),
      rule(
        "discard",
        "rejects ranges past the end with InvalidRequest naming the start and the size, and changes nothing",
        withDevice((device, info) =>
          rejectsWithoutChange(
            device,
            info,
            pastTheEnd(info.sizeSectors).map(([start, sectors]) => ({
              what: `discard(${start}, ${sectors}) on ${info.sizeSectors} sectors`,
              call: device.discard(start, sectors),
              mentions: [String(start), String(info.sizeSectors)]
            }))
          )
        )
      )
    ] :
    [
      rule(
        "discard",
        "an unsupported discard fails Unimplemented and changes nothing",
        changesNothing(
          () => "after the unsupported discard",
          (device) => expectFailure("discard(0, 8)", "Unimplemented", device.discard(0, 8))
        )
      )
    ]
