/**
 * The rules of concurrency (docs/semantics.md: "each operation is applied in
 * one step: a fiber never observes half of another fiber's write"): nothing
 * lost, nothing torn, whatever the interleaving.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { check, expectSectors, fail, headSectors, isFilledWith, pattern, readSectors } from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"

/** A sector's worth of one writer's byte: whole sectors make a torn write easy to see. */
const filled = (writer: number, sectors: number, sectorSize: number) =>
  new Uint8Array(sectors * sectorSize).fill(writer + 1)

/** Which writer each sector holds (0 for zeros), or a message if a sector is torn or foreign. */
const writersOf = (bytes: Uint8Array, sectorSize: number, sectorStart: number): ReadonlyArray<number> | string => {
  const writers: Array<number> = []
  for (let s = 0; s * sectorSize < bytes.length; s++) {
    const sector = bytes.subarray(s * sectorSize, (s + 1) * sectorSize)
    const first = sector[0] ?? 0
    if (!isFilledWith(sector, first)) return `sector ${sectorStart + s} holds a mix of writers' data`
    writers.push(first)
  }
  return writers
}

const concurrentWriters = 16

/** Every rule of concurrency. */
export const concurrencyRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "concurrency",
    "concurrent writes to disjoint ranges all land: nothing is lost",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const width = headSectors / concurrentWriters
        yield* Effect.forEach(
          Array.from({ length: concurrentWriters }, (_, w) => w),
          (w) => device.write(w * width, pattern(40 + w, w * width, width, sectorSize)),
          { concurrency: "unbounded", discard: true }
        )
        for (let w = 0; w < concurrentWriters; w++) {
          yield* expectSectors(`writer ${w}'s range`, device, sectorSize, w * width, pattern(40 + w, w * width, width, sectorSize))
        }
      })
    )
  ),
  rule(
    "concurrency",
    "concurrent writes to one range leave exactly one writer's data in it",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        yield* Effect.forEach(
          Array.from({ length: concurrentWriters }, (_, w) => w),
          (w) => device.write(0, [filled(w, 3, sectorSize), filled(w, 5, sectorSize)]),
          { concurrency: "unbounded", discard: true }
        )
        const writers = writersOf(yield* readSectors(device, sectorSize, 0, 8), sectorSize, 0)
        if (typeof writers === "string") return yield* fail(writers)
        yield* check(
          writers.every((w) => w !== 0 && w === writers[0]),
          () => `after concurrent writes of sectors [0, 8), the sectors hold writers ${writers.map((w) => w - 1).join(", ")}`
        )
      })
    )
  ),
  rule(
    "concurrency",
    "partially overlapping concurrent writes leave the overlap to one writer and the rest to each",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const pairs = 4
        yield* Effect.forEach(
          Array.from({ length: pairs * 2 }, (_, i) => i),
          (i) => {
            const base = Math.floor(i / 2) * 12
            return i % 2 === 0 ?
              device.write(base, filled(i, 8, sectorSize)) :
              device.write(base + 4, [filled(i, 2, sectorSize), filled(i, 6, sectorSize)])
          },
          { concurrency: "unbounded", discard: true }
        )
        for (let p = 0; p < pairs; p++) {
          const base = p * 12
          const writers = writersOf(yield* readSectors(device, sectorSize, base, 12), sectorSize, base)
          if (typeof writers === "string") return yield* fail(writers)
          const a = 2 * p + 1
          const b = 2 * p + 2
          const overlap = writers.slice(4, 8)
          const ok = writers.slice(0, 4).every((w) => w === a) && writers.slice(8).every((w) => w === b) &&
            (overlap.every((w) => w === a) || overlap.every((w) => w === b))
          yield* check(ok, () =>
            `writes of [${base}, ${base + 8}) by writer ${a - 1} and [${base + 4}, ${base + 12}) by writer ${
              b - 1
            } left sectors holding writers ${writers.map((w) => w - 1).join(", ")}`)
        }
      })
    )
  ),
  rule(
    "concurrency",
    "a reader never observes half of another fiber's write",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const sectors = 8
        const rounds = 8
        const writer = (w: number) =>
          Effect.forEach(
            Array.from({ length: rounds }, (_, r) => r),
            () => Effect.andThen(device.write(16, filled(w, sectors, sectorSize)), Effect.yieldNow),
            { discard: true }
          )
        const reader = Effect.forEach(
          Array.from({ length: rounds * 4 }, (_, r) => r),
          () =>
            Effect.gen(function*() {
              const writers = writersOf(yield* readSectors(device, sectorSize, 16, sectors), sectorSize, 16)
              if (typeof writers === "string") return yield* fail(`a concurrent read saw torn data: ${writers}`)
              yield* check(
                writers.every((w) => w === writers[0]),
                () =>
                  `a read concurrent with writes of sectors [16, 24) saw writers ${writers.map((w) => w - 1).join(", ")}`
              )
              yield* Effect.yieldNow
            }),
          { discard: true }
        )
        yield* Effect.all(
          [...Array.from({ length: 4 }, (_, w) => writer(w)), reader, reader],
          { concurrency: "unbounded", discard: true }
        )
      })
    )
  )
]
