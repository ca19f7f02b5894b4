/**
 * The fault injector's contract: what each option does to the call and to
 * the data, that the ledger says exactly what was injected, that the clean
 * data is never damaged by a read, and that one seed replays everything.
 * The wrapped device is always a fresh ramdisk, whose `Ramdisk` service stays
 * available beneath the injector for reading the clean data.
 */
import { BlockDevice, type BlockDeviceShape, IOError } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import {
  type FaultInjectorOptions,
  faultInjector,
  FaultInjector,
  FaultInjectorLive,
  type FaultRecord
} from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"

const sectorSize = 512
const sizeSectors = 1024

const ramdisk = () => RamdiskLive({ name: "t", sizeSectors }).pipe(Layer.provide(RegistryLive))

/** A faulty device over a fresh ramdisk; `Ramdisk` still reads the clean data beneath. */
const faulty = (options?: FaultInjectorOptions) => FaultInjectorLive(options).pipe(Layer.provideMerge(ramdisk()))

/** `sectors` sectors, each byte derived from the fill and its sector, so misplaced sectors show. */
const pattern = (sectors: number, fill: number) => {
  const buffer = new Uint8Array(sectors * sectorSize)
  for (let i = 0; i < buffer.length; i++) buffer[i] = (fill + Math.floor(i / sectorSize) * 7 + i) & 0xff
  return buffer
}

/** Sectors `[sectorStart, sectorStart + sectors)` of `device`, read into a fresh buffer. */
const readFrom = (device: BlockDeviceShape, sectorStart: number, sectors: number) =>
  Effect.suspend(() => {
    const buffer = new Uint8Array(sectors * sectorSize)
    return Effect.as(device.read(sectorStart, buffer), buffer)
  })

/** What the device beneath holds: the data without any injected read fault. */
const cleanRead = (sectorStart: number, sectors: number) =>
  Effect.flatMap(Ramdisk, (disk) => readFrom(disk, sectorStart, sectors))

/** What a caller of the faulty device gets back. */
const faultyRead = (sectorStart: number, sectors: number) =>
  Effect.flatMap(BlockDevice, (device) => readFrom(device, sectorStart, sectors))

/** Writes `pattern` everywhere through the clean device, so every sector holds something recognisable. */
const fillClean = (fill: number) => Effect.flatMap(Ramdisk, (disk) => disk.write(0, pattern(sizeSectors, fill)))

/** Fills the clean device (see {@link fillClean}) and returns its whole image. */
const fillCleanImage = (fill: number) => Effect.andThen(fillClean(fill), cleanRead(0, sizeSectors))

/**
 * The first byte offset where two buffers differ (-1 if none). Comparing
 * whole-device images with `toEqual` is slow; this keeps the failure
 * message short and to the point.
 */
const firstDifference = (a: Uint8Array, b: Uint8Array) => {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  return -1
}

/** Fails unless the whole clean device holds `before` with `data` laid over it from sector `sectorStart`. */
const expectCleanImage = (before: Uint8Array, data: Uint8Array, sectorStart: number) =>
  Effect.gen(function*() {
    const expected = before.slice()
    expected.set(data, sectorStart * sectorSize)
    expect(firstDifference(yield* cleanRead(0, sizeSectors), expected)).toBe(-1)
  })

const countBitsDiffering = (a: Uint8Array, b: Uint8Array) => {
  let bits = 0
  for (let i = 0; i < a.length; i++) {
    let x = (a[i] ?? 0) ^ (b[i] ?? 0)
    while (x !== 0) {
      bits += x & 1
      x >>>= 1
    }
  }
  return bits
}

const Seed = Schema.Int.check(Schema.isBetween({ minimum: -1_000_000, maximum: 1_000_000 }))
const Sector = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: sizeSectors - 1 }))
const Length = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 }))
/** A seed and a range on the device; the range's start goes through {@link fitted} before use. */
const RandomRange = { seed: Seed, start: Sector, length: Length }

/** `wanted` moved back, if need be, so that `length` sectors from it fit on the device. */
const fitted = (wanted: number, length: number) => Math.min(wanted, sizeSectors - length)

const Rate = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** A mixed workload run through the faulty device: every call's outcome, the ledger, and the clean data after. */
const workload = Effect.gen(function*() {
  const device = yield* BlockDevice
  const injector = yield* FaultInjector
  const outcomes: Array<string> = []
  for (let i = 0; i < 60; i++) {
    const start = (i * 37) % (sizeSectors - 8)
    const exit = i % 3 === 0 ?
      yield* Effect.exit(device.write(start, pattern(1 + (i % 8), i))) :
      i % 3 === 1 ?
      yield* Effect.exit(device.read(start, new Uint8Array((1 + (i % 8)) * sectorSize))) :
      yield* Effect.exit(device.flush)
    outcomes.push(Exit.isSuccess(exit) ? "ok" : String(exit.cause))
  }
  return { outcomes, ledger: yield* injector.ledger, data: yield* cleanRead(0, sizeSectors) }
})

const allFaults: FaultInjectorOptions = {
  readErrorRate: 0.2,
  writeErrorRate: 0.2,
  flushErrorRate: 0.3,
  readCorruptionRate: 0.3,
  misdirectedWriteRate: 0.2,
  badSectors: [{ start: 300, sectors: 10 }]
}

describe("FaultInjectorLive", () => {
  it.effect("with no options, is a transparent pass-through that records nothing", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      yield* device.write(10, pattern(4, 1))
      yield* device.flush
      expect(yield* faultyRead(10, 4)).toEqual(pattern(4, 1))
      expect(yield* cleanRead(10, 4)).toEqual(pattern(4, 1))
      yield* device.discard(10, 2)
      expect(yield* faultyRead(10, 2)).toEqual(new Uint8Array(2 * sectorSize))
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty())))

  it.effect("provides the faulty BlockDevice in place of the one beneath", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(faultyRead(0, 1))
      expect(error._tag).toBe("IOError")
      expect(yield* cleanRead(0, 1)).toEqual(new Uint8Array(sectorSize))
    }).pipe(Effect.provide(faulty({ readErrorRate: 1 }))))

  it.effect("checks requests before injecting: an invalid one fails InvalidRequest and is not faulted", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      expect((yield* Effect.flip(device.read(1.5, new Uint8Array(sectorSize))))._tag).toBe("InvalidRequest")
      expect((yield* Effect.flip(device.write(sizeSectors, new Uint8Array(sectorSize))))._tag).toBe("InvalidRequest")
      expect((yield* Effect.flip(device.read(0, new Uint8Array(3))))._tag).toBe("InvalidRequest")
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty({ readErrorRate: 1, writeErrorRate: 1 }))))

  it.effect("disconnecting the faulty device disconnects the injector only: the device beneath stays connected", () =>
    Effect.gen(function*() {
      yield* (yield* BlockDevice).disconnect
      expect((yield* Effect.flip(faultyRead(0, 1)))._tag).toBe("Disconnected")
      yield* Effect.flatMap(Ramdisk, (disk) => disk.write(0, pattern(1, 3)))
      expect(yield* cleanRead(0, 1)).toEqual(pattern(1, 3))
    }).pipe(Effect.provide(faulty())))

  /** Every fault at its most likely, so that any operation that reached the injector's dice would be faulted. */
  const everyFault: FaultInjectorOptions = {
    readErrorRate: 1,
    writeErrorRate: 1,
    flushErrorRate: 1,
    badSectors: [{ start: 0, sectors: 4 }]
  }

  /** Every operation, each of which must fail Disconnected; and the ledger, which must stay empty. */
  const everyOperationFailsDisconnected = (loseTheDevice: Effect.Effect<void, never, Ramdisk | Registry>) =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      yield* loseTheDevice
      const calls = [
        device.read(0, new Uint8Array(sectorSize)),
        device.read(sizeSectors - 1, new Uint8Array(sectorSize)),
        device.write(0, pattern(1, 1)),
        device.write(sizeSectors - 1, pattern(1, 1)),
        device.flush,
        device.discard(0, 1),
        device.resize(32),
        device.seekMapped(0),
        device.seekUnmapped(0)
      ]
      for (const call of calls) expect((yield* Effect.flip(call))._tag).toBe("Disconnected")
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(FaultInjectorLive(everyFault).pipe(
      Layer.provideMerge(RamdiskLive({ name: "t", sizeSectors }).pipe(Layer.provideMerge(RegistryLive)))
    )))

  it.effect("over a destroyed device, every operation fails Disconnected and nothing is injected or recorded", () =>
    everyOperationFailsDisconnected(Effect.flatMap(Registry, (registry) => registry.destroy("t"))))

  it.effect("over a disconnected device, every operation fails Disconnected and nothing is injected or recorded", () =>
    everyOperationFailsDisconnected(Effect.flatMap(Ramdisk, (disk) => disk.disconnect)))
})

describe("options", () => {
  const invalidCases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a negative rate", { readErrorRate: -0.1 }, "option readErrorRate -0.1 is invalid: expected a value between 0 and 1"],
    ["a rate above 1", { writeErrorRate: 1.5 }, "option writeErrorRate 1.5 is invalid: expected a value between 0 and 1"],
    ["a NaN rate", { flushErrorRate: NaN }, "option flushErrorRate NaN is invalid"],
    ["an infinite rate", { readCorruptionRate: Infinity }, "option readCorruptionRate Infinity is invalid"],
    ["a rate that is a string", { misdirectedWriteRate: "0.5" }, "option misdirectedWriteRate \"0.5\" is invalid: expected number"],
    ["a null rate", { readErrorRate: null }, "option readErrorRate null is invalid: expected number"],
    ["a fractional seed", { seed: 1.5 }, "option seed 1.5 is invalid: expected an integer"],
    ["an unsafe seed", { seed: 2 ** 60 }, `option seed ${2 ** 60} is invalid: expected an integer`],
    ["a string seed", { seed: "abc" }, "option seed \"abc\" is invalid: expected number"],
    ["a NaN seed", { seed: NaN }, "option seed NaN is invalid"],
    ["options that are not an object", 7, "options 7 is invalid: expected object"],
    ["null options", null, "options null is invalid: expected object"],
    ["an unknown option", { readErrorRat: 0.5 }, "readErrorRat is not an option"],
    ["an enabled that is not a boolean", { enabled: 1 }, "option enabled 1 is invalid: expected boolean"],
    ["badSectors that is not an array", { badSectors: 3 }, "option badSectors 3 is invalid: expected array"],
    ["a bad range that is not an object", { badSectors: [5] }, "option badSectors[0] 5 is invalid: expected object"],
    ["a bad range with a negative start", { badSectors: [{ start: -1, sectors: 1 }] }, "option badSectors[0].start -1 is invalid"],
    ["a bad range with a fractional length", { badSectors: [{ start: 0, sectors: 1.5 }] }, "option badSectors[0].sectors 1.5"],
    [
      "a bad range past the end",
      { badSectors: [{ start: 0, sectors: 1 }, { start: 1020, sectors: 5 }] },
      "badSectors[1]: sectors [1020, 1025) run past the end of the device (1024 sectors)"
    ],
    ["a negative latency", { latency: { read: -1 } }, "option latency.read -1 is invalid: expected a finite, non-negative duration"],
    ["a NaN latency", { latency: { write: NaN } }, "option latency.write NaN is invalid"],
    ["an infinite latency", { latency: { flush: "Infinity" } }, "option latency.flush \"Infinity\" is invalid"],
    ["an unreadable latency", { latency: { read: "soon" } }, "option latency.read \"soon\" is invalid"],
    ["a latency that is an empty object", { latency: { read: {} } }, "option latency.read an object is invalid"],
    ["latency that is not an object", { latency: 5 }, "option latency 5 is invalid: expected object"],
    ["an unknown latency", { latency: { discard: 5 } }, "latency.discard is not an option"],
    [
      "options whose getter throws",
      { get seed() { throw new Error("boom") } },
      "reading the options threw"
    ],
    ["a revoked Proxy", (() => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy })(), "reading the options threw"]
  ]

  it.effect.each(invalidCases)("fail the layer with InvalidRequest naming the bad value: %s", ([, options, message]) =>
    Effect.gen(function*() {
      // Options are typed, but the layer must also survive whatever untyped JavaScript passes it.
      const exit = yield* Effect.exit(Layer.build(faulty(options as FaultInjectorOptions)).pipe(Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons[0]
        expect(error?._tag).toBe("Fail")
        if (error?._tag === "Fail") {
          expect(error.error._tag).toBe("InvalidRequest")
          expect(error.error.message).toContain(message)
        }
      }
    }))

  it.effect.prop("accept every rate from 0 to 1", { rate: Rate }, ({ rate }) =>
    Effect.gen(function*() {
      const injector = yield* FaultInjector
      expect(yield* injector.enabled).toBe(true)
    }).pipe(Effect.provide(faulty({
      readErrorRate: rate,
      writeErrorRate: rate,
      flushErrorRate: rate,
      readCorruptionRate: rate,
      misdirectedWriteRate: rate
    }))))

  it.effect.prop(
    "refuse every rate outside 0 to 1",
    { rate: Schema.Union([Schema.Number.check(Schema.isLessThan(0)), Schema.Number.check(Schema.isGreaterThan(1))]) },
    ({ rate }) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Layer.build(faulty({ readErrorRate: rate })).pipe(Effect.scoped))
        expect(error._tag).toBe("InvalidRequest")
      })
  )

  it.effect("accept latencies in any Duration input form", () =>
    Effect.gen(function*() {
      expect(yield* (yield* FaultInjector).enabled).toBe(true)
    }).pipe(Effect.provide(faulty({ latency: { read: 0, write: "5 millis", flush: Duration.seconds(1) } }))))
})

describe("seed", () => {
  it.effect.prop("the same seed and the same operations give the same faults, ledger and data", { seed: Seed }, ({ seed }) =>
    Effect.gen(function*() {
      const first = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed })))
      const second = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed })))
      expect(first.ledger.length).toBeGreaterThan(0)
      expect(second.outcomes).toEqual(first.outcomes)
      expect(second.ledger).toEqual(first.ledger)
      expect(firstDifference(second.data, first.data)).toBe(-1)
    }))

  it.effect.each([[-1, 4294967295], [0, 2 ** 32], [-(2 ** 32), 0], [1, -(2 ** 53 - 1)]])(
    "seeds that share their low 32 bits still give different faults: %s",
    ([a, b]) =>
      Effect.gen(function*() {
        const first = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed: a })))
        const second = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed: b })))
        expect(second.ledger).not.toEqual(first.ledger)
      })
  )

  it.effect("different seeds give different faults", () =>
    Effect.gen(function*() {
      const first = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed: 1 })))
      const second = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed: 2 })))
      expect(second.ledger).not.toEqual(first.ledger)
    }))

  it.effect("defaults to 0, reported by the injector", () =>
    Effect.gen(function*() {
      const unseeded = yield* workload.pipe(Effect.provide(faulty(allFaults)))
      const zero = yield* workload.pipe(Effect.provide(faulty({ ...allFaults, seed: 0 })))
      expect(unseeded.ledger).toEqual(zero.ledger)
      expect((yield* FaultInjector.pipe(Effect.provide(faulty()))).seed).toBe(0)
      expect((yield* FaultInjector.pipe(Effect.provide(faulty({ seed: 99 })))).seed).toBe(99)
    }))

  it.effect("a fault depends on the operation's number, not on the options or the calls before it", () =>
    Effect.gen(function*() {
      // Reads 0..99 with only read errors, then the same with corruption and misdirection on too.
      const failing = (options: FaultInjectorOptions) =>
        Effect.gen(function*() {
          for (let i = 0; i < 100; i++) yield* Effect.exit(faultyRead(i, 1))
          const ledger = yield* (yield* FaultInjector).ledger
          return ledger.filter((fault) => fault.kind === "readError").map((fault) => fault.operationIndex)
        }).pipe(Effect.provide(faulty(options)))
      const alone = yield* failing({ seed: 5, readErrorRate: 0.3 })
      const mixed = yield* failing({ seed: 5, readErrorRate: 0.3, readCorruptionRate: 0.9, misdirectedWriteRate: 1 })
      expect(alone.length).toBeGreaterThan(0)
      expect(mixed).toEqual(alone)
    }))
})

describe("read", () => {
  it.effect("never fails at readErrorRate 0", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 300; i++) yield* faultyRead(i, 1)
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty({ seed: 3, readErrorRate: 0 }))))

  it.effect("always fails IOError at readErrorRate 1, saying the error was injected", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) {
        const error = yield* Effect.flip(faultyRead(i, 2))
        expect(error).toBeInstanceOf(IOError)
        expect(error.message).toContain("injected")
        expect(error.message).toContain(`[${i}, ${i + 2})`)
      }
      const ledger = yield* (yield* FaultInjector).ledger
      expect(ledger).toHaveLength(50)
      expect(ledger[7]).toEqual({ operation: "read", kind: "readError", sectorStart: 7, sectors: 2, operationIndex: 7 })
    }).pipe(Effect.provide(faulty({ seed: 3, readErrorRate: 1 }))))

  it.effect("fails about as often as readErrorRate says", () =>
    Effect.gen(function*() {
      let failures = 0
      for (let i = 0; i < 2000; i++) {
        if (Exit.isFailure(yield* Effect.exit(faultyRead(i % sizeSectors, 1)))) failures++
      }
      expect(failures).toBeGreaterThan(500)
      expect(failures).toBeLessThan(700)
      expect(yield* (yield* FaultInjector).ledger).toHaveLength(failures)
    }).pipe(Effect.provide(faulty({ seed: 11, readErrorRate: 0.3 }))))

  it.effect("a failed read leaves the caller's buffers untouched", () =>
    Effect.gen(function*() {
      yield* fillClean(1)
      const buffer = new Uint8Array(4 * sectorSize).fill(0xee)
      yield* Effect.flip((yield* BlockDevice).read(0, [buffer.subarray(0, sectorSize), buffer.subarray(sectorSize)]))
      expect(buffer.every((byte) => byte === 0xee)).toBe(true)
    }).pipe(Effect.provide(faulty({ readErrorRate: 1 }))))
})

describe("write", () => {
  it.effect("never fails at writeErrorRate 0", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      for (let i = 0; i < 300; i++) yield* device.write(i, pattern(1, i))
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
      expect(yield* cleanRead(299, 1)).toEqual(pattern(1, 299))
    }).pipe(Effect.provide(faulty({ seed: 3, writeErrorRate: 0 }))))

  it.effect.prop(
    "at writeErrorRate 1 fails IOError, having applied exactly the recorded prefix of sectors",
    RandomRange,
    ({ length, seed, start: wanted }) =>
      Effect.gen(function*() {
        const start = fitted(wanted, length)
        const before = yield* fillCleanImage(1)
        const data = pattern(length, 200)
        const error = yield* Effect.flip((yield* BlockDevice).write(start, data))
        expect(error._tag).toBe("IOError")
        expect(error.message).toContain("injected")
        const ledger = yield* (yield* FaultInjector).ledger
        expect(ledger).toHaveLength(1)
        const fault = ledger[0]
        if (fault?.kind !== "writeError") return expect.fail(`expected a writeError, got ${JSON.stringify(fault)}`)
        expect(fault).toMatchObject({ operation: "write", sectorStart: start, sectors: length })
        expect(fault.appliedSectors).toBeGreaterThanOrEqual(0)
        expect(fault.appliedSectors).toBeLessThanOrEqual(length)
        yield* expectCleanImage(before, data.subarray(0, fault.appliedSectors * sectorSize), start)
      }).pipe(Effect.provide(faulty({ seed, writeErrorRate: 1 })))
  )

  it.effect("a failed write applies anything from none to all of its sectors", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      for (let i = 0; i < 200; i++) yield* Effect.exit(device.write(i, pattern(4, i)))
      const applied = new Set((yield* (yield* FaultInjector).ledger).map((fault) =>
        fault.kind === "writeError" ? fault.appliedSectors : -1
      ))
      expect([...applied].sort()).toEqual([0, 1, 2, 3, 4])
    }).pipe(Effect.provide(faulty({ seed: 8, writeErrorRate: 1 }))))
})

describe("flush", () => {
  /** A ramdisk-backed device that counts the flushes reaching it. */
  const counting = Effect.gen(function*() {
    const disk = yield* Ramdisk
    let flushes = 0
    const device: BlockDeviceShape = {
      ...disk,
      flush: Effect.andThen(
        Effect.sync(() => {
          flushes++
        }),
        disk.flush
      )
    }
    return { device, flushes: () => flushes }
  })

  it.effect("never fails at flushErrorRate 0", () =>
    Effect.gen(function*() {
      const { device, flushes } = yield* counting
      const { device: faultyDevice, injector } = yield* faultInjector(device, { seed: 1, flushErrorRate: 0 })
      for (let i = 0; i < 100; i++) yield* faultyDevice.flush
      expect(flushes()).toBe(100)
      expect(yield* injector.ledger).toEqual([])
    }).pipe(Effect.provide(ramdisk())))

  it.effect("at flushErrorRate 1 fails IOError without reaching the device", () =>
    Effect.gen(function*() {
      const { device, flushes } = yield* counting
      const { device: faultyDevice, injector } = yield* faultInjector(device, { seed: 1, flushErrorRate: 1 })
      const error = yield* Effect.flip(faultyDevice.flush)
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain("injected")
      expect(flushes()).toBe(0)
      expect(yield* injector.ledger).toEqual([
        { operation: "flush", kind: "flushError", sectorStart: 0, sectors: 0, operationIndex: 0 }
      ])
    }).pipe(Effect.provide(ramdisk())))
})

describe("badSectors", () => {
  const badOptions: FaultInjectorOptions = { badSectors: [{ start: 100, sectors: 4 }, { start: 500, sectors: 1 }] }

  it.effect("every read touching a bad sector fails IOError, naming the first one touched", () =>
    Effect.gen(function*() {
      for (const [start, length, first] of [[100, 1, 100], [98, 4, 100], [103, 10, 103], [0, 1024, 100], [500, 1, 500]]) {
        const error = yield* Effect.flip(faultyRead(start ?? 0, length ?? 0))
        expect(error._tag).toBe("IOError")
        expect(error.message).toContain(`bad sector ${first}`)
      }
      const ledger = yield* (yield* FaultInjector).ledger
      expect(ledger.map((fault) => fault.kind === "badSector" ? fault.badSector : -1)).toEqual([100, 100, 103, 100, 500])
    }).pipe(Effect.provide(faulty(badOptions))))

  it.effect("reads that touch no bad sector succeed", () =>
    Effect.gen(function*() {
      yield* faultyRead(0, 100)
      yield* faultyRead(104, 396)
      yield* faultyRead(501, 523)
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty(badOptions))))

  it.effect("fail whatever the read error rate, even at 0", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 20; i++) expect((yield* Effect.flip(faultyRead(101, 1)))._tag).toBe("IOError")
    }).pipe(Effect.provide(faulty({ ...badOptions, readErrorRate: 0 }))))

  it.effect("a write heals the sectors it writes, and only those", () =>
    Effect.gen(function*() {
      yield* (yield* BlockDevice).write(101, pattern(1, 9))
      expect(yield* faultyRead(101, 1)).toEqual(pattern(1, 9))
      expect(yield* (yield* FaultInjector).badSectors).toEqual([
        { start: 100, sectors: 1 },
        { start: 102, sectors: 2 },
        { start: 500, sectors: 1 }
      ])
      expect((yield* Effect.flip(faultyRead(100, 1)))._tag).toBe("IOError")
    }).pipe(Effect.provide(faulty(badOptions))))

  it.effect("a discard heals the sectors it discards", () =>
    Effect.gen(function*() {
      yield* (yield* BlockDevice).discard(100, 4)
      expect(yield* faultyRead(100, 4)).toEqual(new Uint8Array(4 * sectorSize))
      expect(yield* (yield* FaultInjector).badSectors).toEqual([{ start: 500, sectors: 1 }])
    }).pipe(Effect.provide(faulty(badOptions))))

  it.effect("a shrink drops the bad sectors past the new end, and a grow does not bring them back", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      yield* device.resize(102)
      expect(yield* (yield* FaultInjector).badSectors).toEqual([{ start: 100, sectors: 2 }])
      yield* device.resize(sizeSectors)
      yield* faultyRead(102, 900)
    }).pipe(Effect.provide(faulty(badOptions))))

  it.effect.prop(
    "a read fails exactly when its range meets a bad range",
    {
      bad: Schema.Array(Schema.Tuple([Sector, Length])).check(Schema.isMaxLength(5)),
      start: Sector,
      length: Length
    },
    ({ bad, length, start: wanted }) => {
      const start = fitted(wanted, length)
      const ranges = bad.map(([badStart, badLength]) => ({
        start: Math.min(badStart, sizeSectors - badLength),
        sectors: badLength
      }))
      const meets = ranges.some((range) => range.start < start + length && start < range.start + range.sectors)
      return Effect.gen(function*() {
        const exit = yield* Effect.exit(faultyRead(start, length))
        expect(Exit.isFailure(exit)).toBe(meets)
      }).pipe(Effect.provide(faulty({ badSectors: ranges })))
    }
  )
})

describe("readCorruptionRate", () => {
  it.effect.prop(
    "at rate 1 every read returns the clean data with exactly the recorded bit flipped",
    RandomRange,
    ({ length, seed, start: wanted }) =>
      Effect.gen(function*() {
        const start = fitted(wanted, length)
        yield* fillClean(3)
        const clean = yield* cleanRead(start, length)
        const returned = yield* faultyRead(start, length)
        expect(countBitsDiffering(returned, clean)).toBe(1)
        const [fault] = yield* (yield* FaultInjector).ledger
        if (fault?.kind !== "corruption") return expect.fail(`expected a corruption, got ${JSON.stringify(fault)}`)
        expect(fault).toMatchObject({ operation: "read", sectorStart: start, sectors: length })
        const offset = (fault.corruptedSector - start) * sectorSize + Math.floor(fault.bit / 8)
        expect(((returned[offset] ?? 0) ^ (clean[offset] ?? 0))).toBe(1 << (fault.bit % 8))
      }).pipe(Effect.provide(faulty({ seed, readCorruptionRate: 1 })))
  )

  it.effect("never changes the data held: the device beneath and a re-read with faults off return it clean", () =>
    Effect.gen(function*() {
      yield* fillClean(5)
      for (let i = 0; i < 20; i++) yield* faultyRead(0, sizeSectors)
      expect(firstDifference(yield* cleanRead(0, sizeSectors), pattern(sizeSectors, 5))).toBe(-1)
      yield* (yield* FaultInjector).setEnabled(false)
      expect(firstDifference(yield* faultyRead(0, sizeSectors), pattern(sizeSectors, 5))).toBe(-1)
    }).pipe(Effect.provide(faulty({ seed: 4, readCorruptionRate: 1 }))))

  it.effect("never corrupts at rate 0", () =>
    Effect.gen(function*() {
      yield* fillClean(5)
      for (let i = 0; i < 100; i++) expect(yield* faultyRead(i, 3)).toEqual(yield* cleanRead(i, 3))
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty({ seed: 4, readCorruptionRate: 0 }))))
})

describe("misdirectedWriteRate", () => {
  it.effect.prop(
    "at rate 1 a write succeeds but lands at the recorded place, elsewhere, leaving the intended sectors as they were",
    RandomRange,
    ({ length, seed, start: wanted }) =>
      Effect.gen(function*() {
        const start = fitted(wanted, length)
        const before = yield* fillCleanImage(1)
        const data = pattern(length, 77)
        yield* (yield* BlockDevice).write(start, data)
        const [fault] = yield* (yield* FaultInjector).ledger
        if (fault?.kind !== "misdirectedWrite") return expect.fail(`expected a misdirectedWrite, got ${JSON.stringify(fault)}`)
        expect(fault).toMatchObject({ operation: "write", sectorStart: start, sectors: length })
        const target = fault.targetSector
        expect(target + length <= start || start + length <= target).toBe(true)
        expect(target).toBeGreaterThanOrEqual(0)
        expect(target + length).toBeLessThanOrEqual(sizeSectors)
        yield* expectCleanImage(before, data, target)
      }).pipe(Effect.provide(faulty({ seed, misdirectedWriteRate: 1 })))
  )

  it.effect.prop(
    "a large write, with few places to go, never lands over its own sectors",
    { seed: Seed, start: Sector, length: Schema.Int.check(Schema.isBetween({ minimum: 400, maximum: 512 })) },
    ({ length, seed, start: wanted }) =>
      Effect.gen(function*() {
        const start = fitted(wanted, length)
        yield* (yield* BlockDevice).write(start, pattern(length, 1))
        for (const fault of yield* (yield* FaultInjector).ledger) {
          if (fault.kind !== "misdirectedWrite") return expect.fail(`unexpected ${JSON.stringify(fault)}`)
          expect(fault.targetSector + length <= start || start + length <= fault.targetSector).toBe(true)
          expect(fault.targetSector + length).toBeLessThanOrEqual(sizeSectors)
        }
      }).pipe(Effect.provide(faulty({ seed, misdirectedWriteRate: 1 })))
  )

  it.effect("a write with exactly one other place to go lands there", () =>
    Effect.gen(function*() {
      // 512 sectors at 512 of 1024: the only place that does not overlap is sector 0.
      yield* (yield* BlockDevice).write(512, pattern(512, 4))
      expect(yield* (yield* FaultInjector).ledger).toMatchObject([{ kind: "misdirectedWrite", targetSector: 0 }])
      expect(firstDifference(yield* cleanRead(0, 512), pattern(512, 4))).toBe(-1)
      expect(firstDifference(yield* cleanRead(512, 512), new Uint8Array(512 * sectorSize))).toBe(-1)
    }).pipe(Effect.provide(faulty({ misdirectedWriteRate: 1 }))))

  it.effect("a write with nowhere else to go lands where intended", () =>
    Effect.gen(function*() {
      // 600 sectors at 200 of 1024: no 600-sector place before 200 or after 800.
      yield* (yield* BlockDevice).write(200, pattern(600, 4))
      expect(yield* cleanRead(200, 600)).toEqual(pattern(600, 4))
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty({ misdirectedWriteRate: 1 }))))

  it.effect("never misdirects at rate 0", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      for (let i = 0; i < 100; i++) yield* device.write(i, pattern(1, i))
      for (let i = 0; i < 100; i++) expect(yield* cleanRead(i, 1)).toEqual(pattern(1, i))
      expect(yield* (yield* FaultInjector).ledger).toEqual([])
    }).pipe(Effect.provide(faulty({ seed: 2, misdirectedWriteRate: 0 }))))
})

describe("latency", () => {
  /** Starts `operation` in the background and says whether it has finished after `millis` of test time. */
  const doneAfter = <A, E>(operation: Effect.Effect<A, E, BlockDevice>, millis: ReadonlyArray<number>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(operation)
      const done: Array<boolean> = []
      for (const step of millis) {
        yield* TestClock.adjust(Duration.millis(step))
        done.push(fiber.pollUnsafe() !== undefined)
      }
      return done
    })

  const latency = { read: "100 millis", write: 200, flush: Duration.seconds(1) } as const

  it.effect("a read takes latency.read of Clock time", () =>
    Effect.gen(function*() {
      expect(yield* doneAfter(faultyRead(0, 1), [0, 99, 1])).toEqual([false, false, true])
    }).pipe(Effect.provide(faulty({ latency }))))

  it.effect("a write takes latency.write of Clock time, and lands only then", () =>
    Effect.gen(function*() {
      const done = yield* doneAfter(Effect.flatMap(BlockDevice, (device) => device.write(0, pattern(1, 1))), [199])
      expect(done).toEqual([false])
      expect(yield* cleanRead(0, 1)).toEqual(new Uint8Array(sectorSize))
      expect(yield* doneAfter(Effect.void, [1])).toEqual([true])
      expect(yield* cleanRead(0, 1)).toEqual(pattern(1, 1))
    }).pipe(Effect.provide(faulty({ latency }))))

  it.effect("a flush takes latency.flush of Clock time", () =>
    Effect.gen(function*() {
      expect(yield* doneAfter(Effect.flatMap(BlockDevice, (device) => device.flush), [999, 1])).toEqual([false, true])
    }).pipe(Effect.provide(faulty({ latency }))))

  it.effect("operations without a latency take no time", () =>
    Effect.gen(function*() {
      expect(yield* doneAfter(faultyRead(0, 1), [0])).toEqual([true])
    }).pipe(Effect.provide(faulty({ latency: { write: 50 } }))))
})

describe("setEnabled", () => {
  const everything: FaultInjectorOptions = {
    readErrorRate: 1,
    writeErrorRate: 1,
    flushErrorRate: 1,
    badSectors: [{ start: 0, sectors: 10 }],
    latency: { read: 1000, write: 1000, flush: 1000 }
  }

  it.effect("false turns every fault and all latency off, and the ledger stops growing", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      const injector = yield* FaultInjector
      yield* injector.setEnabled(false)
      expect(yield* injector.enabled).toBe(false)
      // Under TestClock, any latency left on would hang these calls.
      yield* device.write(0, pattern(10, 3))
      expect(yield* faultyRead(0, 10)).toEqual(pattern(10, 3))
      yield* device.flush
      expect(yield* injector.ledger).toEqual([])
    }).pipe(Effect.provide(faulty(everything))))

  it.effect("true turns the faults back on, bad sectors included", () =>
    Effect.gen(function*() {
      const injector = yield* FaultInjector
      yield* injector.setEnabled(false)
      yield* injector.setEnabled(true)
      expect((yield* Effect.flip(faultyRead(5, 1)))._tag).toBe("IOError")
      expect(yield* injector.ledger).toHaveLength(1)
    }).pipe(Effect.provide(faulty({ badSectors: [{ start: 0, sectors: 10 }] }))))

  it.effect("operations made while off still count, so the later ones fail as they would have", () =>
    Effect.gen(function*() {
      const failingReads = (offFor: number) =>
        Effect.gen(function*() {
          const injector = yield* FaultInjector
          yield* injector.setEnabled(false)
          for (let i = 0; i < 100; i++) {
            if (i === offFor) yield* injector.setEnabled(true)
            yield* Effect.exit(faultyRead(i, 1))
          }
          return (yield* injector.ledger).map((fault) => fault.operationIndex)
        }).pipe(Effect.provide(faulty({ seed: 21, readErrorRate: 0.3 })))
      const always = yield* failingReads(0)
      const late = yield* failingReads(50)
      expect(late.length).toBeGreaterThan(0)
      expect(late).toEqual(always.filter((index) => index >= 50))
    }))

  it.effect("the enabled option starts the injector off", () =>
    Effect.gen(function*() {
      const injector = yield* FaultInjector
      expect(yield* injector.enabled).toBe(false)
      yield* faultyRead(0, 1)
      yield* injector.setEnabled(true)
      expect((yield* Effect.flip(faultyRead(0, 1)))._tag).toBe("IOError")
    }).pipe(Effect.provide(faulty({ enabled: false, readErrorRate: 1 }))))
})

describe("ledger", () => {
  it.effect("records every fault in order, numbering reads, writes and flushes together", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      yield* Effect.exit(device.write(3, pattern(1, 1)))
      yield* Effect.exit(device.flush)
      yield* Effect.exit(faultyRead(4, 2))
      const ledger: ReadonlyArray<FaultRecord> = yield* (yield* FaultInjector).ledger
      expect(ledger.map((fault) => [fault.kind, fault.operationIndex])).toEqual([
        ["writeError", 0],
        ["flushError", 1],
        ["readError", 2]
      ])
    }).pipe(Effect.provide(faulty({ readErrorRate: 1, writeErrorRate: 1, flushErrorRate: 1 }))))

  it.effect("clearLedger empties it and the numbering goes on", () =>
    Effect.gen(function*() {
      const injector = yield* FaultInjector
      yield* Effect.exit(faultyRead(0, 1))
      yield* injector.clearLedger
      expect(yield* injector.ledger).toEqual([])
      yield* Effect.exit(faultyRead(0, 1))
      expect((yield* injector.ledger).map((fault) => fault.operationIndex)).toEqual([1])
    }).pipe(Effect.provide(faulty({ readErrorRate: 1 }))))

  it.effect("lets an oracle tell injected damage from a bug", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      const injector = yield* FaultInjector
      // The code under test: writes every sector once, ignoring failures.
      for (let sector = 0; sector < 256; sector++) {
        yield* Effect.exit(device.write(sector, new Uint8Array(sectorSize).fill(sector % 250 + 1)))
      }
      // The oracle: with faults off, a sector that does not hold its value must be explained by the ledger.
      yield* injector.setEnabled(false)
      const ledger = yield* injector.ledger
      const within = (sector: number, start: number, sectors: number) => sector >= start && sector < start + sectors
      const explained = (sector: number) =>
        ledger.some((fault) =>
          (fault.kind === "writeError" && within(sector, fault.sectorStart, fault.sectors)) ||
          (fault.kind === "misdirectedWrite" &&
            (within(sector, fault.sectorStart, fault.sectors) || within(sector, fault.targetSector, fault.sectors)))
        )
      let damaged = 0
      for (let sector = 0; sector < 256; sector++) {
        const buffer = yield* faultyRead(sector, 1)
        if (!buffer.every((byte) => byte === sector % 250 + 1)) {
          damaged++
          expect(explained(sector), `sector ${sector} damaged with no fault recorded`).toBe(true)
        }
      }
      expect(damaged).toBeGreaterThan(0)
    }).pipe(Effect.provide(faulty({ seed: 42, writeErrorRate: 0.05, misdirectedWriteRate: 0.05 }))))

  it.effect("is a copy: later faults do not change a ledger already read", () =>
    Effect.gen(function*() {
      const injector = yield* FaultInjector
      yield* Effect.exit(faultyRead(0, 1))
      const before = yield* injector.ledger
      yield* Effect.exit(faultyRead(0, 1))
      expect(before).toHaveLength(1)
    }).pipe(Effect.provide(faulty({ readErrorRate: 1 }))))
})

describe("stacking", () => {
  it.effect("two injectors stack, each recording only its own faults", () =>
    Effect.gen(function*() {
      const disk = yield* Ramdisk
      const lower = yield* faultInjector(disk, { seed: 1, misdirectedWriteRate: 1 })
      const upper = yield* faultInjector(lower.device, { seed: 2, readCorruptionRate: 1 })
      yield* upper.device.write(10, pattern(2, 6))
      yield* upper.device.read(0, new Uint8Array(sectorSize))
      expect((yield* lower.injector.ledger).map((fault) => fault.kind)).toEqual(["misdirectedWrite"])
      expect((yield* upper.injector.ledger).map((fault) => fault.kind)).toEqual(["corruption"])
      yield* upper.injector.setEnabled(false)
      yield* lower.injector.setEnabled(false)
      yield* upper.device.write(10, pattern(2, 6))
      expect(yield* cleanRead(10, 2)).toEqual(pattern(2, 6))
    }).pipe(Effect.provide(ramdisk())))

  it.effect("an injector over a read-only handle keeps it read-only", () =>
    Effect.gen(function*() {
      const disk = yield* Ramdisk
      const readOnly: BlockDeviceShape = {
        ...disk,
        info: Effect.map(disk.info, (info) => ({ ...info, readWrite: false }))
      }
      const { device } = yield* faultInjector(readOnly, { writeErrorRate: 1 })
      expect((yield* Effect.flip(device.write(0, pattern(1, 1))))._tag).toBe("IsReadOnly")
    }).pipe(Effect.provide(ramdisk())))
})
