/**
 * What a ramdisk adds to the block-device contract: O(1) snapshots that later
 * writes do not change, restore for every handle, allocation statistics, and
 * sparseness. The generic block-device rules are checked by the conformance
 * suite in conformance.test.ts.
 */
import { BlockDevice } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive, type Snapshot } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

const disk = (options: { sizeSectors?: number; sectorSize?: number } = {}) =>
  RamdiskLive({ name: "disk", sizeSectors: 256, ...options }).pipe(Layer.provide(RegistryLive))

const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte)

const readSectors = (start: number, count: number) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const { sectorSize } = yield* device.info
    const buffer = new Uint8Array(count * sectorSize)
    yield* device.read(start, buffer)
    return buffer
  })

describe("Ramdisk.snapshot", () => {
  it.effect("is not changed by later writes, discards or resizes", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(4096, 1))
      const snapshot = yield* ramdisk.snapshot
      yield* ramdisk.write(0, filled(512, 2))
      yield* ramdisk.discard(4, 4)
      yield* ramdisk.resize(16)
      yield* ramdisk.resize(256)
      expect(snapshot.sizeSectors).toBe(256)
      expect(snapshot.sectorSize).toBe(512)
      yield* ramdisk.restore(snapshot)
      expect(yield* readSectors(0, 8)).toEqual(filled(4096, 1))
    }).pipe(Effect.provide(disk())))

  it.effect("keeps every snapshot of a chain independent", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      const snapshots = []
      for (let version = 1; version <= 5; version++) {
        yield* ramdisk.write(0, filled(512, version))
        snapshots.push(yield* ramdisk.snapshot)
      }
      for (let version = 5; version >= 1; version--) {
        yield* ramdisk.restore(snapshots[version - 1]!)
        expect((yield* readSectors(0, 1))[0]).toBe(version)
        // Writing after a restore must not leak into the restored snapshot.
        yield* ramdisk.write(0, filled(512, 99))
      }
      yield* ramdisk.restore(snapshots[2]!)
      expect((yield* readSectors(0, 1))[0]).toBe(3)
    }).pipe(Effect.provide(disk())))

  it.effect("costs no copy: the snapshot shares the device's pages", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(256 * 512, 7))
      const before = yield* ramdisk.stats
      const snapshot = yield* ramdisk.snapshot
      expect(snapshot.allocatedBytes).toBe(before.allocatedBytes)
      expect((yield* ramdisk.stats).allocatedBytes).toBe(before.allocatedBytes)
    }).pipe(Effect.provide(disk())))

  it.effect("fails Disconnected on a disconnected handle", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.disconnect
      expect((yield* Effect.flip(ramdisk.snapshot))._tag).toBe("Disconnected")
    }).pipe(Effect.provide(disk())))
})

describe("Ramdisk.restore", () => {
  it.effect("restores contents and size for every handle of the device", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const one = yield* registry.connect({ name: "d", sizeSectors: 64 })
      const two = yield* registry.connect({ name: "d" })
      yield* one.write(10, filled(512, 4))
      const snapshot = yield* one.snapshot
      yield* one.write(10, filled(512, 5))
      yield* one.resize(128)
      yield* one.restore(snapshot)
      expect((yield* two.info).sizeSectors).toBe(64)
      const buffer = filled(512, 0)
      yield* two.read(10, buffer)
      expect(buffer[0]).toBe(4)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("fails IsReadOnly on a read-only handle and changes nothing", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const writer = yield* registry.connect({ name: "d", sizeSectors: 64 })
      const reader = yield* registry.connect({ name: "d", readOnly: true })
      const snapshot = yield* reader.snapshot
      yield* writer.write(0, filled(512, 8))
      const error = yield* Effect.flip(reader.restore(snapshot))
      expect(error._tag).toBe("IsReadOnly")
      const buffer = filled(512, 0)
      yield* reader.read(0, buffer)
      expect(buffer[0]).toBe(8)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("fails InvalidRequest for a snapshot with another sector size, changing nothing", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const small = yield* registry.connect({ name: "small", sectorSize: 512, sizeSectors: 8 })
      const large = yield* registry.connect({ name: "large", sectorSize: 4096, sizeSectors: 8 })
      yield* large.write(0, filled(4096, 3))
      const error = yield* Effect.flip(small.restore(yield* large.snapshot))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("4096")
      expect((yield* small.info).sizeSectors).toBe(8)
      expect((yield* small.stats).allocatedBytes).toBe(0)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("can restore a snapshot of one device into another of the same sector size without sharing writes", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const golden = yield* registry.connect({ name: "golden", sizeSectors: 16 })
      yield* golden.write(0, filled(512, 1))
      const image = yield* golden.snapshot
      const scratch = yield* registry.connect({ name: "scratch", sizeSectors: 4 })
      yield* scratch.restore(image)
      yield* scratch.write(0, filled(512, 2))
      const buffer = filled(512, 0)
      yield* golden.read(0, buffer)
      expect(buffer[0]).toBe(1)
      yield* scratch.restore(image)
      yield* scratch.read(0, buffer)
      expect(buffer[0]).toBe(1)
    }).pipe(Effect.provide(RegistryLive)))
})

describe("Ramdisk.stats", () => {
  it.effect("counts nothing for a new device", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      expect(yield* ramdisk.stats).toEqual({
        allocatedBytes: 0,
        allocatedPages: 0,
        pageSize: 4096,
        freeBytes: 0,
        indexBytes: 0,
        heldBytes: 0
      })
    }).pipe(Effect.provide(disk())))

  it.effect("allocates one page for a one-sector write and nothing more for rewrites", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(3, filled(512, 1))
      yield* ramdisk.write(3, filled(512, 2))
      yield* ramdisk.write(0, filled(4096, 2))
      expect((yield* ramdisk.stats).allocatedBytes).toBe(4096)
    }).pipe(Effect.provide(disk())))

  it.effect("frees the pages a discard fully covers, and those a shrink drops", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(64 * 512, 1))
      expect((yield* ramdisk.stats).allocatedPages).toBe(8)
      yield* ramdisk.discard(4, 20) // sectors [4, 24): pages 1 and 2 fully, page 0 in part
      expect((yield* ramdisk.stats).allocatedPages).toBe(6)
      yield* ramdisk.resize(12) // keeps page 0; page 1 is already gone; pages 3 to 7 go
      expect((yield* ramdisk.stats).allocatedPages).toBe(1)
    }).pipe(Effect.provide(disk())))

  it.effect("uses pages of one sector when sectors are larger than 4 KiB", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(1, filled(65536, 1))
      // A 4-page device gets a slab of 4 pages: the 3 not written are held free for reuse.
      expect(yield* ramdisk.stats).toMatchObject({
        allocatedBytes: 65536,
        allocatedPages: 1,
        pageSize: 65536,
        freeBytes: 3 * 65536
      })
    }).pipe(Effect.provide(disk({ sectorSize: 65536, sizeSectors: 4 }))))
})

describe("sparseness", () => {
  it.effect("a 1 PiB device holds nothing until written, and only what is written after", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      const size = 2 ** 50 / 512
      expect((yield* ramdisk.info).sizeSectors).toBe(size)
      yield* ramdisk.write(size - 8, filled(4096, 1))
      yield* ramdisk.write(size / 2, filled(4096, 2))
      expect((yield* ramdisk.stats).allocatedBytes).toBe(8192)
      expect(yield* ramdisk.seekMapped(0)).toBe(size / 2)
      expect(yield* ramdisk.seekUnmapped(size / 2)).toBe(size / 2 + 8)
      expect(yield* ramdisk.seekMapped(size / 2 + 8)).toBe(size - 8)
      expect((yield* readSectors(size - 8, 8))[4095]).toBe(1)
    }).pipe(Effect.provide(disk({ sizeSectors: 2 ** 50 / 512 }))))
})

describe("sector sizes", () => {
  it.effect.each([1, 512, 4096, 65536])("honours %i-byte sectors in reads, writes and seeks", (sectorSize) =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      expect((yield* ramdisk.info).sectorSize).toBe(sectorSize)
      const data = filled(sectorSize, 9)
      yield* ramdisk.write(40, data)
      expect(yield* readSectors(40, 1)).toEqual(data)
      expect(yield* readSectors(39, 1)).toEqual(filled(sectorSize, 0))
      const mapped = yield* ramdisk.seekMapped(0)
      expect(mapped).toBeLessThanOrEqual(40)
      expect(yield* readSectors(0, mapped)).toEqual(filled(mapped * sectorSize, 0))
    }).pipe(Effect.provide(disk({ sectorSize, sizeSectors: 64 }))))
})

const deviceSectors = 4096 // 512 pages: a two-level index whose leaves and inner nodes fill up
const PageOp = Schema.Tuple([
  Schema.Literals(["write", "discard"]),
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: deviceSectors - 1 })),
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1200 }))
])

describe("seeks at page granularity", () => {
  it.effect.prop(
    "report exactly the written pages as mapped after any history of writes and discards",
    [Schema.Array(PageOp).check(Schema.isMaxLength(30))],
    ([history]) =>
      Effect.gen(function*() {
        const ramdisk = yield* Ramdisk
        // Sectors holding data: a page is mapped exactly when one of its sectors is (zero-aware store).
        const sectors = new Set<number>()
        for (const [op, start, length] of history) {
          const count = Math.min(length, deviceSectors - start)
          if (op === "write") {
            yield* ramdisk.write(start, filled(count * 512, 1))
            for (let s = start; s < start + count; s++) sectors.add(s)
          } else {
            yield* ramdisk.discard(start, count)
            for (let s = start; s < start + count; s++) sectors.delete(s)
          }
        }
        const pages = new Set([...sectors].map((s) => Math.floor(s / 8)))
        // The expected answers for every sector, in one backward pass.
        const expectedMapped = new Array<number>(deviceSectors + 1).fill(deviceSectors)
        const expectedUnmapped = new Array<number>(deviceSectors + 1).fill(deviceSectors)
        for (let s = deviceSectors - 1; s >= 0; s--) {
          const mapped = pages.has(Math.floor(s / 8))
          expectedMapped[s] = mapped ? s : expectedMapped[s + 1]!
          expectedUnmapped[s] = mapped ? expectedUnmapped[s + 1]! : s
        }
        for (let from = 0; from <= deviceSectors; from++) {
          const mapped = yield* ramdisk.seekMapped(from)
          const unmapped = yield* ramdisk.seekUnmapped(from)
          if (mapped !== expectedMapped[from]) expect(mapped, `seekMapped(${from})`).toBe(expectedMapped[from])
          if (unmapped !== expectedUnmapped[from]) expect(unmapped, `seekUnmapped(${from})`).toBe(expectedUnmapped[from])
        }
        expect((yield* ramdisk.stats).allocatedPages).toBe(pages.size)
      }).pipe(Effect.provide(disk({ sizeSectors: deviceSectors })))
  )
})

/** The first byte where two buffers differ, or -1: a fast stand-in for deep equality on large buffers. */
const firstDifference = (a: Uint8Array, b: Uint8Array): number => {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return i
  return -1
}

const chunkSectors = 64 // at 4096-byte sectors, one sector per page and 64 pages per chunk
const DenseOp = Schema.Tuple([
  Schema.Literals(["write", "write", "write", "discard", "snapshot", "restore", "resize"]),
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 * chunkSectors })),
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 * chunkSectors })),
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 255 }))
])

describe("whole chunks (the one-copy layout of fully written chunks)", () => {
  it.effect.prop(
    "read back exactly what a flat model holds after writes, discards, snapshots, restores and resizes",
    [Schema.Array(DenseOp).check(Schema.isMaxLength(25))],
    ([history]) =>
      Effect.gen(function*() {
        const ramdisk = yield* Ramdisk
        const sectorSize = 4096
        let model = new Uint8Array(3 * chunkSectors * sectorSize)
        const snapshots: Array<{ snapshot: Snapshot; model: Uint8Array }> = []
        for (const [op, a, b, fill] of history) {
          const size = model.byteLength / sectorSize
          const start = Math.min(a, size)
          const count = Math.min(b, size - start)
          if (op === "write") {
            // Pre-fill whole chunks often: writes of 64+ sectors make chunks dense.
            yield* ramdisk.write(start, filled(count * sectorSize, fill))
            model.fill(fill, start * sectorSize, (start + count) * sectorSize)
          } else if (op === "discard") {
            yield* ramdisk.discard(start, count)
            model.fill(0, start * sectorSize, (start + count) * sectorSize)
          } else if (op === "snapshot") {
            snapshots.push({ snapshot: yield* ramdisk.snapshot, model: model.slice() })
          } else if (op === "restore" && snapshots.length > 0) {
            const chosen = snapshots[a % snapshots.length]!
            yield* ramdisk.restore(chosen.snapshot)
            model = chosen.model.slice()
          } else if (op === "resize") {
            const next = new Uint8Array(Math.max(a, 1) * sectorSize)
            next.set(model.subarray(0, Math.min(model.byteLength, next.byteLength)))
            yield* ramdisk.resize(next.byteLength / sectorSize)
            model = next
          }
          const actual = new Uint8Array(model.byteLength)
          yield* ramdisk.read(0, actual)
          expect(firstDifference(actual, model), `after ${op} ${a} ${b}`).toBe(-1)
        }
        for (const { snapshot, model: expected } of snapshots) {
          yield* ramdisk.restore(snapshot)
          const actual = new Uint8Array(expected.byteLength)
          yield* ramdisk.read(0, actual)
          expect(firstDifference(actual, expected)).toBe(-1)
        }
      }).pipe(Effect.provide(disk({ sectorSize: 4096, sizeSectors: 3 * chunkSectors })))
  )

  it.effect("a snapshot of a fully written chunk keeps its data while the chunk is rewritten page by page", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(0, filled(chunkSectors * 4096, 1))
      const snapshot = yield* ramdisk.snapshot
      for (let sector = 0; sector < chunkSectors; sector++) yield* ramdisk.write(sector, filled(4096, 2))
      yield* ramdisk.write(10, filled(4096 * 20, 3))
      const now = new Uint8Array(chunkSectors * 4096)
      yield* ramdisk.read(0, now)
      expect(now.subarray(0, 10 * 4096).every((b) => b === 2)).toBe(true)
      expect(now.subarray(10 * 4096, 30 * 4096).every((b) => b === 3)).toBe(true)
      yield* ramdisk.restore(snapshot)
      yield* ramdisk.read(0, now)
      expect(now.every((b) => b === 1)).toBe(true)
      expect((yield* ramdisk.stats).allocatedPages).toBe(chunkSectors)
    }).pipe(Effect.provide(disk({ sectorSize: 4096, sizeSectors: 2 * chunkSectors }))))
})

describe("whole-chunk writes", () => {
  it.effect("replace a chunk shared with a snapshot without changing the snapshot, counting pages once", () =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      yield* ramdisk.write(3, filled(4096, 1)) // one page of chunk 0
      const snapshot = yield* ramdisk.snapshot
      yield* ramdisk.write(0, filled(chunkSectors * 4096, 2)) // all of chunk 0
      expect((yield* ramdisk.stats).allocatedPages).toBe(chunkSectors)
      yield* ramdisk.write(0, filled(chunkSectors * 4096, 3)) // again, now in place
      expect((yield* ramdisk.stats).allocatedPages).toBe(chunkSectors)
      expect(yield* ramdisk.seekUnmapped(0)).toBe(chunkSectors)
      const now = new Uint8Array(chunkSectors * 4096)
      yield* ramdisk.read(0, now)
      expect(now.every((b) => b === 3)).toBe(true)
      yield* ramdisk.restore(snapshot)
      yield* ramdisk.read(0, now)
      expect(firstDifference(now.subarray(3 * 4096, 4 * 4096), filled(4096, 1))).toBe(-1)
      expect(now.subarray(0, 3 * 4096).every((b) => b === 0)).toBe(true)
      expect((yield* ramdisk.stats).allocatedPages).toBe(1)
    }).pipe(Effect.provide(disk({ sectorSize: 4096, sizeSectors: 2 * chunkSectors }))))

  it.effect.each([
    ["a Uint8Array", (bytes: number) => new Uint8Array(bytes)],
    ["a Node Buffer (whose slice is a view, not a copy)", (bytes: number) => Buffer.alloc(bytes)]
  ] as const)("copy the caller's data from %s: changing the buffer afterwards changes nothing", ([, allocate]) =>
    Effect.gen(function*() {
      const ramdisk = yield* Ramdisk
      const data = allocate(2 * chunkSectors * 4096).fill(5)
      yield* ramdisk.write(0, data) // fresh chunks
      data.fill(6)
      yield* ramdisk.write(2 * chunkSectors, data) // chunks shared with nothing, in place
      data.fill(7)
      const now = new Uint8Array(4 * chunkSectors * 4096)
      yield* ramdisk.read(0, now)
      expect(firstDifference(now.subarray(0, data.byteLength), filled(data.byteLength, 5))).toBe(-1)
      expect(firstDifference(now.subarray(data.byteLength), filled(data.byteLength, 6))).toBe(-1)
    }).pipe(Effect.provide(disk({ sectorSize: 4096, sizeSectors: 4 * chunkSectors }))))
})
