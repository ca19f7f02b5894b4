/**
 * One client connection to an NBD server: dial (TCP or Unix socket, through
 * `effect/socket` on `@effect/platform-node`), negotiate, then run the
 * transmission phase — a single reader fiber feeding the reply parser, and
 * requests from any number of fibers written as they come (pipelined) and
 * completed in whatever order the server answers.
 *
 * A session never recovers: when the connection is lost or the server breaks
 * the protocol, every request in flight finishes with that failure and
 * `onLost` is called once. Reconnecting is the client's business (Client.ts).
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as Net from "node:net"
import { NbdConnectError, type NbdOptionError, type NbdProtocolError } from "../ClientErrors.js"
import { type Address, describeAddress } from "./ClientUri.js"
import { type Failure, makePending, type Pending, ReplyParser } from "./ClientReplies.js"
import { negotiate, type Negotiated } from "./ClientHandshake.js"
import * as P from "./Protocol.js"

/** A live connection in its transmission phase. */
export interface Session {
  readonly negotiated: Negotiated
  /**
   * Sends one request and, once its last reply is in, continues with
   * `done` (which sees `failure` on the request when it did not succeed).
   * `payload` (a write's data) is written as given, without copying.
   */
  readonly request: <A, E>(
    command: number,
    flags: number,
    offset: number,
    length: number,
    payload: ReadonlyArray<Uint8Array> | undefined,
    targets: ReadonlyArray<Uint8Array> | undefined,
    done: (pending: Pending) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E>
  /** Whether the connection still works. */
  readonly alive: () => boolean
  /** Sends `NBD_CMD_DISC` and closes; requests still in flight finish `Closed`. Idempotent. */
  readonly close: Effect.Effect<void>
}

/** How to open a session. */
export interface SessionOptions {
  readonly address: Address
  readonly exportName: string
  readonly connectTimeout: Duration.Duration
  /** Called once if the connection dies without `close` (lost, or a protocol violation). */
  readonly onLost: (failure: Failure) => void
}

const putU32 = (bytes: Uint8Array, at: number, value: number) => {
  bytes[at] = value >>> 24
  bytes[at + 1] = (value >>> 16) & 0xff
  bytes[at + 2] = (value >>> 8) & 0xff
  bytes[at + 3] = value & 0xff
}

/** Bytes of request headers carved from one allocation. */
const slabBytes = 64 * 1024

/**
 * Outgoing bytes of one connection, written by a single flusher: requests
 * made by many fibers in the same turn go out in one `writev`, and their
 * 28-byte headers are carved from a shared slab (consecutive headers without
 * payload between them merge into one contiguous chunk).
 */
class Outgoing {
  chunks: Array<Uint8Array> = []
  private slab = new Uint8Array(slabBytes)
  private used = 0
  /** Where the last queued chunk ends in the slab, when it is a header run there. */
  private runEnd = -1

  header(command: number, flags: number, cookie: number, offset: number, length: number): void {
    if (this.used + 28 > this.slab.byteLength) {
      this.slab = new Uint8Array(slabBytes)
      this.used = 0
      this.runEnd = -1
    }
    const bytes = this.slab
    const at = this.used
    putU32(bytes, at, P.REQUEST_MAGIC)
    bytes[at + 4] = flags >>> 8
    bytes[at + 5] = flags & 0xff
    bytes[at + 6] = command >>> 8
    bytes[at + 7] = command & 0xff
    putU32(bytes, at + 8, Math.floor(cookie / 0x100000000))
    putU32(bytes, at + 12, cookie >>> 0)
    putU32(bytes, at + 16, Math.floor(offset / 0x100000000))
    putU32(bytes, at + 20, offset >>> 0)
    putU32(bytes, at + 24, length)
    this.used = at + 28
    const chunks = this.chunks
    if (this.runEnd === at && chunks.length > 0) {
      const last = chunks[chunks.length - 1]!
      chunks[chunks.length - 1] = bytes.subarray(last.byteOffset, at + 28)
    } else {
      chunks.push(bytes.subarray(at, at + 28))
    }
    this.runEnd = at + 28
  }

  payload(buffers: ReadonlyArray<Uint8Array>): void {
    for (const buffer of buffers) if (buffer.byteLength > 0) this.chunks.push(buffer)
    this.runEnd = -1
  }

  take(): Array<Uint8Array> {
    const out = this.chunks
    this.chunks = []
    this.runEnd = -1
    return out
  }
}

/** A lone request header (for NBD_CMD_DISC). */
const requestHeader = (command: number, cookie: number): Uint8Array => {
  const out = new Outgoing()
  out.header(command, 0, cookie, 0, 0)
  return out.take()[0]!
}

const describeCause = (cause: unknown): string => {
  if (Socket.isSocketError(cause)) {
    const reason = cause.reason
    if ("cause" in reason && reason.cause instanceof Error) return reason.cause.message
    return reason.message
  }
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * Dials, negotiates and starts the reader. The connection lives in a child
 * of `parent`; `close` (or closing `parent`) ends it.
 */
export const open = (
  options: SessionOptions,
  parent: Scope.Scope
): Effect.Effect<Session, NbdConnectError | NbdOptionError | NbdProtocolError> =>
  Effect.gen(function*() {
    const address = describeAddress(options.address)
    const scope = yield* Scope.fork(parent, "sequential")
    let conn: Net.Socket | undefined

    const dial = Effect.callback<Net.Socket, Socket.SocketError>((resume) => {
      const target = options.address
      const socket = target._tag === "Unix" ?
        Net.createConnection({ path: target.path }) :
        Net.createConnection({ host: target.host, port: target.port, noDelay: true })
      conn = socket
      // Every fiber whose write waits for 'drain' listens on the socket; many in flight is normal here.
      socket.setMaxListeners(0)
      // A permanent listener: an 'error' with none would abort the process; the reader reports errors itself.
      socket.on("error", () => undefined)
      const onError = (cause: Error) =>
        resume(Effect.fail(new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })))
      socket.once("error", onError)
      socket.once("connect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(socket))
      })
    })
    yield* Scope.addFinalizer(scope, Effect.sync(() => conn?.destroy()))

    const connect = Effect.gen(function*() {
      const socket = yield* NodeSocket.fromDuplex(dial)
      const reader = yield* Scope.provide(socket.reader, scope).pipe(
        Effect.mapError((cause) =>
          new NbdConnectError({ address, message: `${address}: cannot connect: ${describeCause(cause)}`, cause })
        )
      )
      const writer = yield* Scope.provide(socket.writer, scope)
      const negotiated = yield* negotiate({ pull: reader.pull, write: writer.write, address, exportName: options.exportName })
      return { reader, writer, negotiated }
    })
    const opened = yield* connect.pipe(
      Effect.timeoutOrElse({
        duration: options.connectTimeout,
        orElse: () =>
          Effect.fail(
            new NbdConnectError({
              address,
              message: `${address}: no NBD handshake within ${Duration.format(options.connectTimeout)}`
            })
          )
      }),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
    const { negotiated, reader, writer } = opened

    const table = new Map<number, Pending>()
    let nextCookie = 1
    let dead: Failure | undefined
    let closing = false

    const finish = (pending: Pending) => {
      pending.finished = true
      const resume = pending.resume
      pending.resume = undefined
      if (resume !== undefined) resume()
    }

    /** Ends the session: every request in flight finishes with `failure`. */
    const die = (failure: Failure) => {
      if (dead !== undefined) return
      dead = closing ? { _tag: "Closed" } : failure
      for (const pending of table.values()) {
        pending.failure = dead
        finish(pending)
      }
      table.clear()
      // A deliberate close lets the socket flush NBD_CMD_DISC first (see close).
      if (!closing) {
        conn?.destroy()
        options.onLost(failure)
      }
    }

    const parser = new ReplyParser(table, negotiated.structuredReplies, negotiated.allocationContext, finish)
    const feed = (chunk: Uint8Array | string): boolean => {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk
      let violation: string | undefined
      try {
        violation = parser.feed(bytes)
      } catch (cause) {
        // The parser checks every field before using it; this only guards against a bug turning into a hang.
        violation = `the reply could not be parsed (${cause instanceof Error ? cause.message : String(cause)})`
      }
      if (violation === undefined) return true
      die({ _tag: "Protocol", message: `the server broke the NBD protocol: ${violation}` })
      return false
    }
    for (const chunk of negotiated.leftover) if (!feed(chunk)) break

    const readLoop: Effect.Effect<void> = Effect.suspend(function loop(): Effect.Effect<void> {
      if (dead !== undefined) return Effect.void
      return Effect.matchEffect(reader.pull, {
        onFailure: (cause) => {
          die({ _tag: "Lost", message: `the connection to ${address} was lost: ${describeCause(cause)}`, cause })
          return Effect.void
        },
        onSuccess: (chunks) => {
          for (const chunk of chunks) if (!feed(chunk)) return Effect.void
          return loop()
        }
      })
    })
    yield* Effect.forkIn(readLoop, scope)

    const outgoing = new Outgoing()
    let wakeFlusher: (() => void) | undefined
    /** Writes whatever requests have queued, one batch at a time, until the session dies. */
    const flusher: Effect.Effect<void> = Effect.suspend(function loop(): Effect.Effect<void> {
      if (dead !== undefined) return Effect.void
      if (outgoing.chunks.length === 0) {
        return Effect.andThen(
          Effect.callback<void>((resume) => {
            wakeFlusher = () => resume(Effect.void)
            return Effect.sync(() => {
              wakeFlusher = undefined
            })
          }),
          // Let the other fibers that are ready run first: their requests join this batch.
          () => Effect.andThen(Effect.yieldNow, loop)
        )
      }
      const batch = outgoing.take() as [Uint8Array, ...Array<Uint8Array>]
      return Effect.matchEffect(writer.writeAll(batch), {
        onFailure: (cause) => {
          die({ _tag: "Lost", message: `the connection to ${address} was lost: ${describeCause(cause)}`, cause })
          return Effect.void
        },
        onSuccess: loop
      })
    })
    yield* Effect.forkIn(flusher, scope)

    const request: Session["request"] = (command, flags, offset, length, payload, targets, done) =>
      Effect.suspend(() => {
        const pending = makePending(nextCookie++, command, offset, length, targets)
        if (dead !== undefined || conn === undefined || conn.destroyed) {
          pending.failure = dead ?? { _tag: "Lost", message: `the connection to ${address} is closed` }
          pending.finished = true
          return done(pending)
        }
        table.set(pending.cookie, pending)
        outgoing.header(command, flags, pending.cookie, offset, length)
        if (payload !== undefined) outgoing.payload(payload)
        const wake = wakeFlusher
        if (wake !== undefined) {
          wakeFlusher = undefined
          wake()
        }
        // The reply completes the caller's fiber directly with `done`'s effect: no extra step per request.
        return Effect.callback((resume) => {
          if (pending.finished) return resume(done(pending))
          pending.resume = () => resume(done(pending))
          return Effect.sync(() => {
            pending.abandoned = true
            pending.resume = undefined
          })
        })
      })

    const close: Effect.Effect<void> = Effect.suspend(() => {
      if (closing) return Effect.void
      closing = true
      const socket = conn
      const graceful = dead === undefined && socket !== undefined && !socket.destroyed
      if (graceful) {
        // Whatever is still queued, then NBD_CMD_DISC (which has no reply); end() flushes it all before the FIN.
        for (const chunk of outgoing.take()) socket.write(chunk)
        socket.write(requestHeader(P.CMD_DISC, nextCookie++))
        socket.end()
      }
      die({ _tag: "Closed" })
      const flushed = !graceful ? Effect.void : Effect.callback<void>((resume) => {
        // Wait (briefly) for the server to close its side, so the DISC is not lost to a reset.
        const done = () => {
          clearTimeout(timer)
          resume(Effect.void)
        }
        const timer = setTimeout(done, 1000)
        timer.unref()
        socket.once("close", done)
        return Effect.sync(() => {
          clearTimeout(timer)
          socket.off("close", done)
        })
      })
      return Effect.andThen(flushed, Scope.close(scope, Exit.void))
    })

    return {
      negotiated,
      request,
      alive: () => dead === undefined && !closing,
      close
    } satisfies Session
  })
