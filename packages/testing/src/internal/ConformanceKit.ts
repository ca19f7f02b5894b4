/**
 * The small vocabulary the conformance rules are written in: recognisable
 * sector data, region reads, byte comparisons that say where they differ,
 * and expectations on a device's errors.
 */
import { BlockDevice, type BlockDeviceShape, formatError, type Info } from "@effect-block/block"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** A rule's own verdict: the device broke the rule, and how. */
export class RuleFailed extends Schema.TaggedError<RuleFailed>()("RuleFailed", {
  message: Schema.String
}) {}

/** Any error a device operation may produce, as the rules see it. */
export interface DeviceError {
  readonly _tag: string
  readonly message: string
}

/** Fails the rule with `message`. */
export const fail = (message: string): Effect.Effect<never, RuleFailed> => Effect.fail(new RuleFailed({ message }))

/** Fails the rule with `message()` unless `condition` holds. */
export const check = (condition: boolean, message: () => string): Effect.Effect<void, RuleFailed> =>
  condition ? Effect.void : fail(message())

/** The geometry the suite needs: a writable device of at least 64 sectors. */
export const minimumSectors = 64

/** The device and its geometry, checked against the suite's assumptions. */
export const device: Effect.Effect<{ readonly device: BlockDeviceShape; readonly info: Info }, RuleFailed, BlockDevice> =
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const info = yield* device.info
    if (!info.readWrite) return yield* fail("the conformance suite needs a writable device, but info says readWrite false")
    if (info.sizeSectors < minimumSectors) {
      return yield* fail(
        `the conformance suite needs at least ${minimumSectors} sectors, but the device has ${info.sizeSectors}`
      )
    }
    return { device, info }
  })

/**
 * Data for `sectors` sectors from `sectorStart`, different for every `tag`
 * and every sector, and never zero, so a misplaced, stale or missing sector
 * shows up in a comparison.
 */
export const pattern = (tag: number, sectorStart: number, sectors: number, sectorSize: number): Uint8Array => {
  const bytes = new Uint8Array(sectors * sectorSize)
  for (let s = 0; s < sectors; s++) {
    const base = ((tag * 131 + (sectorStart + s) * 29) >>> 0) % 251
    const offset = s * sectorSize
    for (let i = 0; i < sectorSize; i++) bytes[offset + i] = ((base + i) % 251) + 1
  }
  return bytes
}

/** Sectors `[sectorStart, sectorStart + sectors)` as one fresh array. */
export const readSectors = (
  device: BlockDeviceShape,
  sectorSize: number,
  sectorStart: number,
  sectors: number
) =>
  Effect.suspend(() => {
    const buffer = new Uint8Array(sectors * sectorSize)
    return Effect.as(device.read(sectorStart, buffer), buffer)
  })

/** Where two byte arrays first differ, in sector terms, or undefined if they are equal. */
export const firstDifference = (
  actual: Uint8Array,
  expected: Uint8Array,
  sectorSize: number,
  sectorStart: number
): string | undefined => {
  if (actual.length !== expected.length) return `length ${actual.length} where ${expected.length} was expected`
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      const sector = sectorStart + Math.floor(i / sectorSize)
      return `sector ${sector} byte ${i % sectorSize} is ${actual[i]}, expected ${expected[i]}`
    }
  }
  return undefined
}

/** Fails unless `actual` equals `expected`, saying which sector and byte differ first. */
export const expectBytes = (
  what: string,
  actual: Uint8Array,
  expected: Uint8Array,
  sectorSize: number,
  sectorStart: number
): Effect.Effect<void, RuleFailed> => {
  const difference = firstDifference(actual, expected, sectorSize, sectorStart)
  return difference === undefined ? Effect.void : fail(`${what}: ${difference}`)
}

/** Reads a range back and compares it with what should be there. */
export const expectSectors = (
  what: string,
  device: BlockDeviceShape,
  sectorSize: number,
  sectorStart: number,
  expected: Uint8Array
) =>
  Effect.flatMap(
    readSectors(device, sectorSize, sectorStart, expected.length / sectorSize),
    (actual) => expectBytes(what, actual, expected, sectorSize, sectorStart)
  )

/** Fails unless the range reads as zeros. */
export const expectZeroSectors = (
  what: string,
  device: BlockDeviceShape,
  sectorSize: number,
  sectorStart: number,
  sectors: number
) => expectSectors(what, device, sectorSize, sectorStart, new Uint8Array(sectors * sectorSize))

/** Whether every byte of `bytes` equals `value`. */
export const isFilledWith = (bytes: Uint8Array, value: number): boolean => {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== value) return false
  return true
}

/** A rule's description of an unexpected outcome of a device call. */
export const describeError = (error: DeviceError): string => formatError(error)

/**
 * Runs `effect`, which must fail with the error tagged `tag`; its message
 * must mention every string in `mentions`.
 */
export const expectFailure = <A>(
  what: string,
  tag: string,
  effect: Effect.Effect<A, DeviceError>,
  mentions: ReadonlyArray<string> = []
): Effect.Effect<void, RuleFailed> =>
  Effect.matchEffect(effect, {
    onSuccess: (value) =>
      fail(`${what}: succeeded${value === undefined ? "" : ` with ${String(value)}`}, expected ${tag}`),
    onFailure: (error) => {
      if (error._tag !== tag) return fail(`${what}: failed ${describeError(error)}, expected ${tag}`)
      const missing = mentions.filter((mention) => !error.message.includes(mention))
      return missing.length === 0 ?
        Effect.void :
        fail(`${what}: the ${tag} message ${JSON.stringify(error.message)} does not name ${missing.join(", ")}`)
    }
  })

/** A value that is not a sector number, and the text an error message must contain to name it. */
export interface BadValue {
  readonly value: unknown
  readonly label: string
  /** What the message must contain; undefined when there is no single sensible spelling. */
  readonly mention: string | undefined
}

/** Every kind of number and non-number that a sector argument must reject. */
export const badSectorValues: ReadonlyArray<BadValue> = [
  { value: Number.NaN, label: "NaN", mention: "NaN" },
  { value: Number.POSITIVE_INFINITY, label: "Infinity", mention: "Infinity" },
  { value: Number.NEGATIVE_INFINITY, label: "-Infinity", mention: "-Infinity" },
  { value: -1, label: "-1", mention: "-1" },
  { value: 1.5, label: "1.5", mention: "1.5" },
  { value: 2 ** 53, label: "2^53", mention: String(2 ** 53) },
  { value: "12", label: "the string \"12\"", mention: "12" },
  { value: undefined, label: "undefined", mention: "undefined" },
  { value: null, label: "null", mention: "null" },
  { value: BigInt(3), label: "the bigint 3n", mention: undefined },
  { value: {}, label: "an object", mention: undefined }
]

/** Smuggles a value past the type checker, the way an untyped caller would. */
export const unchecked = <A>(value: unknown): A => value as A

/** What the rules check "nothing changed" against: the size and the prefilled sectors. */
export interface State {
  readonly sizeSectors: number
  readonly head: Uint8Array
  readonly tail: Uint8Array
}

/** Sectors at the start and at the end of the device: where a misdirected or partial write lands. */
export const headSectors = minimumSectors
export const tailSectors = 2

/**
 * Fills the head and tail sectors with recognisable data, so that a bad
 * request that writes, discards or truncates anything is caught.
 */
export const prefill = (device: BlockDeviceShape, info: Info) =>
  Effect.gen(function*() {
    yield* device.write(0, pattern(1, 0, headSectors, info.sectorSize))
    const tailStart = info.sizeSectors - tailSectors
    yield* device.write(tailStart, pattern(1, tailStart, tailSectors, info.sectorSize))
    return yield* capture(device, info.sectorSize)
  })

/** Reads what {@link expectUnchanged} compares: the size, the first and the last sectors. */
export const capture = (device: BlockDeviceShape, sectorSize: number) =>
  Effect.gen(function*() {
    const { sizeSectors } = yield* device.info
    const head = yield* readSectors(device, sectorSize, 0, Math.min(headSectors, sizeSectors))
    const tailStart = Math.max(0, sizeSectors - tailSectors)
    const tail = yield* readSectors(device, sectorSize, tailStart, sizeSectors - tailStart)
    return { sizeSectors, head, tail } satisfies State
  })

/** Fails unless the device still has the size and data captured in `before`. */
export const expectUnchanged = (what: string, device: BlockDeviceShape, sectorSize: number, before: State) =>
  Effect.gen(function*() {
    const after = yield* capture(device, sectorSize)
    if (after.sizeSectors !== before.sizeSectors) {
      return yield* fail(`${what}: the size changed from ${before.sizeSectors} to ${after.sizeSectors} sectors`)
    }
    yield* expectBytes(`${what}: the first sectors changed`, after.head, before.head, sectorSize, 0)
    yield* expectBytes(
      `${what}: the last sectors changed`,
      after.tail,
      before.tail,
      sectorSize,
      after.sizeSectors - after.tail.length / sectorSize
    )
  })

/** The two seek operations, named as on `BlockDeviceShape`. */
export type Seek = "seekMapped" | "seekUnmapped"

/**
 * Checks one seek result against which sectors hold data (`nonZero`, for the
 * first `nonZero.length` sectors; the rest are zero). With `supported` false
 * the result must be the default of a device that cannot seek.
 */
export const checkSeek = (
  seek: Seek,
  supported: boolean,
  from: number,
  result: number,
  sizeSectors: number,
  nonZero: ReadonlyArray<boolean>
): string | undefined => {
  const call = `${seek}(${from}) on ${sizeSectors} sectors returned ${result}`
  if (!supported) {
    const expected = seek === "seekMapped" ? from : sizeSectors
    return result === expected ? undefined : `${call}, but a device that cannot seek must return ${expected}`
  }
  if (!Number.isSafeInteger(result) || result < from || result > sizeSectors) {
    return `${call}, outside [${from}, ${sizeSectors}]`
  }
  if (seek === "seekMapped") {
    for (let s = from; s < Math.min(result, nonZero.length); s++) {
      if (nonZero[s] === true) return `${call}, skipping sector ${s}, which holds data`
    }
    return undefined
  }
  return result === sizeSectors || nonZero[result] !== true ?
    undefined :
    `${call}, but sector ${result} holds data, so it is not guaranteed to read as zero`
}

/** Buffer lengths that are not whole sectors, for this sector size. */
export const badLengths = (sectorSize: number): ReadonlyArray<number> =>
  sectorSize === 1 ? [] : [1, sectorSize - 1, sectorSize + 1, 2 * sectorSize + sectorSize / 2]

/** Values that are not buffers or buffer lists at all. */
export const notBuffers: ReadonlyArray<{ readonly value: unknown; readonly label: string }> = [
  { value: "not a buffer", label: "a string" },
  { value: 512, label: "a number" },
  { value: undefined, label: "undefined" },
  { value: [new Uint8Array(0), "oops"], label: "a list holding a string" },
  { value: [[0, 0]], label: "a list holding a plain array" }
]

/** `[sectorStart, sectors]` pairs that run past the end of a device of `size` sectors. */
export const pastTheEnd = (size: number): ReadonlyArray<readonly [number, number]> => [
  [size, 1],
  [size - 1, 2],
  [size + 1, 0],
  [0, size + 1],
  [Number.MAX_SAFE_INTEGER, 1]
]

/** What a buffer the device must not touch is filled with. */
export const guardByte = 0xa5

/** A buffer of `bytes` guard bytes, to show that a call wrote nothing into it. */
export const untouchedBuffer = (bytes: number): Uint8Array => new Uint8Array(bytes).fill(guardByte)


/**
 * Requires every operation of `device` but `info` and `disconnect` to fail
 * `Disconnected` once the handle is disconnected or its device gone (`after`
 * says which, for the messages): requests that were valid before — first
 * and last sector, plain and vectored — and no read may touch its buffer.
 */
export const expectEveryOperationDisconnected = (
  after: string,
  device: BlockDeviceShape,
  { sectorSize, sizeSectors }: Info
): Effect.Effect<void, RuleFailed> =>
  Effect.gen(function*() {
    const last = sizeSectors - 1
    const buffers = [untouchedBuffer(sectorSize), untouchedBuffer(sectorSize), untouchedBuffer(sectorSize)] as const
    const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, DeviceError>]> = [
      ["read(0, 1 sector)", device.read(0, buffers[0])],
      [`read(${last}, 1 sector), the last sector`, device.read(last, buffers[1])],
      ["readVectored([{ sectorStart: 0, 1 sector }])", device.readVectored([{ sectorStart: 0, buffers: buffers[2] }])],
      ["write(0, 1 sector)", device.write(0, pattern(76, 0, 1, sectorSize))],
      [`write(${last}, 1 sector), the last sector`, device.write(last, pattern(76, last, 1, sectorSize))],
      [
        "writeVectored([{ sectorStart: 0, 1 sector }])",
        device.writeVectored([{ sectorStart: 0, buffers: pattern(77, 0, 1, sectorSize) }])
      ],
      ["flush", device.flush],
      ["discard(0, 1)", device.discard(0, 1)],
      ["resize(32)", device.resize(32)],
      ["seekMapped(0)", device.seekMapped(0)],
      ["seekUnmapped(0)", device.seekUnmapped(0)],
      [`seekUnmapped(${sizeSectors}), the end`, device.seekUnmapped(sizeSectors)]
    ]
    for (const [what, call] of calls) yield* expectFailure(`${what} after ${after}`, "Disconnected", call)
    yield* check(
      buffers.every((buffer) => isFilledWith(buffer, guardByte)),
      () => `a read after ${after} wrote into its buffer`
    )
  })
