/**
 * What `BlockDevice.make` guarantees every implementation: validation before
 * the implementation runs, the read-only check, connection state, and the
 * defaults for a device that cannot flush, discard, resize or seek. The
 * implementation here is a bare flat buffer that records every call it gets.
 */
import { BlockDevice, type Info, isBlockDevice, readOnly, slice, TypeId } from "@effect-block/block"
import { type Core } from "@effect-block/block/Implementer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Arbitrary from "effect/Arbitrary"
import * as Exit from "effect/Exit"
import { ramdisk } from "./fixtures/Devices.js"
import { detachedUint8Array, HostileIndex, hostileValues, shadowedUint8Array } from "@effect-block/testing"

const makeFlat = (options: { sectorSize?: number; sizeSectors?: number; readOnly?: boolean; full?: boolean } = {}) => {
  const sectorSize = options.sectorSize ?? 512
  let sizeSectors = options.sizeSectors ?? 16
  let data = new Uint8Array(sectorSize * sizeSectors)
  const calls: Array<string> = []
  const info = (): Info => ({ readWrite: options.readOnly !== true, sectorSize, sizeSectors })
  const core: Core = {
    name: "flat",
    info: Effect.sync(info),
    read: (start, buffers) =>
      Effect.sync(() => {
        calls.push(`read ${start}`)
        let offset = start * sectorSize
        for (const buffer of buffers) {
          buffer.set(data.subarray(offset, offset + buffer.byteLength))
          offset += buffer.byteLength
        }
      }),
    write: (start, buffers) =>
      Effect.sync(() => {
        calls.push(`write ${start}`)
        let offset = start * sectorSize
        for (const buffer of buffers) {
          data.set(buffer, offset)
          offset += buffer.byteLength
        }
      }),
    ...(options.full === true ?
      {
        flush: Effect.sync(() => void calls.push("flush")),
        discard: (start: number, sectors: number) =>
          Effect.sync(() => {
            calls.push(`discard ${start} ${sectors}`)
            data.fill(0, start * sectorSize, (start + sectors) * sectorSize)
          }),
        resize: (size: number) =>
          Effect.sync(() => {
            calls.push(`resize ${size}`)
            const next = new Uint8Array(size * sectorSize)
            next.set(data.subarray(0, Math.min(data.byteLength, next.byteLength)))
            data = next
            sizeSectors = size
          }),
        disconnect: Effect.sync(() => void calls.push("disconnect"))
      } :
      {})
  }
  return { device: BlockDevice.makeUnsafe(core), calls }
}

/** Values that are not sector numbers: non-finite, too large, negative, or fractional. */
const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 1e300, -Number.MIN_VALUE]
const BadSector = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: -1000, maximum: 1000 }))).pipe(
  Arbitrary.map((n) => n < 0 ? n : n <= 1000 - specials.length ? n + 0.5 : specials[1000 - n]!)
)

describe("read", () => {
  it.effect("fills several buffers, including views with a non-zero byteOffset, from consecutive sectors", () =>
    Effect.gen(function*() {
      const { device } = makeFlat()
      const data = new Uint8Array(1024).map((_, i) => i % 251)
      yield* device.write(2, data)
      const backing = new Uint8Array(2048).fill(0xee)
      const first = backing.subarray(512, 1024)
      const second = backing.subarray(1536, 2048)
      yield* device.read(2, [first, second])
      expect(first).toEqual(data.subarray(0, 512))
      expect(second).toEqual(data.subarray(512))
      expect(backing.subarray(0, 512).every((b) => b === 0xee)).toBe(true)
    }))

  it.effect.prop("fails InvalidRequest naming any bad sectorStart, before the device sees it", [BadSector], ([bad]) =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat()
      const buffer = new Uint8Array(512).fill(3)
      const error = yield* Effect.flip(device.read(bad, buffer))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(`sectorStart ${Object.is(bad, -0) ? "-0" : String(bad)}`)
      expect(calls).toEqual([])
      expect(buffer.every((b) => b === 3)).toBe(true)
    }))

  it.effect("fails InvalidRequest for a buffer that is not whole sectors, naming its length and the sector size", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat()
      const error = yield* Effect.flip(device.read(0, [new Uint8Array(512), new Uint8Array(100)]))
      expect(error.message).toBe(
        "read: buffer 1 has 100 bytes, not a whole multiple of the 512-byte sector size"
      )
      expect(calls).toEqual([])
    }))

  it.effect("fails InvalidRequest for a range past the end, naming the range and the size", () =>
    Effect.gen(function*() {
      const { device } = makeFlat({ sizeSectors: 16 })
      const error = yield* Effect.flip(device.read(15, new Uint8Array(1024)))
      expect(error.message).toBe("read: sectors [15, 17) run past the end of the device (16 sectors)")
    }))

  it.effect("fails InvalidRequest, never throwing, for buffers that are not Uint8Arrays", () =>
    Effect.gen(function*() {
      const { device } = makeFlat()
      const notBuffers: unknown = "nope"
      const error = yield* Effect.flip(device.read(0, notBuffers as Uint8Array))
      expect(error._tag).toBe("InvalidRequest")
      const notBuffer: unknown = [new Uint8Array(512), 7]
      expect((yield* Effect.flip(device.read(0, notBuffer as Array<Uint8Array>))).message).toBe(
        "read: buffer 1 is 7, not a Uint8Array"
      )
    }))

  it.effect.prop(
    "answers any hostile buffers value with a typed result, never a defect or a throw",
    [HostileIndex],
    ([index]) =>
      Effect.gen(function*() {
        const [, make] = hostileValues[index]!
        const { device } = makeFlat()
        let exit: Exit.Exit<void, unknown> | undefined
        expect(() => {
          exit = Effect.runSyncExit(device.read(0, make() as Uint8Array))
        }).not.toThrow()
        expect(exit !== undefined && (Exit.isSuccess(exit) || exit.cause.reasons.every((r) => r._tag === "Fail"))).toBe(
          true
        )
      })
  )

  it.effect("reads and writes a Uint8Array whose own getters lie by its real length and offset", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16)
      yield* device.write(0, new Uint8Array(512 * 16).fill(7))
      const lying = shadowedUint8Array(512)
      yield* device.read(0, lying)
      expect(new Uint8Array(lying.buffer, 0, 512).every((byte) => byte === 7)).toBe(true)
      const source = shadowedUint8Array(512)
      new Uint8Array(source.buffer).fill(9)
      yield* device.write(1, source)
      const back = new Uint8Array(512 * 3)
      yield* device.read(0, back)
      expect([back[0], back[512], back[1023], back[1024]]).toEqual([7, 9, 9, 7])
    }))

  it.effect("fails InvalidRequest naming the class of a typed array that is not a Uint8Array", () =>
    Effect.gen(function*() {
      const { device } = makeFlat()
      const int16: unknown = new Int16Array(256)
      expect((yield* Effect.flip(device.read(0, int16 as Uint8Array))).message).toBe(
        "read: buffers an Int16Array of 512 bytes is neither a Uint8Array nor an array of them"
      )
      const view: unknown = [new DataView(new ArrayBuffer(512))]
      expect((yield* Effect.flip(device.read(0, view as Array<Uint8Array>))).message).toBe(
        "read: buffer 0 is a DataView of 512 bytes, not a Uint8Array"
      )
    }))

  it.effect("fails InvalidRequest for a detached buffer", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat()
      expect((yield* Effect.flip(device.read(0, detachedUint8Array(512))))._tag).toBe("InvalidRequest")
      expect(calls).toEqual([])
    }))

  it.effect("accepts an empty request at the end of the device", () =>
    Effect.gen(function*() {
      const { device } = makeFlat({ sizeSectors: 16 })
      yield* device.read(16, [])
      yield* device.read(16, new Uint8Array(0))
    }))
})

describe("write", () => {
  it.effect("fails IsReadOnly on a read-only device before validating, and writes nothing", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat({ readOnly: true })
      expect((yield* Effect.flip(device.write(0, new Uint8Array(512))))._tag).toBe("IsReadOnly")
      expect((yield* Effect.flip(device.write(Number.NaN, new Uint8Array(3))))._tag).toBe("IsReadOnly")
      expect(calls).toEqual([])
    }))

  it.effect.prop("fails InvalidRequest for any bad sectorStart, writing nothing", [BadSector], ([bad]) =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat()
      expect((yield* Effect.flip(device.write(bad, new Uint8Array(512))))._tag).toBe("InvalidRequest")
      expect(calls).toEqual([])
    }))
})

describe("flush", () => {
  it.effect("succeeds with nothing to do when the device has no flush, even on a read-only handle", () =>
    Effect.gen(function*() {
      yield* makeFlat().device.flush
      yield* makeFlat({ readOnly: true }).device.flush
    }))
})

describe("discard", () => {
  it.effect("fails Unimplemented when the device cannot discard", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeFlat().device.discard(0, 1))
      expect(error._tag).toBe("Unimplemented")
      expect(error.message).toBe("discard on flat: the device does not support it")
    }))

  it.effect("validates the range before the device sees it", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat({ full: true, sizeSectors: 16 })
      expect((yield* Effect.flip(device.discard(10, 7))).message).toBe(
        "discard: sectors [10, 17) run past the end of the device (16 sectors)"
      )
      expect((yield* Effect.flip(device.discard(0, -2))).message).toContain("sectors -2")
      yield* device.discard(10, 6)
      expect(calls).toEqual(["discard 10 6"])
    }))
})

describe("resize", () => {
  it.effect("fails Unimplemented when the device cannot resize", () =>
    Effect.gen(function*() {
      expect((yield* Effect.flip(makeFlat().device.resize(4)))._tag).toBe("Unimplemented")
    }))

  it.effect("fails InvalidRequest for sizes that are not sector numbers or overflow exact byte offsets", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat({ full: true, sectorSize: 4096 })
      expect((yield* Effect.flip(device.resize(-1))).message).toContain("sizeSectors -1")
      expect((yield* Effect.flip(device.resize(2 ** 50))).message).toContain(
        `exceeds ${Number.MAX_SAFE_INTEGER} bytes`
      )
      expect(calls).toEqual([])
    }))
})

describe("seekMapped and seekUnmapped", () => {
  it.effect("report everything mapped for a device that cannot seek", () =>
    Effect.gen(function*() {
      const { device } = makeFlat({ sizeSectors: 16 })
      expect(yield* device.seekMapped(5)).toBe(5)
      expect(yield* device.seekUnmapped(5)).toBe(16)
      expect(yield* device.seekMapped(16)).toBe(16)
    }))

  it.effect("fail InvalidRequest for a start past the end, naming it and the size", () =>
    Effect.gen(function*() {
      const { device } = makeFlat({ sizeSectors: 16 })
      expect((yield* Effect.flip(device.seekMapped(17))).message).toBe(
        "seekMapped: from 17 is past the end of the device (16 sectors)"
      )
      expect((yield* Effect.flip(device.seekUnmapped(Number.NaN))).message).toContain("from NaN")
    }))
})

describe("disconnect", () => {
  it.effect("is idempotent, releases the implementation once, and leaves info working", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat({ full: true })
      yield* device.disconnect
      yield* device.disconnect
      expect(calls).toEqual(["disconnect"])
      expect((yield* device.info).sizeSectors).toBe(16)
    }))

  it.effect("makes every other operation fail Disconnected without reaching the implementation", () =>
    Effect.gen(function*() {
      const { calls, device } = makeFlat({ full: true })
      yield* device.disconnect
      const buffer = new Uint8Array(512)
      const errors = [
        yield* Effect.flip(device.read(0, buffer)),
        yield* Effect.flip(device.write(0, buffer)),
        yield* Effect.flip(device.flush),
        yield* Effect.flip(device.discard(0, 1)),
        yield* Effect.flip(device.resize(1)),
        yield* Effect.flip(device.seekMapped(0)),
        yield* Effect.flip(device.seekUnmapped(0))
      ]
      expect(errors.map((e) => e._tag)).toEqual(Array(7).fill("Disconnected"))
      expect(calls).toEqual(["disconnect"])
    }))
})

describe("isConnected", () => {
  it.effect("is true until the handle disconnects", () =>
    Effect.gen(function*() {
      const { device } = makeFlat()
      expect(yield* device.isConnected).toBe(true)
      yield* device.disconnect
      expect(yield* device.isConnected).toBe(false)
    }))

  it.effect("of a wrapper (Core.wraps) is false while a device beneath it is disconnected", () =>
    Effect.gen(function*() {
      const { device: inner } = makeFlat()
      const { calls, device: flat } = makeFlat()
      const wrapper = BlockDevice.makeUnsafe({
        name: "wrapper",
        info: inner.info,
        wraps: [inner],
        read: (start, buffers) => flat.read(start, buffers),
        write: (start, buffers) => flat.write(start, buffers)
      })
      expect(yield* wrapper.isConnected).toBe(true)
      yield* inner.disconnect
      expect(yield* wrapper.isConnected).toBe(false)
      const error = yield* Effect.flip(wrapper.write(0, new Uint8Array(512)))
      expect(error._tag).toBe("Disconnected")
      expect(error.message).toBe("write on wrapper: the device beneath it is disconnected or destroyed")
      expect(calls).toEqual([])
    }))
})

describe("isBlockDevice", () => {
  it("is true for a device built by make, and for a copy of one", () => {
    const { device } = makeFlat()
    expect(device[TypeId]).toBe(TypeId)
    expect(isBlockDevice(device)).toBe(true)
    expect(isBlockDevice({ ...device })).toBe(true)
  })

  it.prop("is false, never throwing, for hostile values and look-alikes", [HostileIndex], ([index]) => {
    const [, make] = hostileValues[index]!
    expect(isBlockDevice(make())).toBe(false)
    expect(isBlockDevice({ read: () => undefined, seekMapped: () => undefined })).toBe(false)
  })
})

describe("pipe", () => {
  it.effect("applies data-last wrappers left to right: device.pipe(slice(window), readOnly)", () =>
    Effect.gen(function*() {
      const { device } = makeFlat({ sizeSectors: 16 })
      yield* device.write(4, new Uint8Array(512).fill(9))
      const view = device.pipe(slice({ start: 4, sectors: 8 }), readOnly)
      expect(yield* view.info).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 8 })
      const buffer = new Uint8Array(512)
      yield* view.read(0, buffer)
      expect(buffer[0]).toBe(9)
      expect((yield* Effect.flip(view.write(0, buffer)))._tag).toBe("IsReadOnly")
    }))
})
