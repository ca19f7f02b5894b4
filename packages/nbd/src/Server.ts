/**
 * The NBD server: serves block devices to real NBD clients (qemu, the
 * libnbd tools, fio, nbdfuse, the kernel) over a Unix socket or local TCP.
 *
 * Each export is a `BlockDevice` (any stack of wrappers), or each name of a
 * ramdisk `Registry`. The server is built on Effect's socket server
 * (`effect/socket/SocketServer`, Node's through `@effect/platform-node`),
 * runs one fiber per connection and one per request in flight, and is
 * scoped: releasing `NbdServerLive` closes the listener and every
 * connection, and disconnects only the handles it opened itself.
 *
 * The protocol is the NBD project's `doc/proto.md`; what this server
 * implements of it, and how each command maps to device operations, is in
 * docs/nbd.md. The device contract is docs/semantics.md.
 *
 * @since 0.1.0
 */
import { isBlockDevice } from "@effect-block/block"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as Os from "node:os"
import * as Path from "node:path"
import { type ExportTable, fromList, fromRegistry, type RegistrySource } from "./internal/ServerExports.js"
import { Hangup, negotiate } from "./internal/ServerHandshake.js"
import { transmit } from "./internal/ServerTransmission.js"
import { WireReader } from "./internal/WireReader.js"

const isFunction = (value: unknown): boolean => typeof value === "function"

const isRegistry = (value: unknown): value is RegistrySource => {
  if (typeof value !== "object" || value === null) return false
  try {
    const registry = value as Record<string, unknown>
    return isFunction(registry.connect) && typeof registry.names === "object"
  } catch {
    return false
  }
}

/**
 * A `BlockDevice` value, as a schema (checked by shape: the operations are functions).
 *
 * @since 0.1.0
 */
export const BlockDeviceValue = Schema.declare(isBlockDevice, { identifier: "BlockDevice" })

/**
 * A registry value (the ramdisk's `Registry` service), as a schema.
 *
 * @since 0.1.0
 */
export const RegistryValue = Schema.declare(isRegistry, { identifier: "Registry" })

/**
 * One export of a fixed list.
 *
 * @since 0.1.0
 */
export const NbdExport = Schema.Struct({
  /** The name clients ask for; the empty name (NBD's default export) selects the first export. */
  name: Schema.String.check(Schema.isMaxLength(4096)),
  /** Sent to clients that ask for it (`nbdinfo` prints it). */
  description: Schema.optional(Schema.String.check(Schema.isMaxLength(4096))),
  device: BlockDeviceValue,
  /** Serve it read-only even when the device is writable (default false). */
  readOnly: Schema.optional(Schema.Boolean)
})

/**
 * One export of a fixed list.
 *
 * @since 0.1.0
 */
export type NbdExport = typeof NbdExport.Type

const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))

/**
 * Options of {@link NbdServerLive}, decoded with this schema. Give exactly
 * one of `exports` and `registry`, and at most one of `socket` and `port`.
 *
 * @since 0.1.0
 */
export const NbdServerOptions = Schema.Struct({
  /**
   * The Unix socket path to listen on. The default when neither `socket`
   * nor `port` is given: a fresh path in the temporary directory.
   */
  socket: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
  /** TCP port to listen on instead (0: any free port). */
  port: Schema.optional(Port),
  /** Host for TCP (default 127.0.0.1: local only). */
  host: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
  /** The exports: a fixed list of devices. */
  exports: Schema.optional(Schema.Array(NbdExport)),
  /** Or: every name of this registry is an export, each connection its own handle. */
  registry: Schema.optional(RegistryValue),
  /** With `registry`: serve every export read-only (default false). */
  readOnly: Schema.optional(Schema.Boolean),
  /** Requests one connection may have in flight (default 64). */
  maxInFlight: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 }))),
  /** Payload bytes one connection may have in flight (default 128 MiB, at least 32 MiB). */
  maxInFlightBytes: Schema.optional(
    Schema.Int.check(Schema.isBetween({ minimum: 32 * 1024 * 1024, maximum: 4 * 1024 * 1024 * 1024 }))
  ),
  /** Milliseconds a client has to finish the handshake (default 30000). */
  handshakeTimeoutMillis: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3_600_000 })))
})

/**
 * Options of {@link NbdServerLive}.
 *
 * @since 0.1.0
 */
export type NbdServerOptions = typeof NbdServerOptions.Type

/**
 * The server could not start: `reason` `"BadOptions"` (the message names
 * the option) or `"Listen"` (the socket could not be bound).
 *
 * @since 0.1.0
 */
export class NbdServerError extends Schema.TaggedError<NbdServerError>()("NbdServerError", {
  reason: Schema.Literals(["BadOptions", "Listen"]),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A running server.
 *
 * @since 0.1.0
 */
export interface NbdServerShape {
  /** Where it listens. */
  readonly address: NetAddress.SocketAddress
  /** The NBD URI of an export (default: the default export), e.g. `nbd+unix:///?socket=/tmp/disk.sock`. */
  readonly uri: (exportName?: string) => string
  /** How many connections are open now. */
  readonly connections: Effect.Effect<number>
  /**
   * Closes every open connection, runs `during` while new connections wait
   * at the door, then lets them in: what a power failure looks like to
   * clients. The crash simulator's "lose power" runs its crash inside.
   */
  readonly whileDisconnected: <A, E, R>(during: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * The NBD server service.
 *
 * @since 0.1.0
 */
export class NbdServer extends Context.Service<NbdServer, NbdServerShape>()("@effect-block/nbd/NbdServer") {}

const gone = new Socket.SocketError({
  reason: new Socket.SocketWriteError({ cause: new Error("the connection is closed") })
})

const badOptions = (message: string) => new NbdServerError({ reason: "BadOptions", message })

const defaultSocketPath = () =>
  Path.join(Os.tmpdir(), `effect-block-nbd-${process.pid}-${Math.random().toString(36).slice(2, 10)}.sock`)

const uriEncode = (name: string) => encodeURIComponent(name).replace(/%2F/g, "/")

/**
 * Starts a server in the current scope: listening once this succeeds,
 * closed (every connection with it) when the scope closes.
 *
 * @since 0.1.0
 */
export const make = (options: typeof NbdServerOptions.Encoded): Effect.Effect<NbdServerShape, NbdServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const decoded = yield* Schema.decodeUnknownEffect(NbdServerOptions)(options).pipe(
      Effect.mapError((error) => badOptions(`NbdServer options: ${error.message}`))
    )
    if (decoded.socket !== undefined && decoded.port !== undefined) {
      return yield* Effect.fail(badOptions("NbdServer options: give socket or port, not both"))
    }
    if (decoded.host !== undefined && decoded.port === undefined) {
      return yield* Effect.fail(badOptions("NbdServer options: host needs port"))
    }
    let table: ExportTable
    if (decoded.exports !== undefined && decoded.registry === undefined) {
      if (decoded.exports.length === 0) return yield* Effect.fail(badOptions("NbdServer options: exports is empty"))
      const names = new Set(decoded.exports.map((entry) => entry.name))
      if (names.size !== decoded.exports.length) {
        return yield* Effect.fail(badOptions("NbdServer options: exports has a repeated name"))
      }
      table = fromList(decoded.exports.map((entry) => ({
        name: entry.name,
        description: entry.description ?? "",
        device: entry.device,
        readOnly: entry.readOnly === true
      })))
    } else if (decoded.registry !== undefined && decoded.exports === undefined) {
      table = fromRegistry(decoded.registry, decoded.readOnly === true)
    } else {
      return yield* Effect.fail(badOptions("NbdServer options: give exactly one of exports and registry"))
    }
    const limits = {
      maxInFlight: decoded.maxInFlight ?? 64,
      maxInFlightBytes: decoded.maxInFlightBytes ?? 128 * 1024 * 1024
    }
    const handshakeTimeout = decoded.handshakeTimeoutMillis ?? 30_000
    const socketPath = decoded.port === undefined ? decoded.socket ?? defaultSocketPath() : undefined
    const host = decoded.host ?? "127.0.0.1"

    const server = yield* NodeSocketServer.make(
      socketPath !== undefined ? { path: socketPath } : { port: decoded.port!, host }
    ).pipe(
      Effect.mapError((error) =>
        new NbdServerError({
          reason: "Listen",
          message: `cannot listen on ${socketPath ?? `${host}:${decoded.port}`}: ${String(error.reason.cause)}`,
          cause: error
        })
      )
    )

    const open = new Set<Fiber.Fiber<unknown, unknown>>()
    const door = Latch.makeUnsafe(true)

    const serve = (socket: Socket.Socket) =>
      Effect.scoped(Effect.gen(function*() {
        yield* door.await
        const net = yield* Effect.serviceOption(NodeSocket.NetSocket)
        if (net._tag === "Some") {
          const conn = net.value
          if (typeof conn.setNoDelay === "function") conn.setNoDelay(true)
          // Each request in flight may wait for the socket to drain, with its own listeners.
          conn.setMaxListeners(limits.maxInFlight + 16)
          yield* Effect.addFinalizer((exit) =>
            Effect.sync(() => {
              // A hang-up or a shutdown closes at once; a clean end lets the last replies drain a moment.
              if (!Exit.isSuccess(exit) || conn.writableLength > 0) conn.destroy()
              else {
                conn.end()
                setTimeout(() => conn.destroy(), 2000).unref()
              }
            })
          )
        }
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        const reader = new WireReader(pull)
        // Replies written in one turn of the event loop leave in one writev: corked until the turn ends.
        let corked = false
        const batch = net._tag === "None" ? undefined : (() => {
          const conn = net.value
          const uncork = () => {
            corked = false
            conn.uncork()
          }
          return () => {
            if (corked || conn.destroyed) return
            corked = true
            conn.cork()
            setImmediate(uncork)
          }
        })()
        const negotiated = yield* negotiate(reader, writer.write, table).pipe(
          Effect.timeoutOrElse({
            duration: handshakeTimeout,
            orElse: () => Effect.fail(new Hangup("the handshake timed out"))
          })
        )
        // A large reply goes out at once: holding it for the turn only delays a shallow pipeline.
        const unbatchLarge = (bytes: number) => {
          if (corked && bytes >= 64 * 1024 && net._tag === "Some") {
            corked = false
            net.value.uncork()
          }
        }
        const sender = net._tag === "None"
          ? { write: writer.write, writeAll: writer.writeAll }
          : {
            // A socket already destroyed would leave a write waiting for a drain that never comes.
            write: (bytes: Uint8Array) => {
              if (net.value.destroyed) return Effect.fail(gone)
              unbatchLarge(bytes.length)
              return writer.write(bytes)
            },
            writeAll: (chunks: readonly [Uint8Array, ...Array<Uint8Array>]) => {
              if (net.value.destroyed) return Effect.fail(gone)
              unbatchLarge(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
              return writer.writeAll(chunks)
            },
            batch,
            // Nothing written so far is still held by the socket: the buffers may be reused.
            idle: () => net.value.writableLength === 0,
            onDrain: (listener: () => void) => {
              net.value.on("drain", listener)
            }
          }
        yield* transmit(reader, sender, negotiated, limits)
      }))

    const track = (socket: Socket.Socket) =>
      Effect.withFiber((fiber) => {
        open.add(fiber)
        return serve(socket).pipe(
          Effect.ensuring(Effect.sync(() => open.delete(fiber))),
          // Whatever ended the connection (a hang-up, a closed socket) ends it only.
          Effect.catchCause(() => Effect.void)
        )
      })

    yield* Effect.forkScoped(server.run(track))

    const address = server.address
    const uri = (exportName = "") =>
      address._tag === "UnixPathAddress"
        ? `nbd+unix:///${uriEncode(exportName)}?socket=${address.path}`
        : `nbd://${address._tag === "InetAddressV6" ? `[${String(address.address)}]` : String(address.address)}:${address.port}/${uriEncode(exportName)}`

    return {
      address,
      uri,
      connections: Effect.sync(() => open.size),
      whileDisconnected: <A, E, R>(during: Effect.Effect<A, E, R>) =>
        Effect.acquireUseRelease(
          Effect.sync(() => door.closeUnsafe()),
          () => Effect.andThen(Fiber.interruptAll(Array.from(open)), during),
          () => Effect.sync(() => door.openUnsafe())
        )
    }
  })

/**
 * A layer running an NBD server for as long as it is in use.
 *
 * @example
 * ```ts
 * import { NbdServer, NbdServerLive } from "@effect-block/nbd"
 * import { Registry, RegistryLive } from "@effect-block/ramdisk"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* Registry
 *   yield* registry.connect({ name: "disk", sizeSectors: 2048 })
 *   const server = yield* NbdServer
 *   return server.uri("disk") // nbd+unix:///disk?socket=...
 * })
 *
 * const ServerLive = Layer.unwrap(
 *   Effect.map(Registry.asEffect(), (registry) => NbdServerLive({ registry }))
 * )
 * program.pipe(Effect.provide(ServerLive.pipe(Layer.provideMerge(RegistryLive))))
 * ```
 *
 * @since 0.1.0
 */
export const NbdServerLive = (options: typeof NbdServerOptions.Encoded): Layer.Layer<NbdServer, NbdServerError> =>
  Layer.effect(NbdServer, make(options))
