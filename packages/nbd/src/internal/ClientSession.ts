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
import { NodeSocket } from "@effect/platform-node"
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
   * Sends one request and waits for its last reply. Never fails: the
   * returned request carries `failure` when it did not succeed.
   * `payload` (a write's data) is written as given, without copying.
   */
  readonly request: (
    command: number,
    flags: number,
    offset: number,
    length: number,
    payload: ReadonlyArray<Uint8Array> | undefined,
    targets: ReadonlyArray<Uint8Array> | undefined
  ) => Effect.Effect<Pending>
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

/** The 28-byte request header. Offsets are below 2^53, cookies below 2^53. */
const requestHeader = (command: number, flags: number, cookie: number, offset: number, length: number): Uint8Array => {
  const bytes = new Uint8Array(28)
  putU32(bytes, 0, P.REQUEST_MAGIC)
  bytes[4] = flags >>> 8
  bytes[5] = flags & 0xff
  bytes[6] = command >>> 8
  bytes[7] = command & 0xff
  putU32(bytes, 8, Math.floor(cookie / 0x100000000))
  putU32(bytes, 12, cookie >>> 0)
  putU32(bytes, 16, Math.floor(offset / 0x100000000))
  putU32(bytes, 20, offset >>> 0)
  putU32(bytes, 24, length)
  return bytes
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

    const wait = (pending: Pending) =>
      Effect.callback<Pending>((resume) => {
        if (pending.finished) return resume(Effect.succeed(pending))
        pending.resume = () => resume(Effect.succeed(pending))
        return Effect.sync(() => {
          pending.abandoned = true
          pending.resume = undefined
        })
      })

    const request: Session["request"] = (command, flags, offset, length, payload, targets) =>
      Effect.suspend(() => {
        const pending = makePending(nextCookie++, command, offset, length, targets)
        if (dead !== undefined || conn === undefined || conn.destroyed) {
          pending.failure = dead ?? { _tag: "Lost", message: `the connection to ${address} is closed` }
          pending.finished = true
          return Effect.succeed(pending)
        }
        table.set(pending.cookie, pending)
        const header = requestHeader(command, flags, pending.cookie, offset, length)
        const write = payload === undefined ? writer.write(header) : writer.writeAll([header, ...payload])
        return write.pipe(
          Effect.catch((cause) => {
            die({ _tag: "Lost", message: `the connection to ${address} was lost: ${describeCause(cause)}`, cause })
            return Effect.void
          }),
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              pending.abandoned = true
            })
          ),
          Effect.andThen(wait(pending))
        )
      })

    const close: Effect.Effect<void> = Effect.suspend(() => {
      if (closing) return Effect.void
      closing = true
      const socket = conn
      const graceful = dead === undefined && socket !== undefined && !socket.destroyed
      if (graceful) {
        // NBD_CMD_DISC has no reply; end() flushes it before the FIN.
        socket.write(requestHeader(P.CMD_DISC, 0, nextCookie++, 0, 0))
        socket.end()
      }
      die({ _tag: "Closed" })
      const flushed = !graceful ? Effect.void : Effect.callback<void>((resume) => {
        // Wait (briefly) for the server to close its side, so the DISC is not lost to a reset.
        const done = () => resume(Effect.void)
        const timer = setTimeout(done, 1000)
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
