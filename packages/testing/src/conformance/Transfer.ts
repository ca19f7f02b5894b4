/**
 * Read and write as the rules they share see them: both move whole sectors
 * between the device and a list of caller buffers, in opposite directions,
 * and a rejected call must have no effect — on the caller's buffers for a
 * read, on the device for a write. `Read.ts` and `Write.ts` state their
 * rules with these bodies.
 *
 * @since 0.2.0
 */
import type { BlockDeviceShape, Buffers, Info } from "@effect-block/block"
import * as Effect from "effect/Effect"
import {
  badLengths,
  badSectorValues,
  check,
  expectBytes,
  expectFailure,
  expectSectors,
  expectUnchanged,
  guardByte,
  isFilledWith,
  notBuffers,
  pastTheEnd,
  pattern,
  prefill,
  type State,
  unchecked,
  untouchedBuffer
} from "../internal/ConformanceKit.js"
import { type Body, changesNothing, type Failure, mentionsOf, withDevice } from "./Rule.js"


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
export interface Transfer {
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

/** `read` as a transfer: device to buffers; a rejected read touches no buffer. */
export const read: Transfer = {
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

/** `write` as a transfer: buffers to device; a rejected write changes nothing on the device. */
export const write: Transfer = {
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
export const movesData = (
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
export const movesThroughViews = (transfer: Transfer): Body =>
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
export const movesNothing = (transfer: Transfer): Body =>
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

/** Every bad sector value as `sectorStart`, each rejected naming it. */
export const rejectsBadSectorStart = (transfer: Transfer): Body =>
  rejectsCalls(transfer, ({ sectorSize }) =>
    badSectorValues.map((bad) => ({
      what: `${transfer.operation}(${bad.label})`,
      sectorStart: bad.value,
      buffers: transfer.buffer(sectorSize, sectorSize),
      mentions: mentionsOf(bad)
    })))

/** Buffers that are not whole sectors, alone and after a whole one, each rejected naming the length. */
export const rejectsPartialSectors = (transfer: Transfer): Body =>
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

/** Values that are not buffers or lists of Uint8Arrays, each rejected. */
export const rejectsNonBuffers = (transfer: Transfer): Body =>
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

/** Ranges past the end, each rejected naming the start and the size. */
export const rejectsPastTheEnd = (transfer: Transfer): Body =>
  rejectsCalls(transfer, ({ sectorSize, sizeSectors }) =>
    pastTheEnd(sizeSectors).map(([start, sectors]) => ({
      what: `${transfer.operation}(${start}, ${sectors} sectors) on ${sizeSectors} sectors`,
      sectorStart: start,
      buffers: transfer.buffer(sectors * sectorSize, sectorSize),
      mentions: [String(start), String(sizeSectors)]
    })))
