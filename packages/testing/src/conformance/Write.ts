/**
 * The rules of `write` (docs/semantics.md, "Operations of BlockDevice"):
 * written data reads back, only the written sectors change, the data is
 * copied in and out, and every malformed request fails `InvalidRequest`
 * changing nothing.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { expectSectors, expectZeroSectors, headSectors, pattern } from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"
import {
  movesData,
  movesNothing,
  movesThroughViews,
  rejectsBadSectorStart,
  rejectsNonBuffers,
  rejectsPartialSectors,
  rejectsPastTheEnd,
  write
} from "./Transfer.js"

/** Every rule of `write`. */
export const writeRules: ReadonlyArray<ConformanceRule> = [
  rule("write", "written data reads back", movesData(write, "the written sectors", 6, () => 3, 4)),
  rule(
    "write",
    "leaves the sectors around the written range unchanged",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(7, 10, 3, sectorSize)
        yield* device.write(10, data)
        yield* expectZeroSectors("the sectors before", device, sectorSize, 0, 10)
        yield* expectZeroSectors("the sectors after", device, sectorSize, 13, headSectors - 13)
      })
    )
  ),
  rule(
    "write",
    "changes only the sectors it covers: with data all around, writes of 1, 2, 3 and 5 sectors at every offset keep every other sector's data",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        // A device (or a wrapper, like an overlay) that tracks data in pages larger than a sector must not
        // lose, zero or resurrect the rest of a page that a write covers only in part.
        const expected = pattern(1, 0, headSectors, sectorSize)
        yield* device.write(0, expected.slice())
        let tag = 80
        for (const [band, sectors] of [1, 2, 3, 5].entries()) {
          // Each size in a band of 16 sectors of its own, at every offset a page of up to 8 sectors has.
          for (let offset = 1; offset <= 9; offset++) {
            const at = 16 * band + offset
            const data = pattern(tag++, at, sectors, sectorSize)
            yield* device.write(at, data)
            expected.set(data, at * sectorSize)
            yield* expectSectors(`after write(${at}, ${sectors} sectors), the first sectors`, device, sectorSize, 0, expected)
          }
        }
      })
    )
  ),
  rule(
    "write",
    "writes several buffers, in order, to consecutive sectors",
    movesData(write, "the written sectors", 8, () => 20, [1, 0, 2, 3])
  ),
  rule("write", "writes from views with a non-zero byteOffset, and only the bytes inside them", movesThroughViews(write)),
  rule(
    "write",
    "copies the data in: changing the caller's buffer afterwards changes nothing stored",
    withDevice((device, { sectorSize, sizeSectors }) =>
      Effect.gen(function*() {
        const data = pattern(10, 4, 2, sectorSize)
        const buffer = data.slice()
        const views = [buffer.subarray(0, sectorSize), buffer.subarray(sectorSize)]
        yield* device.write(4, buffer)
        yield* device.write(40, views)
        buffer.fill(0x3c)
        yield* expectSectors("the sectors written from one buffer", device, sectorSize, 4, data)
        yield* expectSectors("the sectors written from views", device, sectorSize, 40, pattern(10, 4, 2, sectorSize))
        // A Node Buffer's `slice` is a view, not a copy: a device that copies with it keeps the caller's memory.
        // One large write (the whole device, up to 4 MiB) reaches any whole-extent fast path a device may have.
        const large = Math.min(sizeSectors, Math.max(1, Math.floor(4 * 1024 * 1024 / sectorSize)))
        const whole = pattern(15, 0, large, sectorSize)
        const nodeBuffer = Buffer.from(whole)
        yield* device.write(0, nodeBuffer)
        nodeBuffer.fill(0x3c)
        yield* expectSectors("the sectors written from a Node Buffer", device, sectorSize, 0, whole)
      })
    )
  ),
  rule(
    "write",
    "reads copy the data out: changing the filled buffer changes nothing stored",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(11, 6, 2, sectorSize)
        yield* device.write(6, data)
        const buffer = new Uint8Array(2 * sectorSize)
        yield* device.read(6, buffer)
        buffer.fill(0x3c)
        yield* expectSectors("the sectors read earlier", device, sectorSize, 6, data)
        const never = new Uint8Array(sectorSize)
        yield* device.read(50, never)
        never.fill(0x3c)
        yield* expectZeroSectors("a never-written sector read earlier", device, sectorSize, 50, 1)
      })
    )
  ),
  rule(
    "write",
    "writes the last sector of the device",
    movesData(write, "the last sectors", 12, (info) => info.sizeSectors - 2, 2)
  ),
  rule("write", "a zero-length write succeeds anywhere from 0 to the size and changes nothing", movesNothing(write)),
  rule("write", "treats -0 as sector 0 (a safe integer ≥ 0)", movesData(write, "sector 0", 13, () => -0, 1)),
  rule(
    "write",
    "rejects a sectorStart that is not a sector number with InvalidRequest naming it, and changes nothing",
    rejectsBadSectorStart(write)
  ),
  rule(
    "write",
    "rejects buffers that are not whole sectors with InvalidRequest naming the length, and changes nothing",
    rejectsPartialSectors(write)
  ),
  rule(
    "write",
    "rejects buffers that are not Uint8Arrays with InvalidRequest, and changes nothing",
    rejectsNonBuffers(write)
  ),
  rule(
    "write",
    "rejects ranges past the end with InvalidRequest naming the start and the size, and changes nothing",
    rejectsPastTheEnd(write)
  )
]
