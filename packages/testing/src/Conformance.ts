/**
 * The conformance suite: every rule of `shared/SPEC.md` as a test that runs
 * against any `Layer<BlockDevice>`, so that whoever writes a block device
 * (the ramdisk, the file device, a wrapper, a user's own) proves it keeps the
 * contract with one call:
 *
 * ```ts
 * import { conformance, modelTest } from "@effect-block/testing"
 *
 * conformance("MyDevice", MyDeviceLive)   // one `it` per SPEC rule
 * modelTest("MyDevice model", MyDeviceLive) // random histories against a reference model
 * ```
 *
 * The suite is data first ({@link conformanceRules}): a list of rules, each an
 * Effect that fails with {@link ConformanceViolation} when the device breaks
 * the rule. {@link conformance} registers that list with `@effect/vitest`;
 * {@link runRule} runs one rule without vitest, which is how this package
 * proves that the suite catches broken devices.
 *
 * @since 0.1.0
 */
import { BlockDevice, type BlockDeviceShape, type Buffers, type Info } from "@effect-block/block"
import { describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import {
  type BadValue,
  badSectorValues,
  check,
  checkSeek,
  type DeviceError,
  describeError,
  device,
  expectBytes,
  expectFailure,
  expectSectors,
  expectUnchanged,
  expectZeroSectors,
  fail,
  headSectors,
  isFilledWith,
  pattern,
  prefill,
  readSectors,
  RuleFailed,
  type Seek,
  type State,
  unchecked
} from "./internal/ConformanceKit.js"

/**
 * What the device under test cannot do. Everything defaults to `true`
 * (supported); set a capability to `false` and the rules for it expect what
 * `BlockDevice.make` gives a device without it: `Unimplemented` for `resize`
 * and `discard`, and "everything is mapped" (`seekMapped(x) = x`,
 * `seekUnmapped(x) = size`) for `seek`.
 *
 * `seed` and `runs` drive the property rules (random write/discard histories
 * for the seeks). Without a seed each run picks one and prints it in any
 * failure, so a failure replays with `{ seed }`.
 *
 * @since 0.1.0
 */
export interface ConformanceOptions {
  readonly resize?: boolean | undefined
  readonly discard?: boolean | undefined
  readonly seek?: boolean | undefined
  readonly seed?: number | undefined
  readonly runs?: number | undefined
}

/**
 * A device broke a rule of the contract. `operation` and `rule` name the
 * rule as the suite registers it; `message` says what the device did.
 *
 * @since 0.1.0
 */
export class ConformanceViolation extends Schema.TaggedError<ConformanceViolation>()("ConformanceViolation", {
  operation: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {}

/**
 * One rule of the contract. `run` builds the given layer afresh (more than
 * once for property rules), checks the rule against the device it provides,
 * and fails with {@link ConformanceViolation} if the device breaks it — or if
 * the layer fails to build, or the device fails unexpectedly or dies.
 *
 * @since 0.1.0
 */
export interface ConformanceRule {
  /** The operation the rule is about: `"read"`, `"resize"`, `"concurrency"`... */
  readonly operation: string
  /** The rule, as a sentence; the name of its test. */
  readonly rule: string
  readonly run: (layer: Layer.Layer<BlockDevice, unknown>) => Effect.Effect<void, ConformanceViolation>
}

type Failure = RuleFailed | DeviceError

type Body = Effect.Effect<void, Failure, BlockDevice>

const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    if (error instanceof RuleFailed) return error.message
    if (typeof error === "object" && error !== null && "_tag" in error && "message" in error) {
      const tagged = error as DeviceError
      return `unexpected ${describeError(tagged)}`
    }
    return `unexpected failure: ${String(error)}`
  }
  return `the device died or was interrupted: ${Cause.pretty(cause)}`
}

const violation = (operation: string, rule: string) => (cause: Cause.Cause<unknown>) =>
  Effect.fail(new ConformanceViolation({ operation, rule, message: describeCause(cause) }))

/** Runs `body` against a freshly built device from `layer`. */
const onFreshDevice = <A, E>(
  layer: Layer.Layer<BlockDevice, unknown>,
  body: Effect.Effect<A, E, BlockDevice>
): Effect.Effect<A, unknown> => Effect.provide(body, layer, { local: true })

const rule = (operation: string, name: string, body: Body): ConformanceRule => ({
  operation,
  rule: name,
  run: (layer) => Effect.catchCause(onFreshDevice(layer, body), violation(operation, name))
})

/** A rule that needs the layer itself, to build many devices. */
const layerRule = (
  operation: string,
  name: string,
  body: (layer: Layer.Layer<BlockDevice, unknown>) => Effect.Effect<void, unknown>
): ConformanceRule => ({
  operation,
  rule: name,
  run: (layer) => Effect.catchCause(Effect.suspend(() => body(layer)), violation(operation, name))
})

/** The rule's body, with the device and its geometry at hand. */
const withDevice = (
  body: (device: BlockDeviceShape, info: Info) => Effect.Effect<void, Failure>
): Body => Effect.flatMap(device, ({ device, info }) => body(device, info))

const mentionsOf = (value: BadValue) =>
  value.mention === undefined ? [] : [value.mention]

/** Buffer lengths that are not whole sectors, for this sector size. */
const badLengths = (sectorSize: number): ReadonlyArray<number> =>
  sectorSize === 1 ? [] : [1, sectorSize - 1, sectorSize + 1, 2 * sectorSize + sectorSize / 2]

/** Values that are not buffers or buffer lists at all. */
const notBuffers: ReadonlyArray<{ readonly value: unknown; readonly label: string }> = [
  { value: "not a buffer", label: "a string" },
  { value: 512, label: "a number" },
  { value: undefined, label: "undefined" },
  { value: [new Uint8Array(0), "oops"], label: "a list holding a string" },
  { value: [[0, 0]], label: "a list holding a plain array" }
]

/** `[sectorStart, sectors]` pairs that run past the end of a device of `size` sectors. */
const pastTheEnd = (size: number): ReadonlyArray<readonly [number, number]> => [
  [size, 1],
  [size - 1, 2],
  [size + 1, 0],
  [0, size + 1],
  [Number.MAX_SAFE_INTEGER, 1]
]

const guardByte = 0xa5

const untouchedBuffer = (bytes: number) => new Uint8Array(bytes).fill(guardByte)

/** Prefills the device, runs `body`, and fails with `what` unless the device is as it was. */
const changesNothing = (
  what: (info: Info) => string,
  body: (device: BlockDeviceShape, info: Info) => Effect.Effect<void, Failure>
): Body =>
  withDevice((device, info) =>
    Effect.gen(function*() {
      const before = yield* prefill(device, info)
      yield* body(device, info)
      yield* expectUnchanged(what(info), device, info.sectorSize, before)
    })
  )

/** One labelled call per bad value, each expected to name the value it was given. */
const callsWith = (
  values: ReadonlyArray<BadValue>,
  what: (label: string) => string,
  call: (value: unknown) => Effect.Effect<unknown, DeviceError>
) => values.map((bad) => ({ what: what(bad.label), call: call(bad.value), mentions: mentionsOf(bad) }))

// ---------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------

const infoRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "info",
    "reports a valid geometry: a power-of-two sectorSize up to 65536, a safe sizeSectors, a safe byte size",
    withDevice((_, info) =>
      Effect.gen(function*() {
        const { sectorSize, sizeSectors } = info
        yield* check(
          Number.isSafeInteger(sectorSize) && sectorSize >= 1 && sectorSize <= 65536 &&
            (sectorSize & (sectorSize - 1)) === 0,
          () => `sectorSize ${sectorSize} is not a power of two from 1 to 65536`
        )
        yield* check(
          Number.isSafeInteger(sizeSectors) && sizeSectors >= 0,
          () => `sizeSectors ${sizeSectors} is not a safe integer ≥ 0`
        )
        yield* check(
          sizeSectors * sectorSize <= Number.MAX_SAFE_INTEGER,
          () => `${sizeSectors} sectors of ${sectorSize} bytes exceed Number.MAX_SAFE_INTEGER bytes`
        )
      })
    )
  )
]

// ---------------------------------------------------------------------------
// read and write
// ---------------------------------------------------------------------------

/** `buffers` as a list, the way a device sees them. */
const bufferList = (buffers: Buffers): ReadonlyArray<Uint8Array> => buffers instanceof Uint8Array ? [buffers] : buffers

/** The buffers' bytes, concatenated into a fresh array. */
const joined = (buffers: Buffers): Uint8Array => {
  const list = bufferList(buffers)
  const result = new Uint8Array(list.reduce((bytes, buffer) => bytes + buffer.length, 0))
  let offset = 0
  for (const buffer of list) {
    result.set(buffer, offset)
    offset += buffer.length
  }
  return result
}

/** Copies `data` across the buffers, in order. */
const spread = (data: Uint8Array, buffers: Buffers): void => {
  let offset = 0
  for (const buffer of bufferList(buffers)) {
    buffer.set(data.subarray(offset, offset + buffer.length))
    offset += buffer.length
  }
}

/** Fresh buffers of these sector counts: one buffer for a number, a list for a list. */
const freshBuffers = (sectors: number | ReadonlyArray<number>, sectorSize: number): Buffers =>
  typeof sectors === "number" ?
    new Uint8Array(sectors * sectorSize) :
    sectors.map((count) => new Uint8Array(count * sectorSize))

/** The Uint8Arrays among whatever a rule passed as buffers, valid or not. */
const uint8ArraysIn = (buffers: unknown): ReadonlyArray<Uint8Array> =>
  buffers instanceof Uint8Array ?
    [buffers] :
    Array.isArray(buffers) ?
    buffers.filter((buffer): buffer is Uint8Array => buffer instanceof Uint8Array) :
    []

/**
 * Read and write as the rules they share see them: both move whole sectors
 * between the device and a list of caller buffers, in opposite directions,
 * and a rejected call must have no effect — on the caller's buffers for a
 * read, on the device for a write.
 */
interface Transfer {
  readonly operation: "read" | "write"
  /** How a failure message says a buffer was passed: "read into ...", "write of ...". */
  readonly passes: string
  /**
   * Moves `data` between the sectors from `sectorStart` and `buffers` in this
   * operation's direction (the other operation sets up or checks), then fails
   * with `what` unless it arrived.
   */
  readonly move: (
    what: string,
    device: BlockDeviceShape,
    sectorSize: number,
    sectorStart: number,
    buffers: Buffers,
    data: Uint8Array
  ) => Effect.Effect<void, Failure>
  /** `bytes` bytes to pass to a call that must be rejected: guard bytes to read into, or data to write. */
  readonly buffer: (bytes: number, sectorSize: number) => Uint8Array
  /** Fails unless the rejected call `what` had no effect. */
  readonly unaffected: (rejected: {
    readonly what: string
    readonly device: BlockDeviceShape
    readonly sectorSize: number
    readonly before: State
    readonly buffers: unknown
  }) => Effect.Effect<void, Failure>
}

/** -0 as 0, so that only the operation under test sees a -0 sectorStart. */
const positiveZero = (sector: number) => sector === 0 ? 0 : sector

const read: Transfer = {
  operation: "read",
  passes: "into",
  move: (what, device, sectorSize, sectorStart, buffers, data) =>
    Effect.gen(function*() {
      yield* device.write(positiveZero(sectorStart), data)
      yield* device.read(sectorStart, buffers)
      yield* expectBytes(what, joined(buffers), data, sectorSize, positiveZero(sectorStart))
    }),
  buffer: (bytes) => untouchedBuffer(bytes),
  unaffected: ({ buffers, what }) =>
    check(
      uint8ArraysIn(buffers).every((buffer) => isFilledWith(buffer, guardByte)),
      () => `the rejected ${what} wrote into a buffer it was given`
    )
}

const write: Transfer = {
  operation: "write",
  passes: "of",
  move: (what, device, sectorSize, sectorStart, buffers, data) =>
    Effect.gen(function*() {
      spread(data, buffers)
      yield* device.write(sectorStart, buffers)
      yield* expectSectors(what, device, sectorSize, positiveZero(sectorStart), data)
    }),
  // Recognisable data that differs from the prefill, cut to any length.
  buffer: (bytes, sectorSize) => pattern(14, 0, Math.ceil(bytes / sectorSize), sectorSize).slice(0, bytes),
  unaffected: ({ before, device, sectorSize, what }) =>
    expectUnchanged(`after the rejected ${what}`, device, sectorSize, before)
}

/**
 * Moves recognisable data (`tag`) through `transfer` at `sectorStart`, via
 * fresh buffers of the given sector counts, and checks it arrived.
 */
const movesData = (
  transfer: Transfer,
  what: string,
  tag: number,
  sectorStart: (info: Info) => number,
  sectors: number | ReadonlyArray<number>
): Body =>
  withDevice((device, info) => {
    const at = sectorStart(info)
    const buffers = freshBuffers(sectors, info.sectorSize)
    const data = pattern(tag, positiveZero(at), joined(buffers).length / info.sectorSize, info.sectorSize)
    return transfer.move(what, device, info.sectorSize, at, buffers, data)
  })

/** Moves data through two views into one guarded backing buffer, which must be touched nowhere else. */
const movesThroughViews = (transfer: Transfer): Body =>
  withDevice((device, { sectorSize }) =>
    Effect.gen(function*() {
      const backing = untouchedBuffer(5 * sectorSize + 14)
      const first = backing.subarray(7, 7 + sectorSize)
      const second = backing.subarray(7 + sectorSize + 3, 7 + 3 * sectorSize + 3)
      yield* transfer.move("the views, joined", device, sectorSize, 8, [first, second], pattern(3, 8, 3, sectorSize))
      const outside = [
        ...backing.subarray(0, 7),
        ...backing.subarray(7 + sectorSize, 7 + sectorSize + 3),
        ...backing.subarray(7 + 3 * sectorSize + 3)
      ]
      yield* check(
        outside.every((byte) => byte === guardByte),
        () => `${transfer.operation} wrote outside the views it was given`
      )
    })
  )

/** Zero-length calls everywhere from 0 to the size, which must succeed and change nothing. */
const movesNothing = (transfer: Transfer): Body =>
  changesNothing(() => `after zero-length ${transfer.operation}s`, (device, { sizeSectors }) =>
    Effect.forEach([0, 1, sizeSectors - 1, sizeSectors], (at) =>
      Effect.andThen(device[transfer.operation](at, new Uint8Array(0)), device[transfer.operation](at, [])), {
      discard: true
    }))

/** A call that must be rejected with InvalidRequest naming `mentions`. */
interface BadCall {
  readonly what: string
  readonly sectorStart: unknown
  readonly buffers: unknown
  readonly mentions: ReadonlyArray<string>
}

/** Prefills the device, then makes each bad call, which must be rejected without effect. */
const rejectsCalls = (transfer: Transfer, calls: (info: Info) => ReadonlyArray<BadCall>): Body =>
  withDevice((device, info) =>
    Effect.gen(function*() {
      const before = yield* prefill(device, info)
      for (const { buffers, mentions, sectorStart, what } of calls(info)) {
        const call = device[transfer.operation](unchecked(sectorStart), unchecked(buffers))
        yield* expectFailure(what, "InvalidRequest", call, mentions)
        yield* transfer.unaffected({ what, device, sectorSize: info.sectorSize, before, buffers })
      }
    })
  )

const rejectsBadSectorStart = (transfer: Transfer): Body =>
  rejectsCalls(transfer, ({ sectorSize }) =>
    badSectorValues.map((bad) => ({
      what: `${transfer.operation}(${bad.label})`,
      sectorStart: bad.value,
      buffers: transfer.buffer(sectorSize, sectorSize),
      mentions: mentionsOf(bad)
    })))

const rejectsPartialSectors = (transfer: Transfer): Body =>
  rejectsCalls(transfer, ({ sectorSize }) =>
    badLengths(sectorSize).flatMap((length) => [
      {
        what: `${transfer.operation} ${transfer.passes} a ${length}-byte buffer`,
        sectorStart: 0,
        buffers: transfer.buffer(length, sectorSize),
        mentions: [String(length)]
      },
      {
        what: `${transfer.operation} ${transfer.passes} [a whole sector, a ${length}-byte buffer]`,
        sectorStart: 0,
        buffers: [transfer.buffer(sectorSize, sectorSize), transfer.buffer(length, sectorSize)],
        mentions: [String(length)]
      }
    ]))

const rejectsNonBuffers = (transfer: Transfer): Body =>
  rejectsCalls(transfer, ({ sectorSize }) => [
    ...notBuffers.map(({ label, value }) => ({
      what: `${transfer.operation} ${transfer.passes} ${label}`,
      sectorStart: 0,
      buffers: value,
      mentions: []
    })),
    {
      what: `${transfer.operation} ${transfer.passes} [a whole sector, a plain array]`,
      sectorStart: 0,
      buffers: [transfer.buffer(sectorSize, sectorSize), [1, 2]],
      mentions: []
    }
  ])

const rejectsPastTheEnd = (transfer: Transfer): Body =>
  rejectsCalls(transfer, ({ sectorSize, sizeSectors }) =>
    pastTheEnd(sizeSectors).map(([start, sectors]) => ({
      what: `${transfer.operation}(${start}, ${sectors} sectors) on ${sizeSectors} sectors`,
      sectorStart: start,
      buffers: transfer.buffer(sectors * sectorSize, sectorSize),
      mentions: [String(start), String(sizeSectors)]
    })))

const readRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "read",
    "never-written sectors read as zeros",
    withDevice((device, { sectorSize, sizeSectors }) =>
      Effect.gen(function*() {
        const head = untouchedBuffer(headSectors * sectorSize)
        yield* device.read(0, head)
        yield* check(isFilledWith(head, 0), () => "a never-written sector at the start did not read as zeros")
        const tail = untouchedBuffer(2 * sectorSize)
        yield* device.read(sizeSectors - 2, tail)
        yield* check(isFilledWith(tail, 0), () => "a never-written sector at the end did not read as zeros")
      })
    )
  ),
  rule(
    "read",
    "fills several buffers in order from consecutive sectors",
    movesData(read, "the buffers, joined", 2, () => 5, [1, 2, 0, 3])
  ),
  rule("read", "fills views with a non-zero byteOffset and touches no byte around them", movesThroughViews(read)),
  rule("read", "reads the last sector of the device", movesData(read, "the last sector", 4, (info) => info.sizeSectors - 1, 1)),
  rule("read", "a zero-length read succeeds anywhere from 0 to the size and touches nothing", movesNothing(read)),
  rule("read", "treats -0 as sector 0 (a safe integer ≥ 0)", movesData(read, "read(-0)", 5, () => -0, 1)),
  rule(
    "read",
    "rejects a sectorStart that is not a sector number with InvalidRequest naming it, touching no buffer",
    rejectsBadSectorStart(read)
  ),
  rule(
    "read",
    "rejects buffers that are not whole sectors with InvalidRequest naming the length, touching no buffer",
    rejectsPartialSectors(read)
  ),
  rule("read", "rejects buffers that are not Uint8Arrays with InvalidRequest", rejectsNonBuffers(read)),
  rule(
    "read",
    "rejects ranges past the end with InvalidRequest naming the start and the size, touching no buffer",
    rejectsPastTheEnd(read)
  )
]

const writeRules: ReadonlyArray<ConformanceRule> = [
  rule("write", "written data reads back", movesData(write, "the written sectors", 6, () => 3, 4)),
  rule(
    "write",
    "leaves the sectors around the written range unchanged",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(7, 10, 3, sectorSize)
        yield* device.write(10, data)
        yield* expectZeroSectors("the sectors before", device, sectorSize, 0, 10)
        yield* expectZeroSectors("the sectors after", device, sectorSize, 13, headSectors - 13)
      })
    )
  ),
  rule(
    "write",
    "writes several buffers, in order, to consecutive sectors",
    movesData(write, "the written sectors", 8, () => 20, [1, 0, 2, 3])
  ),
  rule("write", "writes from views with a non-zero byteOffset, and only the bytes inside them", movesThroughViews(write)),
  rule(
    "write",
    "copies the data in: changing the caller's buffer afterwards changes nothing stored",
    withDevice((device, { sectorSize, sizeSectors }) =>
      Effect.gen(function*() {
        const data = pattern(10, 4, 2, sectorSize)
        const buffer = data.slice()
        const views = [buffer.subarray(0, sectorSize), buffer.subarray(sectorSize)]
        yield* device.write(4, buffer)
        yield* device.write(40, views)
        buffer.fill(0x3c)
        yield* expectSectors("the sectors written from one buffer", device, sectorSize, 4, data)
        yield* expectSectors("the sectors written from views", device, sectorSize, 40, pattern(10, 4, 2, sectorSize))
        // A Node Buffer's `slice` is a view, not a copy: a device that copies with it keeps the caller's memory.
        // One large write (the whole device, up to 4 MiB) reaches any whole-extent fast path a device may have.
        const large = Math.min(sizeSectors, Math.max(1, Math.floor(4 * 1024 * 1024 / sectorSize)))
        const whole = pattern(15, 0, large, sectorSize)
        const nodeBuffer = Buffer.from(whole)
        yield* device.write(0, nodeBuffer)
        nodeBuffer.fill(0x3c)
        yield* expectSectors("the sectors written from a Node Buffer", device, sectorSize, 0, whole)
      })
    )
  ),
  rule(
    "write",
    "reads copy the data out: changing the filled buffer changes nothing stored",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(11, 6, 2, sectorSize)
        yield* device.write(6, data)
        const buffer = new Uint8Array(2 * sectorSize)
        yield* device.read(6, buffer)
        buffer.fill(0x3c)
        yield* expectSectors("the sectors read earlier", device, sectorSize, 6, data)
        const never = new Uint8Array(sectorSize)
        yield* device.read(50, never)
        never.fill(0x3c)
        yield* expectZeroSectors("a never-written sector read earlier", device, sectorSize, 50, 1)
      })
    )
  ),
  rule(
    "write",
    "writes the last sector of the device",
    movesData(write, "the last sectors", 12, (info) => info.sizeSectors - 2, 2)
  ),
  rule("write", "a zero-length write succeeds anywhere from 0 to the size and changes nothing", movesNothing(write)),
  rule("write", "treats -0 as sector 0 (a safe integer ≥ 0)", movesData(write, "sector 0", 13, () => -0, 1)),
  rule(
    "write",
    "rejects a sectorStart that is not a sector number with InvalidRequest naming it, and changes nothing",
    rejectsBadSectorStart(write)
  ),
  rule(
    "write",
    "rejects buffers that are not whole sectors with InvalidRequest naming the length, and changes nothing",
    rejectsPartialSectors(write)
  ),
  rule(
    "write",
    "rejects buffers that are not Uint8Arrays with InvalidRequest, and changes nothing",
    rejectsNonBuffers(write)
  ),
  rule(
    "write",
    "rejects ranges past the end with InvalidRequest naming the start and the size, and changes nothing",
    rejectsPastTheEnd(write)
  )
]

// ---------------------------------------------------------------------------
// rejections that must change nothing
// ---------------------------------------------------------------------------

/** Fails with `InvalidRequest` naming `mentions`, and leaves the device as it was. */
const rejectsWithoutChange = (
  device: BlockDeviceShape,
  info: Info,
  cases: ReadonlyArray<{
    readonly what: string
    readonly call: Effect.Effect<unknown, DeviceError>
    readonly mentions: ReadonlyArray<string>
  }>
) =>
  Effect.gen(function*() {
    const before = yield* prefill(device, info)
    for (const { call, mentions, what } of cases) {
      yield* expectFailure(what, "InvalidRequest", call, mentions)
      yield* expectUnchanged(`after the rejected ${what}`, device, info.sectorSize, before)
    }
  })

// ---------------------------------------------------------------------------
// flush
// ---------------------------------------------------------------------------

const flushRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "flush",
    "succeeds, and everything written before it still reads back",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(18, 2, 3, sectorSize)
        yield* device.write(2, data)
        yield* device.flush
        yield* device.flush
        yield* expectSectors("the sectors written before the flush", device, sectorSize, 2, data)
      })
    )
  )
]

// ---------------------------------------------------------------------------
// discard
// ---------------------------------------------------------------------------

const discardRules = (supported: boolean): ReadonlyArray<ConformanceRule> =>
  supported ?
    [
      rule(
        "discard",
        "discarded sectors read as zeros, and the sectors around them keep their data",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize } = info
            yield* prefill(device, info)
            // Unaligned ranges: a device that frees whole pages must still keep the neighbours.
            const ranges: ReadonlyArray<readonly [number, number]> = [[3, 2], [9, 21], [31, 1], [40, 24]]
            for (const [start, sectors] of ranges) yield* device.discard(start, sectors)
            const expected = pattern(1, 0, headSectors, sectorSize)
            for (const [start, sectors] of ranges) expected.fill(0, start * sectorSize, (start + sectors) * sectorSize)
            yield* expectSectors("the first sectors after the discards", device, sectorSize, 0, expected)
          })
        )
      ),
      rule(
        "discard",
        "discarding the last sectors and never-written sectors works",
        withDevice((device, info) =>
          Effect.gen(function*() {
            yield* prefill(device, info)
            yield* device.discard(info.sizeSectors - 1, 1)
            // Never-written sectors between the head and the tail, if the device is large enough to have some.
            if (info.sizeSectors - 2 > headSectors) yield* device.discard(headSectors, info.sizeSectors - 2 - headSectors)
            yield* expectZeroSectors("the last sector", device, info.sectorSize, info.sizeSectors - 1, 1)
            yield* expectSectors(
              "the sector before it",
              device,
              info.sectorSize,
              info.sizeSectors - 2,
              pattern(1, info.sizeSectors - 2, 1, info.sectorSize)
            )
          })
        )
      ),
      rule(
        "discard",
        "a zero-length discard changes nothing",
        changesNothing(() => "after zero-length discards", (device, { sizeSectors }) =>
          Effect.forEach([0, 5, sizeSectors], (at) => device.discard(at, 0), { discard: true }))
      ),
      rule(
        "discard",
        "rejects a sectorStart or sectors that is not a sector number with InvalidRequest naming it, and changes nothing",
        withDevice((device, info) =>
          rejectsWithoutChange(device, info, [
            ...callsWith(badSectorValues, (bad) => `discard(${bad}, 1)`, (bad) => device.discard(unchecked(bad), 1)),
            ...callsWith(badSectorValues, (bad) => `discard(0, ${bad})`, (bad) => device.discard(0, unchecked(bad)))
          ])
        )
      ),
      rule(
        "discard",
        "rejects ranges past the end with InvalidRequest naming the start and the size, and changes nothing",
        withDevice((device, info) =>
          rejectsWithoutChange(
            device,
            info,
            pastTheEnd(info.sizeSectors).map(([start, sectors]) => ({
              what: `discard(${start}, ${sectors}) on ${info.sizeSectors} sectors`,
              call: device.discard(start, sectors),
              mentions: [String(start), String(info.sizeSectors)]
            }))
          )
        )
      )
    ] :
    [
      rule(
        "discard",
        "an unsupported discard fails Unimplemented and changes nothing",
        changesNothing(
          () => "after the unsupported discard",
          (device) => expectFailure("discard(0, 8)", "Unimplemented", device.discard(0, 8))
        )
      )
    ]

// ---------------------------------------------------------------------------
// resize
// ---------------------------------------------------------------------------

const expectSize = (device: BlockDeviceShape, expected: number, when: string) =>
  Effect.flatMap(device.info, ({ sizeSectors }) =>
    check(sizeSectors === expected, () => `${when}, info says ${sizeSectors} sectors, expected ${expected}`))

const badSizes = (sectorSize: number): ReadonlyArray<BadValue> => [
  ...badSectorValues,
  {
    value: Math.floor(Number.MAX_SAFE_INTEGER / sectorSize) + 1,
    label: "one sector more than Number.MAX_SAFE_INTEGER bytes",
    mention: String(Math.floor(Number.MAX_SAFE_INTEGER / sectorSize) + 1)
  }
]

const resizeRules = (supported: boolean): ReadonlyArray<ConformanceRule> =>
  supported ?
    [
      rule(
        "resize",
        "shrinking sets the new size for reads, writes and info, and drops the data past the new end",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize } = info
            yield* prefill(device, info)
            yield* device.resize(32)
            yield* expectSize(device, 32, "after resize(32)")
            yield* expectSectors("the sectors kept", device, sectorSize, 0, pattern(1, 0, 32, sectorSize))
            yield* expectFailure("read(32, 1 sector) after resize(32)", "InvalidRequest", device.read(32, new Uint8Array(sectorSize)))
            yield* expectFailure(
              "write(31, 2 sectors) after resize(32)",
              "InvalidRequest",
              device.write(31, new Uint8Array(2 * sectorSize))
            )
            yield* check(
              (yield* device.seekMapped(32)) === 32,
              () => "seekMapped(32) after resize(32) did not return the new size"
            )
          })
        )
      ),
      rule(
        "resize",
        "growing sets the new size and exposes zeros, keeping the data before the old end",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize, sizeSectors } = info
            const before = yield* prefill(device, info)
            yield* device.resize(sizeSectors + 8)
            yield* expectSize(device, sizeSectors + 8, `after resize(${sizeSectors + 8})`)
            yield* expectZeroSectors("the sectors added", device, sectorSize, sizeSectors, 8)
            yield* expectSectors("the old last sectors", device, sectorSize, sizeSectors - 2, before.tail)
            yield* expectSectors("the first sectors", device, sectorSize, 0, before.head)
            const data = pattern(19, sizeSectors + 7, 1, sectorSize)
            yield* device.write(sizeSectors + 7, data)
            yield* expectSectors("the new last sector", device, sectorSize, sizeSectors + 7, data)
          })
        )
      ),
      rule(
        "resize",
        "shrinking then growing reads zeros where the dropped data was",
        withDevice((device, info) =>
          Effect.gen(function*() {
            const { sectorSize, sizeSectors } = info
            yield* prefill(device, info)
            yield* device.resize(10)
            yield* device.resize(sizeSectors)
            yield* expectSize(device, sizeSectors, `after resize(10) then resize(${sizeSectors})`)
            yield* expectSectors("the sectors kept", device, sectorSize, 0, pattern(1, 0, 10, sectorSize))
            yield* expectZeroSectors("the sectors dropped and regrown", device, sectorSize, 10, headSectors - 10)
            yield* expectZeroSectors("the old last sectors", device, sectorSize, sizeSectors - 2, 2)
          })
        )
      ),
      rule(
        "resize",
        "resizing to 0 leaves an empty device, and growing it back exposes zeros",
        withDevice((device, info) =>
          Effect.gen(function*() {
            yield* prefill(device, info)
            yield* device.resize(0)
            yield* expectSize(device, 0, "after resize(0)")
            yield* device.read(0, new Uint8Array(0))
            yield* expectFailure("read(0, 1 sector) after resize(0)", "InvalidRequest", device.read(0, new Uint8Array(info.sectorSize)))
            yield* device.resize(headSectors)
            yield* expectZeroSectors("the regrown device", device, info.sectorSize, 0, headSectors)
          })
        )
      ),
      rule(
        "resize",
        "resizing to the current size changes nothing",
        changesNothing(({ sizeSectors }) => `after resize(${sizeSectors})`, (device, { sizeSectors }) =>
          device.resize(sizeSectors))
      ),
      rule(
        "resize",
        "rejects sizes that are not sector numbers or too many bytes with InvalidRequest naming them, and changes nothing",
        withDevice((device, info) =>
          rejectsWithoutChange(
            device,
            info,
            callsWith(badSizes(info.sectorSize), (bad) => `resize(${bad})`, (bad) => device.resize(unchecked(bad)))
          )
        )
      )
    ] :
    [
      rule(
        "resize",
        "an unsupported resize fails Unimplemented and changes nothing",
        changesNothing(() => "after the unsupported resizes", (device, { sizeSectors }) =>
          Effect.forEach(
            [32, sizeSectors + 8],
            (size) => expectFailure(`resize(${size})`, "Unimplemented", device.resize(size)),
            { discard: true }
          ))
      )
    ]

// ---------------------------------------------------------------------------
// seekMapped / seekUnmapped
// ---------------------------------------------------------------------------

/** Which of the first sectors hold non-zero data, read from the device. */
const nonZeroSectors = (device: BlockDeviceShape, sectorSize: number, sectors: number) =>
  Effect.map(readSectors(device, sectorSize, 0, sectors), (bytes) => {
    const result: Array<boolean> = []
    for (let s = 0; s < sectors; s++) {
      result.push(!isFilledWith(bytes.subarray(s * sectorSize, (s + 1) * sectorSize), 0))
    }
    return result
  })

/** Runs `seek` from every sector of the head and from the size, checking each result. */
const checkAllSeeks = (device: BlockDeviceShape, info: Info, seek: Seek, supported: boolean) =>
  Effect.gen(function*() {
    const { sizeSectors } = yield* device.info
    const span = Math.min(sizeSectors, headSectors + 8)
    const nonZero = yield* nonZeroSectors(device, info.sectorSize, span)
    const froms = Array.from({ length: span + 1 }, (_, i) => i)
    if (sizeSectors > span) froms.push(sizeSectors - 1, sizeSectors)
    for (const from of froms) {
      const result = yield* device[seek](from)
      const problem = checkSeek(seek, supported, from, result, sizeSectors, nonZero)
      if (problem !== undefined) return yield* fail(problem)
    }
  })

/** A random history of writes and discards, in the first sectors. */
const History = Schema.Array(Schema.Struct({
  discard: Schema.Boolean,
  sectorStart: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: headSectors + 7 })),
  sectors: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 12 }))
})).check(Schema.isMaxLength(16))

const historyArbitrary = Arbitrary.schema(History)

const pickSeed = (seed: number | undefined) =>
  seed === undefined ? Random.nextIntBetween(0, 2 ** 31 - 1) : Effect.succeed(seed)

const seekRules = (seek: Seek, supported: boolean, discard: boolean, options: ConformanceOptions) => {
  const other: Seek = seek === "seekMapped" ? "seekUnmapped" : "seekMapped"
  const guarantee = seek === "seekMapped" ?
    "returns s in [from, size] with every sector in [from, s) reading as zero" :
    "returns s in [from, size] where s is the size or a sector that reads as zero"
  return [
    rule(
      seek,
      supported ? `${guarantee}, around written, discarded and never-written sectors` : (seek === "seekMapped" ?
        "a device that cannot seek reports everything mapped: seekMapped(x) = x" :
        "a device that cannot seek reports everything mapped: seekUnmapped(x) = size"),
      withDevice((device, info) =>
        Effect.gen(function*() {
          const { sectorSize, sizeSectors } = info
          yield* checkAllSeeks(device, info, seek, supported)
          yield* device.write(10, pattern(20, 10, 2, sectorSize))
          yield* device.write(40, pattern(20, 40, 1, sectorSize))
          yield* device.write(sizeSectors - 1, pattern(20, sizeSectors - 1, 1, sectorSize))
          yield* checkAllSeeks(device, info, seek, supported)
          if (discard) {
            yield* device.discard(10, 1)
            yield* device.discard(40, 1)
            yield* checkAllSeeks(device, info, seek, supported)
          }
        })
      )
    ),
    layerRule(
      seek,
      supported ?
        `${guarantee}, over random histories of writes and discards` :
        `keeps the defaults of a device that cannot seek over random histories of writes${discard ? " and discards" : ""}`,
      (layer) =>
        Effect.gen(function*() {
          const seed = yield* pickSeed(options.seed)
          const result = yield* Arbitrary.checkEffect(
            historyArbitrary,
            (history) =>
              onFreshDevice(
                layer,
                withDevice((device, info) =>
                  Effect.gen(function*() {
                    let tag = 30
                    for (const step of history) {
                      const start = Math.min(step.sectorStart, info.sizeSectors - 1)
                      const sectors = Math.min(step.sectors, info.sizeSectors - start)
                      if (step.discard) {
                        if (discard) yield* device.discard(start, sectors)
                      } else {
                        yield* device.write(start, pattern(tag++, start, sectors, info.sectorSize))
                      }
                    }
                    yield* checkAllSeeks(device, info, seek, supported)
                    // The other seek must not disturb this one's answers.
                    yield* device[other](0)
                    yield* checkAllSeeks(device, info, seek, supported)
                  })
                )
              ).pipe(Effect.catchCause((cause) => Effect.fail(describeCause(cause))), Effect.as(true)),
            { seed, runs: options.runs ?? 50 }
          )
          if (result._tag === "Passed") return
          return yield* fail(
            `${Arbitrary.formatCheckFailure(result) ?? result._tag}\nSeed: ${seed} (replay with the conformance option { seed: ${seed} })`
          )
        })
    ),
    rule(
      seek,
      "from = size returns the size",
      withDevice((device, info) =>
        Effect.gen(function*() {
          yield* device.write(info.sizeSectors - 1, pattern(21, info.sizeSectors - 1, 1, info.sectorSize))
          const result = yield* device[seek](info.sizeSectors)
          yield* check(
            result === info.sizeSectors,
            () => `${seek}(${info.sizeSectors}) returned ${result}, expected the size ${info.sizeSectors}`
          )
        })
      )
    ),
    rule(
      seek,
      "rejects a from that is not a sector number, or past the end, with InvalidRequest naming it",
      withDevice((device, info) =>
        Effect.gen(function*() {
          const calls = [
            ...callsWith(badSectorValues, (bad) => `${seek}(${bad})`, (bad) => device[seek](unchecked(bad))),
            ...[info.sizeSectors + 1, Number.MAX_SAFE_INTEGER].map((from) => ({
              what: `${seek}(${from}) on ${info.sizeSectors} sectors`,
              call: device[seek](from),
              mentions: [String(from)]
            }))
          ]
          for (const { call, mentions, what } of calls) yield* expectFailure(what, "InvalidRequest", call, mentions)
        })
      )
    )
  ]
}

// ---------------------------------------------------------------------------
// disconnect
// ---------------------------------------------------------------------------

const disconnectRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "disconnect",
    "is idempotent and never fails",
    withDevice((device) =>
      Effect.gen(function*() {
        yield* device.disconnect
        yield* device.disconnect
        yield* device.disconnect
      })
    )
  ),
  rule(
    "disconnect",
    "afterwards every operation but info and disconnect fails Disconnected",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        yield* device.disconnect
        const buffer = untouchedBuffer(sectorSize)
        const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, DeviceError>]> = [
          ["read(0, 1 sector)", device.read(0, buffer)],
          ["write(0, 1 sector)", device.write(0, pattern(22, 0, 1, sectorSize))],
          ["flush", device.flush],
          ["discard(0, 1)", device.discard(0, 1)],
          ["resize(32)", device.resize(32)],
          ["seekMapped(0)", device.seekMapped(0)],
          ["seekUnmapped(0)", device.seekUnmapped(0)]
        ]
        for (const [what, call] of calls) yield* expectFailure(`${what} after disconnect`, "Disconnected", call)
        yield* check(isFilledWith(buffer, guardByte), () => "read after disconnect wrote into the buffer")
      })
    )
  ),
  rule(
    "disconnect",
    "info still reports the geometry afterwards",
    withDevice((device, info) =>
      Effect.gen(function*() {
        yield* device.disconnect
        const after = yield* device.info
        yield* check(
          after.sectorSize === info.sectorSize && after.sizeSectors === info.sizeSectors,
          () =>
            `info after disconnect says ${after.sizeSectors} sectors of ${after.sectorSize} bytes, before ${info.sizeSectors} of ${info.sectorSize}`
        )
      })
    )
  )
]

// ---------------------------------------------------------------------------
// concurrency
// ---------------------------------------------------------------------------

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

const concurrencyRules: ReadonlyArray<ConformanceRule> = [
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

// ---------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------

/**
 * Every rule of the contract, as data, for a device with the given
 * capabilities. {@link conformance} registers exactly these; use this list
 * directly to run rules without vitest (see {@link runRule}) or to pick some.
 *
 * @since 0.1.0
 */
export const conformanceRules = (options: ConformanceOptions = {}): ReadonlyArray<ConformanceRule> => {
  const discard = options.discard ?? true
  const resize = options.resize ?? true
  const seek = options.seek ?? true
  return [
    ...infoRules,
    ...readRules,
    ...writeRules,
    ...flushRules,
    ...discardRules(discard),
    ...resizeRules(resize),
    ...seekRules("seekMapped", seek, discard, options),
    ...seekRules("seekUnmapped", seek, discard, options),
    ...disconnectRules,
    ...concurrencyRules
  ]
}

/**
 * Runs one rule against a device layer: succeeds if the device keeps the
 * rule, fails with {@link ConformanceViolation} otherwise. Use it to check a
 * device outside vitest, or to show that a rule catches a broken device.
 *
 * @since 0.1.0
 */
export const runRule = <E>(
  rule: ConformanceRule,
  layer: Layer.Layer<BlockDevice, E>
): Effect.Effect<void, ConformanceViolation> => rule.run(layer)

/**
 * Registers the conformance suite with `@effect/vitest`: a `describe(name)`
 * with one `describe` per operation and one `it` per rule of `shared/SPEC.md`.
 * Call it at the top level of a test file.
 *
 * Every test builds `layer` afresh, so tests are independent. The layer must
 * provide a zero-filled, writable device of at least 64 sectors; its
 * geometry is read from `info`. Say what the device cannot do in `options`.
 * Tests run with the live clock, so a device with real or simulated latency
 * works.
 *
 * @example
 * ```ts
 * import { conformance, modelTest } from "@effect-block/testing"
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { Layer } from "effect"
 *
 * const Disk = RamdiskLive({ name: "disk", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive))
 *
 * conformance("ramdisk", Disk)
 * modelTest("ramdisk", Disk)
 * // a fixed-size device without discard or seek:
 * // conformance("my device", MyDeviceLive, { resize: false, discard: false, seek: false })
 * ```
 *
 * @since 0.1.0
 */
export const conformance = <E>(
  name: string,
  layer: Layer.Layer<BlockDevice, E>,
  options?: ConformanceOptions
): void => {
  const rules = conformanceRules(options)
  const operations = Array.from(new Set(rules.map((rule) => rule.operation)))
  describe(name, () => {
    for (const operation of operations) {
      describe(operation, () => {
        for (const rule of rules) {
          if (rule.operation === operation) it.live(rule.rule, () => rule.run(layer))
        }
      })
    }
  })
}
