/**
 * The tools' limits and option decoding: chunk buffers are capped at 64 MiB
 * whatever `chunkSectors` asks (a valid 2^40 on a 1 PiB device must not
 * exhaust memory), and options are decoded with their schemas (`null` is
 * not "absent", a wrong type is an `InvalidRequest` naming the option).
 */
import {
  type BlockDeviceShape,
  compare,
  copy,
  fill,
  foldMapped,
  overlay,
  slice,
  sparseCopy,
  stream
} from "@effect-block/block"
import { makeRegistry } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { counting, ramdisk, ramdisks } from "./fixtures/Devices.js"

const PiB = 2 ** 50
const huge = 2 ** 40

const petabyteDisks = (count: number) =>
  Effect.gen(function*() {
    const registry = yield* makeRegistry
    const disks: Array<BlockDeviceShape> = []
    for (let i = 0; i < count; i++) disks.push(yield* Effect.orDie(registry.connect({ name: `pib${i}`, sizeSectors: PiB / 512 })))
    return disks
  })

describe("chunk buffers", () => {
  it.effect("compare, sparseCopy, foldMapped, fill and stream take chunkSectors 2^40 on a 1 PiB device without dying", () =>
    Effect.gen(function*() {
      const [a, b] = yield* petabyteDisks(2)
      yield* a!.write(PiB / 512 - 8, new Uint8Array(4096).fill(1))
      expect(yield* compare(a!, b!, { chunkSectors: huge })).toBe(1)
      yield* sparseCopy(a!, b!, { chunkSectors: huge })
      expect(yield* compare(a!, b!, { chunkSectors: huge })).toBe(0)
      const bytes = yield* foldMapped(a!, 0, (n, _sector, data) => Effect.succeed(n + data.byteLength), { chunkSectors: huge })
      expect(bytes).toBe(4096)
      yield* fill(a!, { seed: 1, start: 0, sectors: 8, chunkSectors: huge })
      const [first] = yield* Stream.runCollect(Stream.take(stream(b!, { chunkSectors: huge }), 1))
      expect(first!.byteLength).toBe(64 * 1024 * 1024)
    }))

  it.effect("fill's requests hold at most 64 MiB whatever chunkSectors asks", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(131072 + 8)
      const counter = { sectors: 0, reads: 0 }
      const sizes: Array<number> = []
      yield* fill(counting(device, counter), { pattern: new Uint8Array([5]), chunkSectors: huge })
      yield* foldMapped(counting(device, counter), 0, (n, _sector, data) => Effect.sync(() => sizes.push(data.byteLength) + n), {
        chunkSectors: huge
      })
      expect(sizes).toEqual([64 * 1024 * 1024, 8 * 512])
    }))
})

describe("option decoding", () => {
  it.effect.each([
    ["copy", { chunkSectors: null }, "option chunkSectors is null"],
    ["copy", { concurrency: "2" }, `option concurrency is "2"`],
    ["copy", { chunkSectors: 0 }, "option chunkSectors is 0"],
    ["compare", { chunkSectors: 1.5 }, "option chunkSectors is 1.5"],
    ["fill", { seed: Number.NaN }, "option seed is NaN"],
    ["fill", { pattern: new Int16Array(4) }, "option pattern is an Int16Array of 8 bytes"],
    ["fill", { seed: 1, start: null }, "option start is null"],
    ["stream", { sectors: -1 }, "option sectors is -1"],
    ["copy", null, "options is null"]
  ] as const)("%s with %j fails InvalidRequest naming the option", ([tool, options, named]) =>
    Effect.gen(function*() {
      const [a, b] = yield* ramdisks(2, { sizeSectors: 8 })
      const run: Effect.Effect<unknown, { readonly _tag: string; readonly message: string }> = tool === "copy" ?
        copy(a!, b!, options as never) :
        tool === "compare" ?
        compare(a!, b!, options as never) :
        tool === "fill" ?
        fill(a!, options as never) :
        Stream.runDrain(stream(a!, options as never))
      const error = yield* Effect.flip(run)
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(named)
    }))

  it.effect("a slice window or overlay option that is malformed makes every operation fail InvalidRequest naming it", () =>
    Effect.gen(function*() {
      const [a, b] = yield* ramdisks(2, { sizeSectors: 8 })
      const badSlice = slice(a!, { start: null, sectors: 4 } as never)
      expect((yield* Effect.flip(badSlice.read(0, new Uint8Array(0)))).message).toContain("window start is null")
      const badOverlay = overlay(a!, b!, { blockSectors: "8" } as never)
      expect((yield* Effect.flip(badOverlay.read(0, new Uint8Array(0)))).message).toContain(`option blockSectors is "8"`)
    }))

  it.effect("overlay(base, null) is the data-first form with a bad upper, not a function", () =>
    Effect.gen(function*() {
      const base = yield* ramdisk(8)
      const nothing: unknown = null
      const result: unknown = overlay(base, nothing as BlockDeviceShape)
      expect(typeof result).toBe("object")
      const error = yield* Effect.flip((result as BlockDeviceShape).read(0, new Uint8Array(512)))
      expect(error.message).toBe("overlay: upper null is not a block device")
      const copied = yield* Effect.flip(copy(base, nothing as BlockDeviceShape))
      expect(copied.message).toBe("copy: destination null is not a block device")
    }))
})
