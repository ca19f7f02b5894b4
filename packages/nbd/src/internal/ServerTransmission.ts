/**
 * The server's transmission phase: reads requests off the connection one
 * after another, runs each as its own fiber against the export's device,
 * and writes each reply when its request completes, so pipelined requests
 * are answered out of order. At most `maxInFlight` requests (and
 * `maxInFlightBytes` of their payloads) run at once; past that the reader
 * stops reading, so a client that never reads its replies stalls only
 * itself, with bounded memory.
 *
 * How each command maps to device operations is in docs/nbd.md.
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import { Buffer } from "node:buffer"
import * as P from "./Protocol.js"
import { BufferPool } from "./BufferPool.js"
import { errnoOf, messageOf } from "./ServerErrors.js"
import { Hangup, maxPayload, type Negotiated } from "./ServerHandshake.js"
import { put16, put32, put64, u16, u32, u64, utf8, WireReader } from "./WireReader.js"

/** The sending half transmission needs. */
export interface Sender<E> {
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, E>
  readonly writeAll: (chunks: readonly [Uint8Array, ...Array<Uint8Array>]) => Effect.Effect<void, E>
  /**
   * Holds the writes made from now until the current turn of the event loop
   * ends, then sends them together (one system call for many replies).
   */
  readonly batch?: (() => void) | undefined
  /** Whether the socket holds none of the bytes written so far (so their buffers may be reused). */
  readonly idle?: (() => boolean) | undefined
  /** Calls `listener` whenever the socket has sent everything it held. */
  readonly onDrain?: ((listener: () => void) => void) | undefined
}

/** Limits of one connection. */
export interface TransmissionLimits {
  readonly maxInFlight: number
  readonly maxInFlightBytes: number
}

/** Reads at least this long are answered with hole chunks for their unmapped ranges. */
const holeThreshold = 64 * 1024
/** At most this many chunks answer one read (the rest goes as data). */
const maxReadChunks = 64
/** At most this many descriptors answer one block status request. */
const maxDescriptors = 16384
/** Bytes of reusable buffers one connection keeps. */
const poolBytes = 32 * 1024 * 1024
/** Buffers smaller than this are not worth keeping. */
const poolMinimum = 16 * 1024
/** Zeros written per step for `WRITE_ZEROES` with `NO_HOLE`. */
const zeroStep = 1024 * 1024

const STATE_UNMAPPED = P.STATE_HOLE | P.STATE_ZERO

const allowedFlags = (type: number, structured: boolean): number => {
  switch (type) {
    case P.CMD_READ:
      return P.CMD_FLAG_FUA | (structured ? P.CMD_FLAG_DF : 0)
    case P.CMD_WRITE_ZEROES:
      return P.CMD_FLAG_FUA | P.CMD_FLAG_NO_HOLE | P.CMD_FLAG_FAST_ZERO
    case P.CMD_BLOCK_STATUS:
      return P.CMD_FLAG_FUA | P.CMD_FLAG_REQ_ONE
    case P.CMD_CACHE:
      return 0
    default:
      return P.CMD_FLAG_FUA
  }
}

const isWriteType = (type: number) => type === P.CMD_WRITE || type === P.CMD_TRIM || type === P.CMD_WRITE_ZEROES

/** A failure of a request, answered with its error number. */
class RequestError {
  constructor(readonly errno: number, readonly message: string) {}
}

/**
 * Serves requests until the client disconnects (`CMD_DISC`, after every
 * request in flight has been answered) or breaks the framing (`Hangup`).
 */
export const transmit = <E>(
  reader: WireReader<E>,
  sender: Sender<E>,
  negotiated: Negotiated,
  limits: TransmissionLimits
): Effect.Effect<void, E | Hangup> =>
  Effect.suspend(() => {
    const device: BlockDeviceShape = negotiated.export.device
    const { readOnly, sectorSize, sizeBytes } = negotiated.export
    const { allocationContext, structured } = negotiated
    let inFlight = 0
    let inFlightBytes = 0
    const slots = Latch.makeUnsafe(true)
    let zeros: Uint8Array | undefined
    const send = (chunks: readonly [Uint8Array, ...Array<Uint8Array>]): Effect.Effect<void, E> =>
      chunks.length === 1 ? sender.write(chunks[0]) : sender.writeAll(chunks)

    // Large buffers are reused: a write's payload once the device has copied it, a read's reply
    // once the socket no longer holds any bytes (sent buffers wait in `retired` until then).
    const pool = new BufferPool(poolBytes)
    const retired: Array<Uint8Array> = []
    const recycle = () => {
      if (retired.length === 0 || sender.idle === undefined || !sender.idle()) return
      for (let i = 0; i < retired.length; i++) pool.give(retired[i]!)
      retired.length = 0
    }
    sender.onDrain?.(recycle)
    const sendAndRetire = (chunks: readonly [Uint8Array, ...Array<Uint8Array>]): Effect.Effect<void, E> =>
      Effect.map(send(chunks), () => {
        if (sender.idle === undefined) return
        for (let i = 0; i < chunks.length; i++) if (chunks[i]!.length >= poolMinimum) retired.push(chunks[i]!)
        recycle()
      })

    const simpleHeader = (bytes: Uint8Array, cookieHigh: number, cookieLow: number, errno: number) => {
      put32(bytes, 0, P.SIMPLE_REPLY_MAGIC)
      put32(bytes, 4, errno)
      put32(bytes, 8, cookieHigh)
      put32(bytes, 12, cookieLow)
    }

    const simpleReply = (cookieHigh: number, cookieLow: number, errno: number): Uint8Array => {
      // Node's pooled allocation: a small reply costs no ArrayBuffer of its own.
      const bytes = Buffer.allocUnsafe(16)
      simpleHeader(bytes, cookieHigh, cookieLow, errno)
      return bytes
    }

    const chunkHeader = (
      bytes: Uint8Array,
      at: number,
      flags: number,
      type: number,
      cookieHigh: number,
      cookieLow: number,
      length: number
    ) => {
      put32(bytes, at, P.STRUCTURED_REPLY_MAGIC)
      put16(bytes, at + 4, flags)
      put16(bytes, at + 6, type)
      put32(bytes, at + 8, cookieHigh)
      put32(bytes, at + 12, cookieLow)
      put32(bytes, at + 16, length)
    }

    const errorChunk = (cookieHigh: number, cookieLow: number, errno: number, message: string): Uint8Array => {
      const text = utf8(message).subarray(0, 1024)
      const bytes = new Uint8Array(20 + 6 + text.length)
      chunkHeader(bytes, 0, P.REPLY_FLAG_DONE, P.REPLY_TYPE_ERROR, cookieHigh, cookieLow, 6 + text.length)
      put32(bytes, 20, errno)
      put16(bytes, 24, text.length)
      bytes.set(text, 26)
      return bytes
    }

    /** The reply to a failed request: an error chunk where a structured reply is required. */
    const failureReply = (type: number, cookieHigh: number, cookieLow: number, errno: number, message: string) =>
      structured && (type === P.CMD_READ || type === P.CMD_BLOCK_STATUS)
        ? errorChunk(cookieHigh, cookieLow, errno, message)
        : simpleReply(cookieHigh, cookieLow, errno)

    const fua = (flags: number, effect: Effect.Effect<void, unknown>): Effect.Effect<void, unknown> =>
      (flags & P.CMD_FLAG_FUA) === 0 ? effect : Effect.andThen(effect, device.flush)

    const writeZeros = (sectorStart: number, sectors: number): Effect.Effect<void, unknown> => {
      zeros ??= new Uint8Array(zeroStep)
      const step = zeroStep / sectorSize
      let done = 0
      return Effect.whileLoop({
        while: () => done < sectors,
        body: () => {
          const count = Math.min(step, sectors - done)
          const at = sectorStart + done
          done += count
          return device.write(at, zeros!.subarray(0, count * sectorSize))
        },
        step: () => {}
      })
    }

    const zero = (sectorStart: number, sectors: number, flags: number): Effect.Effect<void, unknown> => {
      const noHole = (flags & P.CMD_FLAG_NO_HOLE) !== 0
      const fast = (flags & P.CMD_FLAG_FAST_ZERO) !== 0
      if (noHole) {
        return fast
          ? Effect.fail(new RequestError(P.ENOTSUP, "writing zeros with NO_HOLE is no faster than a write"))
          : writeZeros(sectorStart, sectors)
      }
      return device.discard(sectorStart, sectors).pipe(
        Effect.catchTag("Unimplemented", () =>
          fast
            ? Effect.fail(new RequestError(P.ENOTSUP, "the device cannot discard, so zeroing is not fast"))
            : writeZeros(sectorStart, sectors))
      )
    }

    /** Answers a read with data and (for long reads) hole chunks. */
    const read = (flags: number, cookieHigh: number, cookieLow: number, offset: number, length: number) => {
      const sectorStart = offset / sectorSize
      if (!structured) {
        const bytes = pool.take(16 + length)
        simpleHeader(bytes, cookieHigh, cookieLow, 0)
        return Effect.as(device.read(sectorStart, bytes.subarray(16)), [bytes] as const)
      }
      const dataChunk = (start: number, bytesLength: number, done: boolean) => {
        // Every byte is written: the header here, the data by the device read.
        const bytes = pool.take(28 + bytesLength)
        chunkHeader(bytes, 0, done ? P.REPLY_FLAG_DONE : 0, P.REPLY_TYPE_OFFSET_DATA, cookieHigh, cookieLow, 8 + bytesLength)
        put64(bytes, 20, start)
        return bytes
      }
      if (length === 0) {
        const bytes = new Uint8Array(20)
        chunkHeader(bytes, 0, P.REPLY_FLAG_DONE, P.REPLY_TYPE_NONE, cookieHigh, cookieLow, 0)
        return Effect.succeed([bytes] as const)
      }
      if (length < holeThreshold || (flags & P.CMD_FLAG_DF) !== 0) {
        const bytes = dataChunk(offset, length, true)
        return Effect.as(device.read(sectorStart, bytes.subarray(28)), [bytes] as const)
      }
      return Effect.gen(function*() {
        const end = sectorStart + length / sectorSize
        const chunks: Array<Uint8Array> = []
        let position = sectorStart
        while (position < end) {
          if (chunks.length >= maxReadChunks - 1) {
            const bytes = dataChunk(position * sectorSize, (end - position) * sectorSize, false)
            yield* device.read(position, bytes.subarray(28))
            chunks.push(bytes)
            break
          }
          const mapped = Math.min(end, yield* device.seekMapped(position))
          if (mapped > position) {
            const bytes = new Uint8Array(32)
            chunkHeader(bytes, 0, 0, P.REPLY_TYPE_OFFSET_HOLE, cookieHigh, cookieLow, 12)
            put64(bytes, 20, position * sectorSize)
            put32(bytes, 28, (mapped - position) * sectorSize)
            chunks.push(bytes)
            position = mapped
          }
          if (position >= end) break
          const unmapped = Math.min(end, Math.max(position + 1, yield* device.seekUnmapped(position)))
          const bytes = dataChunk(position * sectorSize, (unmapped - position) * sectorSize, false)
          yield* device.read(position, bytes.subarray(28))
          chunks.push(bytes)
          position = unmapped
        }
        const last = chunks[chunks.length - 1]!
        put16(last, 4, P.REPLY_FLAG_DONE)
        return chunks as unknown as readonly [Uint8Array, ...Array<Uint8Array>]
      })
    }

    /** Answers `BLOCK_STATUS` for `base:allocation` from the device's seeks. */
    const blockStatus = (flags: number, cookieHigh: number, cookieLow: number, offset: number, length: number) =>
      Effect.gen(function*() {
        const one = (flags & P.CMD_FLAG_REQ_ONE) !== 0
        const start = offset / sectorSize
        const end = start + Math.ceil(length / sectorSize)
        const descriptors: Array<number> = []
        let position = start
        while (position < end && descriptors.length < 2 * maxDescriptors) {
          const mapped = Math.min(end, yield* device.seekMapped(position))
          if (mapped > position) {
            descriptors.push((mapped - position) * sectorSize, STATE_UNMAPPED)
            position = mapped
            if (one) break
          }
          if (position >= end) break
          const unmapped = Math.min(end, Math.max(position + 1, yield* device.seekUnmapped(position)))
          descriptors.push((unmapped - position) * sectorSize, 0)
          position = unmapped
          if (one) break
        }
        const bytes = new Uint8Array(24 + descriptors.length * 4)
        chunkHeader(bytes, 0, P.REPLY_FLAG_DONE, P.REPLY_TYPE_BLOCK_STATUS, cookieHigh, cookieLow, 4 + descriptors.length * 4)
        put32(bytes, 20, allocationContext)
        for (let i = 0; i < descriptors.length; i++) put32(bytes, 24 + 4 * i, descriptors[i]!)
        return [bytes] as const
      })

    /** The operation of a request whose header passed the checks; succeeds with its reply. */
    const operation = (
      type: number,
      flags: number,
      cookieHigh: number,
      cookieLow: number,
      offset: number,
      length: number,
      payload: Uint8Array | undefined,
      ownedPayload: boolean
    ): Effect.Effect<readonly [Uint8Array, ...Array<Uint8Array>], unknown> => {
      const sectorStart = offset / sectorSize
      const sectors = length / sectorSize
      const ok = () => [simpleReply(cookieHigh, cookieLow, 0)] as const
      switch (type) {
        case P.CMD_READ:
          return read(flags, cookieHigh, cookieLow, offset, length)
        case P.CMD_WRITE:
          return Effect.map(fua(flags, device.write(sectorStart, payload!)), ok).pipe(
            // The device has copied the data in: a payload we allocated can serve the next write.
            Effect.ensuring(Effect.sync(() => {
              if (ownedPayload) pool.give(payload!)
            }))
          )
        case P.CMD_FLUSH:
          return Effect.map(device.flush, ok)
        case P.CMD_TRIM:
          // TRIM is advice: a device that cannot discard ignores it.
          return Effect.map(
            fua(flags, Effect.catchTag(device.discard(sectorStart, sectors), "Unimplemented", () => Effect.void)),
            ok
          )
        case P.CMD_WRITE_ZEROES:
          return Effect.map(fua(flags, zero(sectorStart, sectors, flags)), ok)
        case P.CMD_BLOCK_STATUS:
          return blockStatus(flags, cookieHigh, cookieLow, offset, length)
        default:
          // CACHE: the devices hold their data in memory or behind the OS cache already.
          return Effect.succeed(ok())
      }
    }

    /** Why a request is refused before it reaches the device, or undefined. */
    const check = (type: number, flags: number, offset: number, length: number): RequestError | undefined => {
      if (type > P.CMD_BLOCK_STATUS || type === P.CMD_DISC) return new RequestError(P.EINVAL, `unknown command ${type}`)
      const unknown = flags & ~allowedFlags(type, structured)
      if (unknown !== 0) return new RequestError(P.EINVAL, `flags 0x${unknown.toString(16)} are not valid for command ${type}`)
      if (type === P.CMD_FLUSH) return undefined
      if (readOnly && isWriteType(type)) return new RequestError(P.EPERM, "the export is read-only")
      if (type === P.CMD_BLOCK_STATUS && allocationContext === 0) {
        return new RequestError(P.EINVAL, "no meta context was selected")
      }
      if ((type === P.CMD_READ || type === P.CMD_WRITE) && length > maxPayload) {
        return new RequestError(P.EOVERFLOW, `length ${length} exceeds the maximum payload ${maxPayload}`)
      }
      if (offset < 0 || offset + length > sizeBytes) {
        const errno = isWriteType(type) ? P.ENOSPC : P.EINVAL
        return new RequestError(errno, `range at ${offset} of ${length} bytes is past the end ${sizeBytes}`)
      }
      if (offset % sectorSize !== 0 || length % sectorSize !== 0) {
        return new RequestError(P.EINVAL, `offset ${offset} or length ${length} is not a multiple of ${sectorSize}`)
      }
      if (type === P.CMD_BLOCK_STATUS && length === 0) return new RequestError(P.EINVAL, "block status of 0 bytes")
      return undefined
    }

    const release = (cost: number) =>
      Effect.sync(() => {
        inFlight--
        inFlightBytes -= cost
        slots.openUnsafe()
      })

    const handle = (
      type: number,
      flags: number,
      cookieHigh: number,
      cookieLow: number,
      offset: number,
      length: number,
      payload: Uint8Array | undefined,
      ownedPayload: boolean,
      refused: RequestError | undefined
    ): Effect.Effect<void, E> => {
      const fail = (errno: number, message: string) => send([failureReply(type, cookieHigh, cookieLow, errno, message)])
      if (refused !== undefined) return fail(refused.errno, refused.message)
      return Effect.matchCauseEffect(operation(type, flags, cookieHigh, cookieLow, offset, length, payload, ownedPayload), {
        onSuccess: type === P.CMD_READ ? sendAndRetire : send,
        onFailure: (cause) => {
          const error = Cause.squash(cause)
          if (error instanceof RequestError) return fail(error.errno, error.message)
          return fail(errnoOf(error), messageOf(error))
        }
      })
    }

    const mustWait = (cost: number) =>
      inFlight >= limits.maxInFlight || (inFlight > 0 && inFlightBytes + cost > limits.maxInFlightBytes)

    const awaitSlot = (cost: number) =>
      Effect.whileLoop({
        while: () => mustWait(cost),
        body: () => {
          slots.closeUnsafe()
          return slots.await
        },
        step: () => {}
      })

    const awaitIdle = Effect.whileLoop({
      while: () => inFlight > 0,
      body: () => {
        slots.closeUnsafe()
        return slots.await
      },
      step: () => {}
    })

    const takeBuffer = (n: number) => pool.take(n)

    return Effect.gen(function*() {
      while (true) {
        if (reader.available < 28) yield* reader.ensure(28)
        sender.batch?.()
        recycle()
        reader.window(28)
        const bytes = reader.windowBytes
        const at = reader.windowAt
        if (u32(bytes, at) !== P.REQUEST_MAGIC) return yield* Effect.fail(new Hangup("bad request magic"))
        const flags = u16(bytes, at + 4)
        const type = u16(bytes, at + 6)
        const cookieHigh = u32(bytes, at + 8)
        const cookieLow = u32(bytes, at + 12)
        const offset = u64(bytes, at + 16)
        const length = u32(bytes, at + 24)
        reader.skip(28)
        if (type === P.CMD_DISC) {
          yield* awaitIdle
          return
        }
        const refused = check(type, flags, offset, length)
        let payload: Uint8Array | undefined
        let ownedPayload = false
        if (type === P.CMD_WRITE) {
          if (refused === undefined) {
            payload = yield* reader.read(length, takeBuffer)
            ownedPayload = reader.readCopied
          } else yield* reader.discard(length)
        }
        const cost = type === P.CMD_READ || type === P.CMD_WRITE ? length : 0
        if (mustWait(cost)) yield* awaitSlot(cost)
        inFlight++
        inFlightBytes += cost
        // A reply that cannot be written means the socket is gone: the next read ends the connection.
        yield* Effect.forkChild(
          handle(type, flags, cookieHigh, cookieLow, offset, length, payload, ownedPayload, refused).pipe(
            Effect.ignore,
            Effect.ensuring(release(cost))
          ),
          { startImmediately: true }
        )
      }
    })
  })
