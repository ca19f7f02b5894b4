/**
 * Every combinator and wrapper example runs and does what it prints.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Compare from "../src/combinators/compare.js"
import * as Copy from "../src/combinators/copy.js"
import * as Extents from "../src/combinators/extents.js"
import * as Fill from "../src/combinators/fill.js"
import * as Fold from "../src/combinators/fold.js"
import * as Overlay from "../src/combinators/overlay.js"
import * as ReadOnly from "../src/combinators/readOnly.js"
import * as Slice from "../src/combinators/slice.js"
import * as SparseCopy from "../src/combinators/sparseCopy.js"
import * as Streams from "../src/combinators/streams.js"

describe("combinator examples", () => {
  it.effect("copy: the backup compares equal", () =>
    Effect.gen(function*() {
      expect(yield* Copy.program).toBe(0)
    }))

  it.effect("sparseCopy: the destination is mapped only where the source has data", () =>
    Effect.gen(function*() {
      const map = yield* SparseCopy.program
      expect(map.filter((run) => run.mapped).map((run) => [run.start, run.sectors])).toEqual([[2048, 64], [900_000, 8]])
    }))

  it.effect("compare: 0 for equal disks, -1 when b's first differing byte is larger", () =>
    Effect.gen(function*() {
      expect(yield* Compare.program).toEqual({ equal: 0, smaller: -1 })
    }))

  it.effect("fold: the three folds agree on the data and the holes", () =>
    Effect.gen(function*() {
      expect(yield* Fold.program).toEqual({ everywhere: 4096, inData: 4096, holes: [16, 1000] })
    }))

  it.effect("extents: two data runs between holes", () =>
    Effect.gen(function*() {
      expect((yield* Extents.program).map((run) => run.mapped)).toEqual([false, true, false, true, false])
    }))

  it.effect("fill: the pattern repeats and a seed reproduces its bytes", () =>
    Effect.gen(function*() {
      expect(yield* Fill.program).toEqual({ pattern: "effect-block effect-block ", sameSeedSameBytes: true })
    }))

  it.effect("readOnly: the write fails IsReadOnly", () =>
    Effect.gen(function*() {
      expect(yield* ReadOnly.program).toBe("IsReadOnly")
    }))

  it.effect("slice: partitions land in their windows and cannot escape them", () =>
    Effect.gen(function*() {
      expect(yield* Slice.program).toEqual({ atSector64: "data", error: "InvalidRequest" })
    }))

  it.effect("overlay: writes and discards show through the overlay, the golden image is unchanged", () =>
    Effect.gen(function*() {
      expect(yield* Overlay.program).toEqual({
        written: "AAAA",
        untouched: "golden",
        discardedIsZero: true,
        goldenUnchanged: true
      })
    }))

  it.effect("streams: a streamed copy is equal, a transformed one differs", () =>
    Effect.gen(function*() {
      expect(yield* Streams.program).toEqual({ sectors: 4096, equal: true, differs: true })
    }))
})
