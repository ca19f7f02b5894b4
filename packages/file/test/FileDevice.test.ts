/**
 * What the file device adds to the block-device contract once a file is
 * open: read-only handles, real flush/resize/discard on the file,
 * persistence across opens, interruption, the closing of the descriptor,
 * and atomicity of concurrent overlapping I/O. Opening is in
 * opening.test.ts, the options in options.test.ts, permissions in
 * permissions.test.ts, hostile input in hostile.test.ts; the generic rules
 * are checked by the conformance suite in conformance.test.ts.
 *
 * Every test works in its own temporary directory, removed when it ends.
 */
import { BlockDevice } from "@effect-block/block"
import { FileDevice, FileLive } from "@effect-block/file"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import {
  createdImage,
  filled,
  fileSize,
  imagePath,
  openFileDescriptors,
  pattern,
  readBytes,
  readFile,
  writeFile
} from "./fixtures/Images.js"

describe("FileLive: readOnly", () => {
  it.effect("reads, and refuses write, discard and resize with IsReadOnly, leaving the file unchanged", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, pattern(4096, 5))
      const device = yield* FileDevice.make({ path, readOnly: true })
      expect(yield* device.info).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 8 })
      const buffer = yield* readBytes(device, 0, 4096)
      expect(buffer).toEqual(pattern(4096, 5))
      expect((yield* Effect.flip(device.write(0, filled(512, 9))))._tag).toBe("IsReadOnly")
      expect((yield* Effect.flip(device.discard(0, 8)))._tag).toBe("IsReadOnly")
      expect((yield* Effect.flip(device.resize(16)))._tag).toBe("IsReadOnly")
      yield* device.flush
      expect(yield* readFile(path)).toEqual(pattern(4096, 5))
    }))
})

describe("read and write", () => {
  it.effect("write puts the bytes at sectorStart × sectorSize in the file, and read gets them back", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(16)
      yield* device.write(3, pattern(1024, 1))
      const file = yield* readFile(path)
      expect(file.subarray(3 * 512, 5 * 512)).toEqual(pattern(1024, 1))
      expect(file.subarray(0, 3 * 512).every((byte) => byte === 0)).toBe(true)
      const buffer = yield* readBytes(device, 3, 1024)
      expect(buffer).toEqual(pattern(1024, 1))
    }))

  it.effect("several buffers, including views with a byteOffset, map to consecutive sectors", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(16)
      const backing = pattern(4096, 2)
      const views = [backing.subarray(512, 1024), new Uint8Array(0), backing.subarray(2048, 3584)]
      yield* device.write(5, views)
      const expected = new Uint8Array(2048)
      expected.set(backing.subarray(512, 1024), 0)
      expected.set(backing.subarray(2048, 3584), 512)
      const whole = yield* readBytes(device, 5, 2048)
      expect(whole).toEqual(expected)
      const outer = new Uint8Array(4096)
      const parts = [outer.subarray(100 * 0 + 512, 1536), outer.subarray(2048, 3072)]
      yield* device.read(5, parts)
      expect(outer.subarray(512, 1536)).toEqual(expected.subarray(0, 1024))
      expect(outer.subarray(2048, 3072)).toEqual(expected.subarray(1024, 2048))
      expect(outer.subarray(0, 512).every((byte) => byte === 0)).toBe(true)
    }))

  it.effect("more buffers than one vectored call takes are all transferred", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(3000, 16)
      const source = pattern(3000 * 16, 4)
      const pieces = Array.from({ length: 3000 }, (_, i) => source.subarray(i * 16, (i + 1) * 16))
      yield* device.write(0, pieces)
      expect(yield* readFile(path)).toEqual(source)
      const target = new Uint8Array(3000 * 16)
      yield* device.read(0, Array.from({ length: 3000 }, (_, i) => target.subarray(i * 16, (i + 1) * 16)))
      expect(target).toEqual(source)
    }))

  it.effect("the caller may reuse its buffer as soon as write completes", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(4)
      const buffer = filled(512, 1)
      yield* device.write(0, buffer)
      buffer.fill(2)
      const back = yield* readBytes(device, 0, 512)
      expect(back).toEqual(filled(512, 1))
    }))

  it.effect("data persists after the layer is released and the file is opened again", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* Effect.gen(function*() {
        const device = yield* BlockDevice
        yield* device.write(7, pattern(2048, 9))
        yield* device.flush
      }).pipe(Effect.provide(FileLive({ path, create: { sizeSectors: 32 } })))
      const back = yield* Effect.gen(function*() {
        const device = yield* BlockDevice
        expect((yield* device.info).sizeSectors).toBe(32)
        return yield* readBytes(device, 7, 2048)
      }).pipe(Effect.provide(FileLive({ path })))
      expect(back).toEqual(pattern(2048, 9))
    }))

  it.effect("a file shortened by another program makes reads past its end fail IOError, not zeros", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* Effect.promise(() => Fs.truncate(path, 1024))
      const error = yield* Effect.flip(device.read(0, new Uint8Array(4096)))
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain("1024 bytes long")
    }))

  it.effect("the end-of-file error names the file's length, not the position the read reached", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* Effect.promise(() => Fs.truncate(path, 1024))
      const error = yield* Effect.flip(device.read(4, new Uint8Array(2048)))
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain("1024 bytes long")
      expect(error.message).toContain("4096 bytes")
      expect(error.message).not.toContain("2048")
    }))

  it.effect("a buffer whose byteLength lies moves its real bytes only: nothing outside it is read or written", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(16)
      yield* device.write(0, filled(16 * 512, 7))
      class Liar extends Uint8Array {
        override get byteLength() {
          return 8192
        }
      }
      const ownProperty = Object.defineProperty(filled(512, 1), "byteLength", { value: 8192 })
      const changing = new (class extends Uint8Array {
        reads = 0
        override get byteLength() {
          return this.reads++ === 0 ? 512 : 8192
        }
      })(512).fill(1)
      for (const liar of [new Liar(512).fill(1), ownProperty, changing]) {
        const exit = yield* Effect.exit(device.write(0, liar))
        if (exit._tag === "Failure") expect(String(exit.cause)).toMatch(/^Cause\(\[Fail\(InvalidRequest/)
        const file = yield* readFile(path)
        expect(file.subarray(0, 512)).toEqual(filled(512, exit._tag === "Success" ? 1 : 7))
        expect(file.subarray(512)).toEqual(filled(15 * 512, 7))
        yield* device.write(0, filled(512, 7))
        // Reading into it fills its own 512 bytes, or nothing.
        const read = yield* Effect.exit(device.read(1, liar))
        if (read._tag === "Failure") expect(String(read.cause)).toMatch(/^Cause\(\[Fail\(InvalidRequest/)
        else expect(new Uint8Array(liar.buffer, liar.byteOffset, 512)).toEqual(filled(512, 7))
      }
    }))

  it.effect("Node Buffers and plain views with an offset are real Uint8Arrays and move data", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(4)
      const buffer = Buffer.alloc(2048, 3)
      yield* device.write(0, [buffer.subarray(512, 1024), Buffer.from(filled(512, 4))])
      const back = yield* readBytes(device, 0, 1024)
      expect(back).toEqual(Uint8Array.from([...filled(512, 3), ...filled(512, 4)]))
    }))

  it.effect.prop(
    "any sequence of writes, discards and reads agrees with an in-memory model",
    [Schema.Array(Schema.Tuple([
      Schema.Literals(["write", "discard", "read"]),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 63 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))
    ])).check(Schema.isMaxLength(25))],
    ([history]) =>
      Effect.gen(function*() {
        const { device, path } = yield* createdImage(64, 64)
        const model = new Uint8Array(64 * 64)
        for (const [op, start, length, seed] of history) {
          const sectors = Math.min(length, 64 - start)
          if (op === "write") {
            const data = pattern(sectors * 64, seed)
            yield* device.write(start, data)
            model.set(data, start * 64)
          } else if (op === "discard") {
            yield* device.discard(start, sectors)
            model.fill(0, start * 64, (start + sectors) * 64)
          } else {
            const buffer = yield* readBytes(device, start, sectors * 64)
            expect(buffer).toEqual(model.subarray(start * 64, (start + sectors) * 64))
          }
        }
        expect(yield* readFile(path)).toEqual(model)
      }),
    { timeout: 60_000 }
  )
})

describe("concurrency", () => {
  it.effect("concurrent overlapping writes and reads never show half of a write", () =>
    Effect.gen(function*() {
      // 2048 buffers of 512 bytes take more than one vectored system call, so without the range lock a
      // reader running between two calls would see a torn write.
      const sectors = 2048
      const { device } = yield* createdImage(sectors)
      const writer = (byte: number) =>
        device.write(0, Array.from({ length: sectors }, () => filled(512, byte)))
      const torn: Array<string> = []
      const reader = Effect.gen(function*() {
        const buffer = new Uint8Array(sectors * 512)
        yield* device.read(0, Array.from({ length: sectors }, (_, i) => buffer.subarray(i * 512, (i + 1) * 512)))
        const first = buffer[0]!
        const other = buffer.findIndex((byte) => byte !== first)
        if (other >= 0) torn.push(`byte 0 is ${first} but byte ${other} is ${buffer[other]}`)
      })
      const work = Array.from({ length: 40 }, (_, i) => i % 2 === 0 ? writer(i + 1) : reader)
      yield* Effect.all(work, { concurrency: "unbounded", discard: true })
      expect(torn).toEqual([])
    }), { timeout: 60_000 })

  it.effect("writes to disjoint ranges from many fibers all land", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(256)
      yield* Effect.all(
        Array.from({ length: 64 }, (_, i) => device.write(i * 4, pattern(2048, i))),
        { concurrency: "unbounded", discard: true }
      )
      const file = yield* readFile(path)
      for (let i = 0; i < 64; i++) expect(file.subarray(i * 2048, (i + 1) * 2048)).toEqual(pattern(2048, i))
    }))

  it.effect("a resize waits for I/O in flight, and I/O queued behind it is checked against the new size", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(64)
      const results = yield* Effect.all([
        Effect.exit(device.write(32, filled(32 * 512, 1))),
        Effect.exit(device.resize(16)),
        Effect.exit(device.write(32, filled(32 * 512, 2)))
      ], { concurrency: "unbounded" })
      expect(Exit.isSuccess(results[0])).toBe(true)
      expect(Exit.isSuccess(results[1])).toBe(true)
      expect(results[2]._tag === "Failure" && String(results[2].cause)).toContain("InvalidRequest")
      expect(yield* fileSize(path)).toBe(16 * 512)
    }))
  it.effect("a request interrupted while it waits for its range gives the range up to those queued behind it", () =>
    Effect.gen(function*() {
      const sectors = 64 * 2048
      const { device } = yield* createdImage(sectors)
      const big = filled(sectors * 512, 1)
      const first = yield* Effect.forkChild(device.write(0, big))
      yield* Effect.yieldNow
      const waiting = yield* Effect.forkChild(device.read(0, new Uint8Array(512)))
      yield* Effect.yieldNow
      const queued = yield* Effect.forkChild(device.write(0, filled(512, 2)))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiting)
      yield* Fiber.join(first)
      yield* Fiber.join(queued)
      const back = yield* readBytes(device, 0, 1024)
      expect(back.subarray(0, 512)).toEqual(filled(512, 2))
      expect(back.subarray(512)).toEqual(filled(512, 1))
    }), { timeout: 60_000 })
})

describe("interruption", () => {
  it.live("an interrupted write that has started runs to its end: later reads see all of it, never a part", () =>
    Effect.gen(function*() {
      // 16 MiB in 2048 buffers takes several system calls, so an interruption lands between them.
      const sectors = 32768
      const { device } = yield* createdImage(sectors)
      for (const delay of [0, 1, 2, 5]) {
        const data = filled(sectors * 512, delay + 1)
        const buffers = Array.from({ length: 2048 }, (_, i) => data.subarray(i * 8192, (i + 1) * 8192))
        const fiber = yield* Effect.forkChild(device.write(0, buffers))
        yield* Effect.sleep(delay)
        yield* Fiber.interrupt(fiber)
        const back = yield* readBytes(device, 0, sectors * 512)
        const seen = new Set<number>()
        for (let sector = 0; sector < sectors; sector++) seen.add(back[sector * 512]!)
        // Old data everywhere (the write had not started) or new data everywhere.
        expect(seen.size, `after ${delay} ms the device shows the bytes ${[...seen].join(", ")}`).toBe(1)
        expect([delay, delay + 1]).toContain([...seen][0])
      }
    }), { timeout: 60_000 })
})

describe("flush", () => {
  it.effect("succeeds after writes, and the data is in the file", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* device.write(1, filled(512, 3))
      yield* device.flush
      expect((yield* readFile(path)).subarray(512, 1024)).toEqual(filled(512, 3))
    }))
})

describe("discard", () => {
  it.effect("makes the range read as zeros and leaves its neighbours alone", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* device.write(0, filled(4096, 5))
      yield* device.discard(2, 3)
      const file = yield* readFile(path)
      expect(file.subarray(0, 1024)).toEqual(filled(1024, 5))
      expect(file.subarray(1024, 2560)).toEqual(filled(1536, 0))
      expect(file.subarray(2560)).toEqual(filled(1536, 5))
    }))

  it.effect("zeros ranges larger than its one-megabyte chunk, up to the last sector", () =>
    Effect.gen(function*() {
      const sectors = 5000
      const { device, path } = yield* createdImage(sectors)
      yield* device.write(0, filled(sectors * 512, 0xff))
      yield* device.discard(1, 1)
      yield* device.discard(3, sectors - 4)
      const file = yield* readFile(path)
      expect(file[0]).toBe(0xff)
      expect(file.subarray(512, 1024).every((byte) => byte === 0)).toBe(true)
      expect(file.subarray(1024, 1536).every((byte) => byte === 0xff)).toBe(true)
      expect(file.subarray(1536, (sectors - 1) * 512).every((byte) => byte === 0)).toBe(true)
      expect(file.subarray((sectors - 1) * 512).every((byte) => byte === 0xff)).toBe(true)
    }))
})

describe("resize", () => {
  it.effect("changes the file's length; growing exposes zeros and shrinking then growing reads zeros", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* device.write(0, filled(4096, 6))
      yield* device.resize(4)
      expect(yield* fileSize(path)).toBe(2048)
      expect((yield* device.info).sizeSectors).toBe(4)
      expect((yield* Effect.flip(device.read(4, new Uint8Array(512))))._tag).toBe("InvalidRequest")
      yield* device.resize(12)
      expect(yield* fileSize(path)).toBe(6144)
      const buffer = yield* readBytes(device, 0, 6144)
      expect(buffer.subarray(0, 2048)).toEqual(filled(2048, 6))
      expect(buffer.subarray(2048).every((byte) => byte === 0)).toBe(true)
    }))

  it.effect("the new size is what the file has when it is opened again", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* Effect.scoped(Effect.flatMap(FileDevice.make({ path, create: { sizeSectors: 8 } }), (d) => d.resize(3)))
      const device = yield* FileDevice.make({ path })
      expect((yield* device.info).sizeSectors).toBe(3)
    }))
})

describe("seeks", () => {
  it.effect("report every sector as mapped", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(8)
      for (let from = 0; from <= 8; from++) {
        expect(yield* device.seekMapped(from)).toBe(from)
        expect(yield* device.seekUnmapped(from)).toBe(8)
      }
    }))
})

describe("disconnect", () => {
  it.effect("closes the file; afterwards every operation but info fails Disconnected", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(8)
      const before = yield* openFileDescriptors
      yield* device.disconnect
      yield* device.disconnect
      expect(yield* openFileDescriptors).toBe(before - 1)
      expect((yield* device.info).sizeSectors).toBe(8)
      const buffer = new Uint8Array(512)
      for (
        const operation of [
          device.read(0, buffer),
          device.write(0, buffer),
          device.flush,
          device.discard(0, 1),
          device.resize(4),
          device.seekMapped(0),
          device.seekUnmapped(0)
        ]
      ) {
        expect((yield* Effect.flip(operation))._tag).toBe("Disconnected")
      }
    }))

  it.effect("I/O racing with disconnect either completes or fails Disconnected, never IOError", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(1024)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0 ? device.write(i * 16, filled(16 * 512, i)) : device.read(i * 16, new Uint8Array(16 * 512))),
        (operation) => Effect.forkChild(Effect.exit(operation))
      )
      yield* device.disconnect
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      for (const exit of exits) {
        if (exit._tag === "Failure") expect(String(exit.cause)).toContain("Disconnected")
      }
    }))

  it.effect("releasing the layer closes the file", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const before = yield* openFileDescriptors
      const during = yield* Effect.provide(openFileDescriptors, FileLive({ path, create: { sizeSectors: 8 } }))
      expect(during).toBe(before + 1)
      expect(yield* openFileDescriptors).toBe(before)
    }))
})
