/**
 * The streams' contract: `stream` (a device's bytes as an Effect `Stream`)
 * and `sink` (a byte stream written to consecutive sectors), one `it` per
 * rule. A failing property prints a `Replay:` token to rerun exactly that
 * case (pass it as `{ arbitrary: { replay } }` in the test's options).
 */
import { compare, fill, readOnly, sink, stream } from "@effect-block/block"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { makeRegistry } from "@effect-block/ramdisk"
import {
  applyModelled,
  expectFilled,
  failing,
  History,
  historySectors,
  intBetween,
  ramdisk,
  ramdisks,
  readAll
} from "./fixtures/Devices.js"

/** Splits `bytes` into chunks of the given lengths (cycling through them), as an upstream would deliver them. */
const chunked = (bytes: Uint8Array, lengths: ReadonlyArray<number>): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  let offset = 0
  let i = 0
  while (offset < bytes.length) {
    const n = Math.min(lengths[i++ % lengths.length]!, bytes.length - offset)
    chunks.push(bytes.subarray(offset, offset + n))
    offset += n
  }
  return chunks
}

const seeded = (length: number, seed: number) => {
  const bytes = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

describe("stream", () => {
  it.effect.prop(
    "emits the bytes of the range in order, in chunks of at most chunkSectors",
    { history: History, start: intBetween(0, historySectors), length: intBetween(0, historySectors), chunkSectors: intBetween(1, 20) },
    ({ chunkSectors, history, length, start }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(historySectors)
        const model = yield* applyModelled(device, history)
        const sectors = Math.min(length, historySectors - start)
        const chunks = yield* Stream.runCollect(stream(device, { start, sectors, chunkSectors }))
        for (const chunk of chunks) {
          expect(chunk.length).toBeGreaterThan(0)
          expect(chunk.length).toBeLessThanOrEqual(chunkSectors * 512)
        }
        const bytes = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0))
        let offset = 0
        for (const chunk of chunks) {
          bytes.set(chunk, offset)
          offset += chunk.length
        }
        expect(bytes).toEqual(model.subarray(start * 512, (start + sectors) * 512))
      })
  )

  it.effect("streams the whole device by default", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(2048)
      yield* fill(device, { seed: 8 })
      const chunks = yield* Stream.runCollect(stream(device))
      // Default chunks are 1 MiB: 2048 sectors of 512 bytes make one.
      expect(chunks.length).toBe(1)
      expect(chunks[0]).toEqual(yield* readAll(device))
    }))

  it.effect("gives every chunk its own buffer", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      yield* fill(device, { pattern: new Uint8Array([3]) })
      const chunks = yield* Stream.runCollect(stream(device, { chunkSectors: 1 }))
      chunks[0]!.fill(0)
      expect(chunks[1]![0]).toBe(3)
      expect(new Set(chunks.map((chunk) => chunk.buffer)).size).toBe(4)
    }))

  it.effect("is empty for an empty range", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      expect(yield* Stream.runCollect(stream(device, { start: 8 }))).toEqual([])
      expect(yield* Stream.runCollect(stream(device, { start: 3, sectors: 0 }))).toEqual([])
    }))

  it.effect("fails InvalidRequest for a range outside the device or a bad chunkSectors", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      for (const options of [{ start: 9 }, { start: 4, sectors: 5 }, { start: -1 }, { chunkSectors: 0 }, { sectors: 0.5 }]) {
        const error = yield* Effect.flip(Stream.runCollect(stream(device, options)))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toMatch(/^stream: /)
      }
    }))

  it.effect("fails with the device's error, after the chunks before it", () =>
    Effect.gen(function*() {
      const device = failing(yield* ramdisk(8), { reads: true, from: 4 })
      const seen: Array<number> = []
      const error = yield* Effect.flip(
        Stream.runForEach(stream(device, { chunkSectors: 2 }), (chunk) => Effect.sync(() => seen.push(chunk.length)))
      )
      expect(error._tag).toBe("IOError")
      expect(seen).toEqual([1024, 1024])
    }))
})

describe("sink", () => {
  it.effect.prop(
    "writes a byte stream of any chunking to consecutive sectors and returns the sectors written",
    {
      lengths: Schema.Array(intBetween(1, 3000)).check(Schema.isMinLength(1)),
      start: intBetween(0, 16),
      sectors: intBetween(0, historySectors - 16)
    },
    ({ lengths, sectors, start }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(historySectors)
        const data = seeded(sectors * 512, sectors + start)
        const written = yield* Stream.run(Stream.fromIterable(chunked(data, lengths)), sink(device, start))
        expect(written).toBe(sectors)
        const bytes = yield* readAll(device)
        expect(bytes.subarray(start * 512, (start + sectors) * 512)).toEqual(data)
        expectFilled(bytes.subarray(0, start * 512), 0)
        expectFilled(bytes.subarray((start + sectors) * 512), 0)
      })
  )

  it.effect("writes chunks larger than its staging buffer straight through", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4096)
      const data = seeded(4096 * 512, 1)
      const written = yield* Stream.run(Stream.fromIterable(chunked(data, [100, 1536 * 1024 + 17])), sink(device))
      expect(written).toBe(4096)
      const bytes = yield* readAll(device)
      // Byte by byte: toEqual on megabytes is slow.
      expect(bytes.findIndex((byte, i) => byte !== data[i])).toBe(-1)
    }))

  it.effect("fails InvalidRequest before writing the chunk that runs past the end, keeping what came before", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      const error = yield* Effect.flip(
        Stream.run(Stream.make(new Uint8Array(1024).fill(1), new Uint8Array(1024).fill(2), new Uint8Array(512).fill(3)), sink(device, 0))
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toMatch(/runs past the end of the device/)
      const bytes = yield* readAll(device)
      expectFilled(bytes.subarray(0, 1024), 1)
      expectFilled(bytes.subarray(1024), 2)
    }))

  it.effect("writes every whole sector it staged before a chunk that runs past the end", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      const chunks = [new Uint8Array(256).fill(1), new Uint8Array(256).fill(2), new Uint8Array(2048).fill(3)]
      const error = yield* Effect.flip(Stream.run(Stream.fromIterable(chunks), sink(device, 0)))
      expect(error._tag).toBe("InvalidRequest")
      const bytes = yield* readAll(device)
      expectFilled(bytes.subarray(0, 256), 1)
      expectFilled(bytes.subarray(256, 512), 2)
      expectFilled(bytes.subarray(512), 0)
    }))

  it.effect("fails InvalidRequest for a chunk that is not a Uint8Array, after writing the whole sectors before it", () =>
    Effect.gen(function*() {
      for (const bad of [new Int16Array(256), new DataView(new ArrayBuffer(512)), "a string", 42, null, Object.create(Uint8Array.prototype)]) {
        const device = yield* ramdisk(4)
        const chunks: Array<unknown> = [new Uint8Array(512).fill(1), new Uint8Array(100).fill(2), new Uint8Array(412).fill(2), bad]
        const error = yield* Effect.flip(Stream.run(Stream.fromIterable(chunks as Array<Uint8Array>), sink(device, 0)))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toMatch(/^sink: chunk 3 is .*, not a Uint8Array/)
        const bytes = yield* readAll(device)
        expectFilled(bytes.subarray(0, 512), 1)
        expectFilled(bytes.subarray(512, 1024), 2)
        expectFilled(bytes.subarray(1024), 0)
      }
    }))

  it.effect("caps its chunks at 64 MiB whatever chunkSectors asks, on a 1 PiB device", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry
      const device = yield* registry.connect({ name: "huge", sizeSectors: 2 ** 50 / 512 })
      const [first] = yield* Stream.runCollect(Stream.take(stream(device, { chunkSectors: 2 ** 40 }), 1))
      expect(first!.byteLength).toBe(64 * 1024 * 1024)
    }))

  it.effect("fails InvalidRequest for a trailing partial sector, after writing every whole sector", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      const error = yield* Effect.flip(Stream.run(Stream.make(new Uint8Array(700).fill(9)), sink(device, 1)))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toMatch(/ended with 188 bytes, not a whole 512-byte sector/)
      const bytes = yield* readAll(device)
      expectFilled(bytes.subarray(512, 1024), 9)
      expectFilled(bytes.subarray(1024), 0)
    }))

  it.effect("fails InvalidRequest, writing nothing, for a bad start", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      for (const start of [5, -1, 0.5]) {
        const error = yield* Effect.flip(Stream.run(Stream.make(new Uint8Array(512)), sink(device, start)))
        expect(error._tag).toBe("InvalidRequest")
      }
    }))

  it.effect("writes nothing and returns 0 for an empty stream", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      expect(yield* Stream.run(Stream.empty, sink(device, 4))).toBe(0)
    }))

  it.effect("fails with the device's error", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4)
      const error = yield* Effect.flip(Stream.run(Stream.make(new Uint8Array(512)), sink(readOnly(device))))
      expect(error._tag).toBe("IsReadOnly")
    }))

  it.effect("copies one device to another with stream", () =>
    Effect.gen(function*() {
      const [src, dst] = yield* ramdisks(2, { sizeSectors: 300 })
      yield* fill(src!, { seed: "copy" })
      expect(yield* Stream.run(stream(src!, { chunkSectors: 7 }), sink(dst!))).toBe(300)
      expect(yield* compare(src!, dst!)).toBe(0)
    }))
})
