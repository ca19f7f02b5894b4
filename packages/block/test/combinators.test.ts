/**
 * The combinators' contract, one `describe` per combinator and one `it` per
 * rule. Property tests run over random write histories; a failing property
 * prints a `Replay:` token — pass it back as `{ arbitrary: { replay } }` in the
 * test's options to rerun exactly that case.
 */
import {
  compare,
  copy,
  extents,
  fill,
  fold,
  foldMapped,
  foldUnmapped,
  readOnly,
  sparseCopy
} from "@effect-block/block"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { pipe } from "effect/Function"
import * as Schema from "effect/Schema"
import {
  apply,
  applyModelled,
  counting,
  expectFilled,
  failing,
  History,
  historySectors,
  intBetween,
  plain,
  ramdisk,
  ramdisks,
  readAll
} from "./fixtures/Devices.js"

const Chunking = Schema.Struct({
  chunkSectors: intBetween(1, 70),
  concurrency: intBetween(1, 4)
})

/** Byte-string order of two models, the way `compare` orders devices. */
const modelOrder = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  }
  return Math.sign(a.length - b.length)
}

describe("copy", () => {
  it.effect.prop(
    "makes the destination read exactly as the source, whatever the chunking",
    { source: History, destination: History, chunking: Chunking },
    ({ chunking, destination, source }) =>
      Effect.gen(function*() {
        const [src, dst] = yield* ramdisks(2, { sizeSectors: historySectors })
        const model = yield* applyModelled(src!, source)
        yield* apply(dst!, destination)
        yield* copy(src!, dst!, chunking)
        expect(yield* readAll(dst!)).toEqual(model)
      })
  )

  it.effect("reads data-last: pipe(src, copy(dst))", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 16 })
      yield* fill(src!, { seed: 1 })
      yield* pipe(src!, copy(dst!))
      expect(yield* compare(src!, dst!)).toBe(0)
    }))

  it.effect("fails InvalidRequest, writing nothing, when the sizes differ", () =>
    Effect.gen(function*() {
      const src = yield* ramdisk(16)
      const dst = yield* ramdisk(32)
      yield* fill(src, { pattern: new Uint8Array([1]) })
      const error = yield* Effect.flip(copy(src, dst))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toMatch(/16 sectors but the destination 32/)
      expectFilled(yield* readAll(dst), 0)
    }))

  it.effect("fails InvalidRequest when the sector sizes differ", () =>
    Effect.gen(function*() {
      const src = yield* ramdisk(8, 512)
      const dst = yield* ramdisk(1, 4096)
      const error = yield* Effect.flip(copy(src, dst))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toMatch(/512-byte sectors but the destination 4096-byte/)
    }))

  it.effect("fails IsReadOnly, writing nothing, on a read-only destination", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 8 })
      const error = yield* Effect.flip(copy(src!, readOnly(dst!)))
      expect(error._tag).toBe("IsReadOnly")
      expect(error.message).toMatch(/destination is read-only/)
    }))

  it.effect("fails InvalidRequest for a chunkSectors or concurrency that is not a positive integer", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 8 })
      for (const options of [{ chunkSectors: 0 }, { chunkSectors: 1.5 }, { concurrency: -1 }, { concurrency: NaN }]) {
        const error = yield* Effect.flip(copy(src!, dst!, options))
        expect(error._tag).toBe("InvalidRequest")
      }
    }))

  it.effect("says the source failed when a read fails, keeping the IOError", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 32 })
      const error = yield* Effect.flip(copy(failing(src!, { reads: true, from: 20 }), dst!, { chunkSectors: 8 }))
      expect(error._tag).toBe("IOError")
      expect(error.message).toMatch(/^copy: source: read on flaky disk/)
      if (error._tag === "IOError") expect(error.sectorStart).toBe(16)
    }))

  it.effect("says the destination failed when a write fails", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 32 })
      const error = yield* Effect.flip(copy(src!, failing(dst!, { writes: true }), { concurrency: 3, chunkSectors: 4 }))
      expect(error._tag).toBe("IOError")
      expect(error.message).toMatch(/^copy: destination: write on flaky disk/)
    }))

  it.effect("copies an empty device", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 0 })
      yield* copy(src!, dst!)
      expect((yield* dst!.info).sizeSectors).toBe(0)
    }))
})

describe("sparseCopy", () => {
  it.effect.prop(
    "makes the destination read exactly as the source, over stale destination data",
    { source: History, destination: History, chunking: Chunking, discards: Schema.Boolean },
    ({ chunking, destination, discards, source }) =>
      Effect.gen(function*() {
        const [src, target] = yield* ramdisks(2, { sizeSectors: historySectors })
        const model = yield* applyModelled(src!, source)
        yield* apply(target!, destination)
        // A destination without discard or seeks must get zeros written instead.
        const dst = discards ? target! : plain(target!)
        yield* sparseCopy(src!, dst, chunking)
        expect(yield* readAll(dst)).toEqual(model)
      })
  )

  it.effect("reads only the source's mapped runs", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 1 << 20 })
      yield* src!.write(4096, new Uint8Array(8 * 512).fill(7))
      yield* src!.write(900_000, new Uint8Array(512).fill(9))
      const counter = { sectors: 0, reads: 0 }
      yield* sparseCopy(counting(src!, counter), dst!)
      // The ramdisk maps whole 4 KiB pages: 8 sectors each.
      expect(counter.sectors).toBe(16)
      expect(yield* compare(src!, dst!)).toBe(0)
    }))

  it.effect("keeps the destination sparse: it is mapped only where the source is", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 192 })
      yield* dst!.write(0, new Uint8Array(192 * 512).fill(1))
      yield* src!.write(80, new Uint8Array(16 * 512).fill(2))
      yield* sparseCopy(src!, dst!)
      expect(yield* extents(dst!)).toEqual(yield* extents(src!))
    }))

  it.effect("reads data-last: pipe(src, sparseCopy(dst))", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 64 })
      yield* fill(src!, { seed: "x", start: 8, sectors: 8 })
      yield* pipe(src!, sparseCopy(dst!))
      expect(yield* compare(src!, dst!)).toBe(0)
    }))

  it.effect("fails InvalidRequest, writing nothing, when the sizes differ", () =>
    Effect.gen(function*() {
      const src = yield* ramdisk(64)
      const dst = yield* ramdisk(32)
      yield* fill(src, { seed: 3 })
      const error = yield* Effect.flip(sparseCopy(src, dst))
      expect(error._tag).toBe("InvalidRequest")
      expect(yield* extents(dst)).toEqual([{ start: 0, sectors: 32, mapped: false }])
    }))

  it.effect("says which device failed", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 64 })
      yield* fill(src!, { seed: 3, sectors: 8 })
      const read = yield* Effect.flip(sparseCopy(failing(src!, { reads: true }), dst!))
      expect(read.message).toMatch(/^sparseCopy: source: /)
      const write = yield* Effect.flip(sparseCopy(src!, failing(dst!, { writes: true })))
      expect(write.message).toMatch(/^sparseCopy: destination: /)
      yield* src!.disconnect
      const seek = yield* Effect.flip(sparseCopy(src!, dst!))
      expect(seek._tag).toBe("Disconnected")
      expect(seek.message).toMatch(/^sparseCopy: source: /)
    }))
})

describe("compare", () => {
  it.effect.prop(
    "orders devices as byte strings: the first differing byte, then the shorter first",
    { a: History, b: History, sizeA: Schema.Literals([32, 64]), sizeB: Schema.Literals([32, 64]) },
    ({ a, b, sizeA, sizeB }) =>
      Effect.gen(function*() {
        const full = yield* ramdisks(2, { sizeSectors: historySectors })
        const modelA = new Uint8Array(historySectors * 512)
        const modelB = new Uint8Array(historySectors * 512)
        yield* apply(full[0]!, a, modelA)
        yield* apply(full[1]!, b, modelB)
        yield* full[0]!.resize(sizeA)
        yield* full[1]!.resize(sizeB)
        const expected = modelOrder(modelA.subarray(0, sizeA * 512), modelB.subarray(0, sizeB * 512))
        expect(yield* compare(full[0]!, full[1]!, { chunkSectors: 5 })).toBe(expected)
        expect(yield* compare(full[1]!, full[0]!)).toBe(expected === 0 ? 0 : -expected)
      })
  )

  it.effect("is 0 for a device and its copy", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ramdisks(2, { sizeSectors: 128 })
      yield* fill(a!, { seed: 9, start: 10, sectors: 50 })
      yield* sparseCopy(a!, b!)
      expect(yield* compare(a!, b!)).toBe(0)
      expect(yield* pipe(a!, compare(b!))).toBe(0)
    }))

  it.effect("orders the shorter of two otherwise equal devices first", () =>
    Effect.gen(function*() {
      const short = yield* ramdisk(8)
      const long = yield* ramdisk(9)
      expect(yield* compare(short, long)).toBe(-1)
      expect(yield* compare(long, short)).toBe(1)
    }))

  it.effect("compares devices of different sector sizes as bytes", () =>
    Effect.gen(function*() {
      const small = yield* ramdisk(16, 512)
      const large = yield* ramdisk(2, 4096)
      yield* fill(small, { seed: 5 })
      yield* fill(large, { seed: 5 })
      expect(yield* compare(small, large)).toBe(0)
      yield* large.write(1, new Uint8Array(4096))
      expect(yield* compare(small, large)).toBe(1)
      const odd = yield* ramdisk(3, 512)
      yield* fill(odd, { seed: 5 })
      expect(yield* compare(odd, large)).toBe(-1)
    }))

  it.effect("skips ranges both devices report unmapped without reading them", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ramdisks(2, { sizeSectors: 1 << 30 })
      yield* a!.write(1 << 29, new Uint8Array(512).fill(1))
      const counter = { sectors: 0, reads: 0 }
      expect(yield* compare(counting(a!, counter), b!)).toBe(1)
      expect(counter.sectors).toBeLessThanOrEqual(2048)
    }))

  it.effect("says which device failed", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ramdisks(2, { sizeSectors: 16 })
      yield* fill(a!, { seed: 1 })
      yield* fill(b!, { seed: 1 })
      const error = yield* Effect.flip(compare(a!, failing(b!, { reads: true })))
      expect(error._tag).toBe("IOError")
      expect(error.message).toMatch(/^compare: second device: /)
    }))
})

describe("fold", () => {
  it.effect.prop(
    "visits every chunk in order, with its first sector and bytes",
    { history: History, chunkSectors: intBetween(1, 70) },
    ({ chunkSectors, history }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(historySectors)
        const model = yield* applyModelled(device, history)
        const seen = yield* fold(device, [] as Array<readonly [number, Uint8Array]>, (acc, sector, data) =>
          Effect.succeed([...acc, [sector, data.slice()] as const]), { chunkSectors })
        let next = 0
        for (const [sector, data] of seen) {
          expect(sector).toBe(next)
          expect(data.length).toBeLessThanOrEqual(chunkSectors * 512)
          expect(data).toEqual(model.subarray(sector * 512, sector * 512 + data.length))
          next += data.length / 512
        }
        expect(next).toBe(historySectors)
      })
  )

  it.effect("reads data-last and passes the function's failure through", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16)
      const total = yield* pipe(device, fold(0, (n, _sector, data) => Effect.succeed(n + data.length)))
      expect(total).toBe(16 * 512)
      const error = yield* Effect.flip(fold(device, 0, () => Effect.fail("stop" as const)))
      expect(error).toBe("stop")
    }))

  it.effect("fails with the device's error", () =>
    Effect.gen(function*() {
      const device = failing(yield* ramdisk(16), { reads: true, from: 8 })
      const error = yield* Effect.flip(fold(device, 0, (n) => Effect.succeed(n + 1), { chunkSectors: 4 }))
      expect(error._tag).toBe("IOError")
    }))
})

describe("foldMapped", () => {
  it.effect.prop(
    "visits the mapped runs only, and everything it skips reads as zeros",
    { history: History },
    ({ history }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(historySectors)
        const model = yield* applyModelled(device, history)
        const rebuilt = new Uint8Array(model.length)
        const runs = yield* extents(device)
        yield* foldMapped(device, 0, (visited, sector, data) =>
          Effect.sync(() => {
            const run = runs.find((r) => r.start <= sector && sector < r.start + r.sectors)
            expect(run?.mapped).toBe(true)
            expect(sector + data.length / 512).toBeLessThanOrEqual(run!.start + run!.sectors)
            rebuilt.set(data, sector * 512)
            return visited + 1
          }), { chunkSectors: 3 })
        expect(rebuilt).toEqual(model)
      })
  )
})

describe("foldUnmapped", () => {
  it.effect.prop("visits each unmapped run once, in order, reading nothing", { history: History }, ({ history }) =>
    Effect.gen(function*() {
      const device = yield* ramdisk(historySectors)
      yield* apply(device, history)
      const counter = { sectors: 0, reads: 0 }
      const holes = yield* foldUnmapped(
        counting(device, counter),
        [] as Array<{ start: number; sectors: number; mapped: boolean }>,
        (acc, start, sectors) => Effect.succeed([...acc, { start, sectors, mapped: false }])
      )
      expect(holes).toEqual((yield* extents(device)).filter((run) => !run.mapped))
      expect(counter.reads).toBe(0)
    }))
})

describe("extents", () => {
  it.effect.prop(
    "lists alternating runs covering the device; unmapped runs read as zeros, data lies in mapped runs",
    { history: History },
    ({ history }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(historySectors)
        const model = yield* applyModelled(device, history)
        const runs = yield* extents(device)
        let next = 0
        for (const [i, run] of runs.entries()) {
          expect(run.start).toBe(next)
          expect(run.sectors).toBeGreaterThan(0)
          if (i > 0) expect(run.mapped).not.toBe(runs[i - 1]!.mapped)
          if (!run.mapped) {
            expectFilled(model.subarray(run.start * 512, (run.start + run.sectors) * 512), 0)
          }
          next += run.sectors
        }
        expect(next).toBe(historySectors)
      })
  )

  it.effect("is empty for an empty device", () =>
    Effect.gen(function*() {
      expect(yield* extents(yield* ramdisk(0))).toEqual([])
    }))

  it.effect("is one mapped run for a device that cannot seek", () =>
    Effect.gen(function*() {
      expect(yield* extents(plain(yield* ramdisk(40)))).toEqual([{ start: 0, sectors: 40, mapped: true }])
    }))

  it.effect("lists the runs of a sparse device like nbdinfo --map", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(64)
      yield* device.write(8, new Uint8Array(16 * 512).fill(1))
      expect(yield* extents(device)).toEqual([
        { start: 0, sectors: 8, mapped: false },
        { start: 8, sectors: 16, mapped: true },
        { start: 24, sectors: 40, mapped: false }
      ])
    }))
})

describe("fill", () => {
  it.effect("repeats a pattern from the first byte of the range", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      yield* fill(device, { pattern: new Uint8Array([1, 2, 3]), start: 2, sectors: 3, chunkSectors: 1 })
      const bytes = yield* readAll(device)
      expectFilled(bytes.subarray(0, 1024), 0)
      for (let i = 0; i < 3 * 512; i++) expect(bytes[1024 + i]).toBe([1, 2, 3][i % 3])
      expectFilled(bytes.subarray(5 * 512), 0)
    }))

  it.effect.prop(
    "writes the same seeded bytes for the same seed, whatever the range, chunking and concurrency",
    {
      seed: Schema.Union([Schema.Int, Schema.String]),
      start: intBetween(0, 63),
      chunking: Chunking
    },
    ({ chunking, seed, start }) =>
      Effect.gen(function*() {
        const [whole, part] = yield* ramdisks(2, { sizeSectors: 64 })
        yield* fill(whole!, { seed })
        yield* fill(part!, { seed, start, ...chunking })
        const expected = yield* readAll(whole!)
        const bytes = yield* readAll(part!)
        expect(bytes.subarray(start * 512)).toEqual(expected.subarray(start * 512))
      })
  )

  it.effect("writes different bytes for different seeds, and not zeros", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ramdisks(2, { sizeSectors: 4 })
      yield* fill(a!, { seed: 1 })
      yield* fill(b!, { seed: 2 })
      expect(yield* compare(a!, b!)).not.toBe(0)
      const bytes = yield* readAll(a!)
      expect(new Set(bytes).size).toBeGreaterThan(200)
    }))

  it.effect("fails InvalidRequest, writing nothing, for bad options", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      const bad: ReadonlyArray<Parameters<typeof fill>[1]> = [
        { pattern: new Uint8Array(0) },
        { seed: Number.NaN },
        { seed: 1, start: 9 },
        { seed: 1, start: 4, sectors: 5 },
        { seed: 1, sectors: -1 },
        { seed: 1, chunkSectors: 0 }
      ]
      for (const options of bad) {
        const error = yield* Effect.flip(fill(device, options))
        expect(error._tag).toBe("InvalidRequest")
      }
      expect(yield* extents(device)).toEqual([{ start: 0, sectors: 8, mapped: false }])
    }))

  it.effect("fails IsReadOnly on a read-only device", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fill(readOnly(yield* ramdisk(8)), { seed: 1 }))
      expect(error._tag).toBe("IsReadOnly")
    }))

  it.effect("reads data-last: pipe(device, fill(options))", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(2)
      yield* pipe(device, fill({ pattern: new Uint8Array([0xab]) }))
      expectFilled(yield* readAll(device), 0xab)
    }))
})
