/**
 * The ramdisk's storage rules beyond the block-device contract (see
 * docs/ramdisk.md): it is zero-aware (a page exists only while it holds
 * data), its freed pages are reused, and `stats` accounts for everything it
 * holds.
 */
import { BlockDevice, copy } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive, type Snapshot } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

const disk = (options: { sizeSectors?: number; sectorSize?: number } = {}) =>
  RamdiskLive({ name: "disk", sizeSectors: 2048, ...options }).pipe(Layer.provide(RegistryLive))

const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte)

const pages = Effect.gen(function*() {
  const ramdisk = yield* Ramdisk
  return (yield* ramdisk.stats).allocatedPages
})

describe("zeros written", () => {
  it.effect("into pages never written allocate nothing", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(1024 * 512, 0))
      yield* ramdisk.write(3, filled(512, 0))
      expect(yield* pages).toBe(0)
      expect(yield* ramdisk.seekMapped(0)).toBe(2048)
    }).pipe(Effect.provide(disk())))

  it.effect("over a whole page free it", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(16 * 512, 7))
      expect(yield* pages).toBe(2)
      yield* ramdisk.write(8, filled(8 * 512, 0))
      expect(yield* pages).toBe(1)
      expect(yield* ramdisk.seekUnmapped(0)).toBe(8)
    }).pipe(Effect.provide(disk())))

  it.effect("over the only data of a page free it (partial write)", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(2, filled(512, 7))
      expect(yield* pages).toBe(1)
      yield* ramdisk.write(2, filled(512, 0))
      expect(yield* pages).toBe(0)
    }).pipe(Effect.provide(disk())))

  it.effect("over part of a page that holds other data keep it", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(2 * 512, 7))
      yield* ramdisk.write(1, filled(512, 0))
      expect(yield* pages).toBe(1)
      const back = new Uint8Array(512)
      yield* ramdisk.read(0, back)
      expect(back.every((b) => b === 7)).toBe(true)
    }).pipe(Effect.provide(disk())))

  it.effect("over a page a snapshot shares free it for the device only", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(64 * 8 * 512, 7)) // one whole (dense) chunk
      const snapshot: Snapshot = yield* ramdisk.snapshot
      yield* ramdisk.write(8, filled(8 * 512, 0))
      expect(yield* pages).toBe(63)
      yield* ramdisk.restore(snapshot)
      expect(yield* pages).toBe(64)
      const back = new Uint8Array(8 * 512)
      yield* ramdisk.read(8, back)
      expect(back.every((b) => b === 7)).toBe(true)
    }).pipe(Effect.provide(disk({ sizeSectors: 64 * 8 * 2 }))))
})

describe("discards", () => {
  it.effect("that together cover all the data of a page free it", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(8 * 512, 7))
      yield* ramdisk.discard(0, 3)
      expect(yield* pages).toBe(1)
      yield* ramdisk.discard(3, 5)
      expect(yield* pages).toBe(0)
    }).pipe(Effect.provide(disk())))
})

describe("copy of a sparse device", () => {
  it.effect("leaves the destination as sparse as the source", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const source = yield* registry.connect({ name: "source", sizeSectors: 64 * 1024 })
      const destination = yield* registry.connect({ name: "destination", sizeSectors: 64 * 1024 })
      // 64 KiB of data in every 640 KiB, as the benchmark's sparse disk.
      for (let at = 0; at + 128 <= 64 * 1024; at += 1280) yield* source.write(at, filled(128 * 512, 3))
      yield* copy(source, destination)
      expect((yield* destination.stats).allocatedBytes).toBe((yield* source.stats).allocatedBytes)
    }).pipe(Effect.provide(RegistryLive)))
})

describe("freed pages", () => {
  it.effect("are reused by later writes: memory held stays flat over write/discard cycles", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      const held: Array<number> = []
      for (let round = 0; round < 50; round++) {
        const at = (round * 97 % 200) * 8
        yield* ramdisk.write(at, filled(4096, 1 + round % 200))
        yield* ramdisk.discard(at, 8)
        const stats = yield* ramdisk.stats
        held.push(stats.allocatedBytes + stats.freeBytes)
      }
      expect(Math.max(...held)).toBe(held[0])
    }).pipe(Effect.provide(disk())))
})

describe("Ramdisk.stats accounting", () => {
  it.effect("heldBytes is allocated plus free plus index bytes, and index bytes grow with the pages", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(4096, 1))
      const one = yield* ramdisk.stats
      expect(one.heldBytes).toBe(one.allocatedBytes + one.freeBytes + one.indexBytes)
      expect(one.indexBytes).toBeGreaterThan(0)
      yield* ramdisk.write(100 * 8 * 64, filled(4096, 1)) // another chunk
      expect((yield* ramdisk.stats).indexBytes).toBeGreaterThan(one.indexBytes)
    }).pipe(Effect.provide(disk({ sizeSectors: 2 ** 40 }))))
})

const Op = Schema.Tuple([
  Schema.Literals(["data", "zeros", "discard"]),
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2047 })),
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 300 }))
])

describe("zero-aware storage", () => {
  it.effect.prop(
    "holds exactly the pages with non-zero data, and reads back a flat model, after any history",
    [Schema.Array(Op).check(Schema.isMaxLength(40))],
    ([history]) =>
      Effect.gen(function*() {
        const device = yield* BlockDevice
        const model = new Uint8Array(2048 * 512)
        for (const [op, start, length] of history) {
          const count = Math.min(length, 2048 - start)
          if (op === "discard") {
            yield* device.discard(start, count)
            model.fill(0, start * 512, (start + count) * 512)
          } else {
            const data = filled(count * 512, op === "data" ? 1 + start % 250 : 0)
            yield* device.write(start, data)
            model.set(data, start * 512)
          }
        }
        let expected = 0
        for (let page = 0; page < 256; page++) {
          if (model.subarray(page * 4096, (page + 1) * 4096).some((b) => b !== 0)) expected++
        }
        expect(yield* pages).toBe(expected)
        const back = new Uint8Array(model.byteLength)
        yield* device.read(0, back)
        expect(Buffer.compare(back, model)).toBe(0)
      }).pipe(Effect.provide(disk()))
  )
})
