/**
 * The rules of `read` (docs/semantics.md, "Operations of BlockDevice"):
 * never-written sectors read as zeros, buffers fill in order, views are
 * honoured, and every malformed request fails `InvalidRequest` touching no
 * buffer.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { check, headSectors, isFilledWith, untouchedBuffer } from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"
import {
  movesData,
  movesNothing,
  movesThroughViews,
  read,
  rejectsBadSectorStart,
  rejectsNonBuffers,
  rejectsPartialSectors,
  rejectsPastTheEnd
} from "./Transfer.js"

/** Every rule of `read`. */
export const readRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "read",
    "never-written sectors read as zeros",
    withDevice((device, { sectorSize, sizeSectors }) =>
      Effect.gen(function*() {
        const head = untouchedBuffer(headSectors * sectorSize)
        yield* device.read(0, head)
        yield* check(isFilledWith(head, 0), () => "a never-written sector at the start did not read as zeros")
        const tail = untouchedBuffer(2 * sectorSize)
        yield* device.read(sizeSectors - 2, tail)
        yield* check(isFilledWith(tail, 0), () => "a never-written sector at the end did not read as zeros")
      })
    )
  ),
  rule(
    "read",
    "fills several buffers in order from consecutive sectors",
    movesData(read, "the buffers, joined", 2, () => 5, [1, 2, 0, 3])
  ),
  rule("read", "fills views with a non-zero byteOffset and touches no byte around them", movesThroughViews(read)),
  rule("read", "reads the last sector of the device", movesData(read, "the last sector", 4, (info) => info.sizeSectors - 1, 1)),
  rule("read", "a zero-length read succeeds anywhere from 0 to the size and touches nothing", movesNothing(read)),
  rule("read", "treats -0 as sector 0 (a safe integer ≥ 0)", movesData(read, "read(-0)", 5, () => -0, 1)),
  rule(
    "read",
    "rejects a sectorStart that is not a sector number with InvalidRequest naming it, touching no buffer",
    rejectsBadSectorStart(read)
  ),
  rule(
    "read",
    "rejects buffers that are not whole sectors with InvalidRequest naming the length, touching no buffer",
    rejectsPartialSectors(read)
  ),
  rule("read", "rejects buffers that are not Uint8Arrays with InvalidRequest", rejectsNonBuffers(read)),
  rule(
    "read",
    "rejects ranges past the end with InvalidRequest naming the start and the size, touching no buffer",
    rejectsPastTheEnd(read)
  )
]
