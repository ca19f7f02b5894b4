/**
 * The NBD client as a block device: the `BlockDevice.make` core operations
 * over a session (ClientSession.ts), with requests split to the server's
 * limits, server errnos mapped to the contract's errors (docs/semantics.md),
 * seeks answered from `base:allocation` block status, and the reconnect
 * policy: what a lost connection does to requests in flight and later ones.
 */
import { InvalidRequest, IOError, IsReadOnly, type ReadError, type WriteError } from "@effect-block/block"
import { type Core } from "@effect-block/block/Implementer"
import { Connection, Disconnected, Unimplemented } from "@effect-block/device"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { NbdProtocolError, NbdRequestError } from "../ClientErrors.js"
import { errnoName, type Failure, type Pending } from "./ClientReplies.js"
import type { Negotiated } from "./ClientHandshake.js"
import type { Session } from "./ClientSession.js"
import * as P from "./Protocol.js"

/** What the device needs to know about its export and how to (re)connect. */
export interface DeviceOptions {
  readonly name: string
  readonly sectorSize: number
  readonly readOnly: boolean
  readonly first: Session
  /** Opens a new session; `onLost` is wired by the caller to {@link ClientState.lost}. */
  readonly reopen: Effect.Effect<Session, unknown>
  readonly reconnect: Schedule.Schedule<unknown, unknown> | undefined
  readonly scope: Scope.Scope
}

/** The connection state shared between the device and its sessions' `onLost`. */
export interface ClientState {
  /** Called by a session when its connection dies. */
  lost: (failure: Failure) => void
}

/** How many times one request is sent again after reconnecting before it fails. */
const maxResends = 8

/** Commands that may be sent again on a new connection: they do the same thing twice. */
const resendable = (command: number) =>
  command === P.CMD_READ || command === P.CMD_WRITE || command === P.CMD_WRITE_ZEROES || command === P.CMD_BLOCK_STATUS

const writeType = (command: number) => command === P.CMD_WRITE || command === P.CMD_WRITE_ZEROES

/** The contract's error for a failed request. */
const toError = (
  operation: string,
  command: number,
  name: string,
  sectorSize: number,
  pending: Pending,
  failure: Failure,
  disconnected: () => Disconnected
): ReadError | WriteError => {
  const sectorStart = Math.floor(pending.offset / sectorSize)
  const sectors = Math.ceil(pending.length / sectorSize)
  switch (failure._tag) {
    case "Closed":
      return disconnected()
    case "Lost":
      return new IOError({ operation, message: `${operation} on ${name}: ${failure.message}`, sectorStart, sectors })
    case "Protocol":
      return new IOError({
        operation,
        message: `${operation} on ${name}: ${failure.message}`,
        sectorStart,
        sectors,
        cause: new NbdProtocolError({ message: failure.message })
      })
    case "Errno": {
      const errno = errnoName(failure.errno)
      const said = failure.message === "" ? "" : `: ${failure.message}`
      const message = `${operation} on ${name}: the server failed it with ${errno}${said}`
      if (failure.errno === P.EPERM && writeType(command)) return new IsReadOnly({ operation, message })
      if (failure.errno === P.EINVAL || failure.errno === P.EOVERFLOW) return new InvalidRequest({ operation, message })
      if (failure.errno === P.ENOTSUP) return new Unimplemented({ operation, message })
      if (failure.errno === P.ESHUTDOWN) return new Disconnected({ operation, message })
      return new IOError({
        operation,
        message,
        sectorStart,
        sectors,
        cause: new NbdRequestError({ errno: failure.errno, name: errno, message: failure.message })
      })
    }
  }
}

/** Views covering bytes `[start, start + length)` of a list of buffers. */
const sliceBuffers = (buffers: ReadonlyArray<Uint8Array>, start: number, length: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let base = 0
  const end = start + length
  for (const buffer of buffers) {
    const next = base + buffer.byteLength
    if (next > start && base < end) {
      out.push(buffer.subarray(Math.max(0, start - base), Math.min(buffer.byteLength, end - base)))
    }
    base = next
    if (base >= end) break
  }
  return out
}

/** Builds the core operations; `state.lost` must be handed to every session as its `onLost`. */
export const makeCore = (options: DeviceOptions, state: ClientState): Core => {
  const { name, reconnect, scope, sectorSize } = options
  let session: Session | undefined = options.first
  const negotiated: Negotiated = options.first.negotiated
  const flags = negotiated.transmissionFlags
  const sizeBytes = Math.floor(negotiated.exportSize / sectorSize) * sectorSize
  const info = {
    readWrite: !options.readOnly && (flags & P.FLAG_READ_ONLY) === 0,
    sectorSize,
    sizeSectors: sizeBytes / sectorSize
  }
  const serverMaximum = negotiated.maximumBlock === 0xffffffff ? P.DEFAULT_MAX_PAYLOAD : negotiated.maximumBlock
  /** Largest request, in bytes: the server's maximum, whole sectors. */
  const maxRequest = Math.floor(Math.min(serverMaximum, 0xffffffff) / sectorSize) * sectorSize

  let closed = false
  /** Why the client stopped working for good; `Disconnected` from then on. */
  let gaveUp: string | undefined
  let reconnecting: Deferred.Deferred<void> | undefined
  /** Writes acknowledged but not yet covered by a successful flush, and whether a lost connection may have lost them. */
  let writesSinceFlush = 0
  let unflushedLoss = false

  const connection = Connection.makeUnsafe(name, { lost: () => gaveUp })

  state.lost = (failure) => {
    if (closed) return
    if (writesSinceFlush > 0) unflushedLoss = true
    if (reconnect === undefined || failure._tag !== "Lost") {
      gaveUp = failure._tag === "Closed" ? "the connection is closed" : failure.message
    }
  }

  /** Opens a new session under the schedule; on success it becomes current, else the client gives up. */
  const reconnectOnce = (schedule: Schedule.Schedule<unknown, unknown>, done: Deferred.Deferred<void>) =>
    Effect.gen(function*() {
      const old = session
      session = undefined
      if (old !== undefined) yield* old.close
      const fresh = yield* options.reopen.pipe(
        Effect.flatMap((candidate) => {
          const now = candidate.negotiated
          if (now.exportSize === negotiated.exportSize && now.transmissionFlags === negotiated.transmissionFlags) {
            return Effect.succeed(candidate)
          }
          return Effect.andThen(
            candidate.close,
            Effect.fail(`the export changed across the reconnect (size ${negotiated.exportSize} → ${now.exportSize})`)
          )
        }),
        Effect.retry(schedule),
        Effect.result
      )
      if (closed) {
        if (fresh._tag === "Success") yield* fresh.success.close
      } else if (fresh._tag === "Success") {
        session = fresh.success
      } else {
        const cause = fresh.failure
        gaveUp = `reconnecting failed: ${typeof cause === "string" ? cause : cause instanceof Error ? cause.message : String(cause)}`
      }
      reconnecting = undefined
      Deferred.doneUnsafe(done, Effect.void)
    })

  /** The live session, waiting for a reconnect in progress; `undefined` once the client gave up. */
  const current: Effect.Effect<Session | undefined> = Effect.suspend(() => {
    if (session !== undefined && session.alive()) return Effect.succeed(session)
    if (closed || gaveUp !== undefined || reconnect === undefined) return Effect.succeed(undefined)
    let waiting = reconnecting
    if (waiting === undefined) {
      const done = Deferred.makeUnsafe<void>()
      reconnecting = done
      waiting = done
      return Effect.andThen(Effect.forkIn(reconnectOnce(reconnect, done), scope), Effect.suspend(() => current.pipe(wait(done))))
    }
    return current.pipe(wait(waiting))
  })
  const wait = (done: Deferred.Deferred<void>) => (next: Effect.Effect<Session | undefined>) => Effect.andThen(Deferred.await(done), next)

  /**
   * Sends one request (again after a reconnect when that is safe), maps a
   * failure to the contract's error, and on success continues with `then`.
   */
  const send = <A>(
    operation: string,
    command: number,
    commandFlags: number,
    offset: number,
    length: number,
    payload: ReadonlyArray<Uint8Array> | undefined,
    targets: ReadonlyArray<Uint8Array> | undefined,
    then: (pending: Pending) => Effect.Effect<A, ReadError | WriteError>
  ): Effect.Effect<A, ReadError | WriteError> => {
    const attempt = (resends: number): Effect.Effect<A, ReadError | WriteError> => {
      const done = (pending: Pending): Effect.Effect<A, ReadError | WriteError> => {
        const failure = pending.failure
        if (failure === undefined) return then(pending)
        if (
          failure._tag === "Lost" && reconnect !== undefined && resendable(command) && resends < maxResends &&
          gaveUp === undefined && !closed
        ) {
          return attempt(resends + 1)
        }
        return Effect.fail(
          toError(operation, command, name, sectorSize, pending, failure, () => connection.disconnectedError(operation))
        )
      }
      const live = session
      if (live !== undefined && live.alive()) return live.request(command, commandFlags, offset, length, payload, targets, done)
      return Effect.flatMap(current, (now) =>
        now === undefined ?
          Effect.fail(connection.disconnectedError(operation)) :
          now.request(command, commandFlags, offset, length, payload, targets, done))
    }
    return attempt(0)
  }

  const toVoid = () => Effect.void

  /** Sends a transfer as requests of at most `maxRequest` bytes, pipelined. */
  const transfer = (
    operation: string,
    command: number,
    sectorStart: number,
    buffers: ReadonlyArray<Uint8Array>,
    sectors: number
  ): Effect.Effect<void, ReadError | WriteError> => {
    const offset = sectorStart * sectorSize
    const length = sectors * sectorSize
    if (length === 0) return Effect.void
    const isWrite = command === P.CMD_WRITE
    if (length <= maxRequest) {
      return send(operation, command, 0, offset, length, isWrite ? buffers : undefined, isWrite ? undefined : buffers, toVoid)
    }
    const pieces: Array<Effect.Effect<void, ReadError | WriteError>> = []
    for (let at = 0; at < length; at += maxRequest) {
      const size = Math.min(maxRequest, length - at)
      const views = sliceBuffers(buffers, at, size)
      pieces.push(send(operation, command, 0, offset + at, size, isWrite ? views : undefined, isWrite ? undefined : views, toVoid))
    }
    return Effect.all(pieces, { concurrency: "unbounded", discard: true })
  }

  const flush: Effect.Effect<void, WriteError> = Effect.suspend(() => {
    if (unflushedLoss) {
      unflushedLoss = false
      writesSinceFlush = 0
      return Effect.fail(
        new IOError({
          operation: "flush",
          message: `flush on ${name}: the connection was lost after writes that were not flushed; they may not be durable`
        })
      )
    }
    if ((flags & P.FLAG_SEND_FLUSH) === 0) return Effect.void
    const covered = writesSinceFlush
    return send("flush", P.CMD_FLUSH, 0, 0, 0, undefined, undefined, () => {
      writesSinceFlush = Math.max(0, writesSinceFlush - covered)
      return Effect.void
    })
  })

  const zeroes = (sectorStart: number, sectors: number): Effect.Effect<void, WriteError> => {
    const offset = sectorStart * sectorSize
    const length = sectors * sectorSize
    if (length === 0) return Effect.void
    const pieces: Array<Effect.Effect<void, WriteError>> = []
    for (let at = 0; at < length; at += maxRequest) {
      pieces.push(send("discard", P.CMD_WRITE_ZEROES, 0, offset + at, Math.min(maxRequest, length - at), undefined, undefined, toVoid))
    }
    return Effect.map(Effect.all(pieces, { concurrency: "unbounded", discard: true }), () => {
      writesSinceFlush++
    })
  }

  /** Walks `base:allocation` extents from `from`; `visit` returns a byte answer or undefined to go on. */
  const walk = (
    operation: string,
    from: number,
    visit: (position: number, length: number, zero: boolean) => number | undefined
  ): Effect.Effect<number, ReadError> => {
    const step = (position: number): Effect.Effect<number, ReadError> => {
      if (position >= sizeBytes) return Effect.succeed(info.sizeSectors)
      const length = Math.min(sizeBytes - position, maxRequest)
      return (send(operation, P.CMD_BLOCK_STATUS, 0, position, length, undefined, undefined, (pending) => {
          const extents = pending.extents ?? []
          let at = position
          for (let i = 0; i < extents.length && at < sizeBytes; i += 2) {
            const size = Math.min(extents[i]!, sizeBytes - at)
            const answer = visit(at, size, (extents[i + 1]! & P.STATE_ZERO) !== 0)
            if (answer !== undefined) return Effect.succeed(Math.min(answer, info.sizeSectors))
            at += size
          }
          return step(at)
        }) as Effect.Effect<number, ReadError>)
    }
    return step(from * sectorSize)
  }

  const seekMapped = (from: number) =>
    walk("seekMapped", from, (position, _length, zero) => zero ? undefined : Math.floor(position / sectorSize))

  const seekUnmapped = (from: number) => {
    let runStart: number | undefined
    return walk("seekUnmapped", from, (position, length, zero) => {
      if (!zero) {
        runStart = undefined
        return undefined
      }
      runStart ??= position
      const candidate = Math.ceil(runStart / sectorSize)
      return (candidate + 1) * sectorSize <= position + length ? candidate : undefined
    })
  }

  return {
    name,
    info: Effect.sync(() => info),
    infoUnsafe: () => info,
    connection,
    read: (sectorStart, buffers, sectors) => transfer("read", P.CMD_READ, sectorStart, buffers, sectors) as Effect.Effect<void, ReadError>,
    write: (sectorStart, buffers, sectors) =>
      Effect.map(transfer("write", P.CMD_WRITE, sectorStart, buffers, sectors), () => {
        writesSinceFlush++
      }),
    flush,
    discard: (flags & P.FLAG_SEND_WRITE_ZEROES) !== 0 ? zeroes : undefined,
    seekMapped: negotiated.allocationContext !== undefined ? seekMapped : undefined,
    seekUnmapped: negotiated.allocationContext !== undefined ? seekUnmapped : undefined,
    disconnect: Effect.suspend(() => {
      closed = true
      gaveUp ??= "the handle is disconnected"
      const live = session
      session = undefined
      return live === undefined ? Effect.void : live.close
    })
  }
}
