/**
 * The NBD client: any NBD export (nbdkit, qemu-nbd, rbd-nbd, our own
 * `NbdServerLive`, a cloud volume) as a `BlockDevice`, so an application
 * tested on the ramdisk runs unchanged on network storage. The contract is
 * docs/semantics.md; how NBD maps onto it is docs/nbd.md.
 *
 * ```ts
 * import { NbdClientLive } from "@effect-block/nbd"
 *
 * const Disk = NbdClientLive({ uri: "nbd+unix:///disk?socket=/run/disk.sock" })
 * ```
 *
 * @since 0.1.0
 */
import { BlockDevice, type BlockDeviceShape, InvalidRequest } from "@effect-block/block"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { type NbdClientError, NbdUriError } from "./ClientErrors.js"
import { type ClientState, makeCore } from "./internal/ClientDevice.js"
import { open, type Session } from "./internal/ClientSession.js"
import { describeAddress, isProblem, parseUri } from "./internal/ClientUri.js"
import * as P from "./internal/Protocol.js"

/**
 * How to connect: the schema every options object is decoded with.
 *
 * - `uri`: `nbd://host[:port]/export` (TCP, port 10809 by default) or
 *   `nbd+unix:///export?socket=PATH`. An empty export name asks for the
 *   server's default export. `nbds` URIs fail: TLS is not supported yet.
 * - `readOnly`: open a read-only handle even on a writable export.
 * - `sectorSize`: the device's sector size, a power of two from 1 to 65536
 *   and at least the server's minimum block size. Default: 512, or the
 *   server's minimum block size when that is larger. An export whose size is
 *   not a whole number of sectors loses its last partial sector.
 * - `connectTimeout`: how long dialling and the handshake may take
 *   (default 30 seconds).
 * - `reconnect`: a `Schedule` for reconnecting after a lost connection.
 *   Without it, requests in flight when the connection is lost fail
 *   `IOError` and every later one `Disconnected`. With it, the client
 *   redials (spacing attempts by the schedule) and sends again the requests
 *   that are safe to repeat (read, write, discard, block status); a flush in
 *   flight fails `IOError`, and so does the next flush after a loss that
 *   may have dropped unflushed writes.
 *
 * @since 0.1.0
 */
export const NbdClientOptions = Schema.Struct({
  uri: Schema.String,
  readOnly: Schema.optional(Schema.Boolean),
  sectorSize: Schema.optional(Schema.Int),
  connectTimeout: Schema.optional(Schema.Duration),
  reconnect: Schema.optional(
    Schema.declare((input: unknown): input is Schedule.Schedule<unknown, unknown> => Schedule.isSchedule(input), {
      expected: "a Schedule"
    })
  )
})

/**
 * The options of {@link make} and {@link NbdClientLive}.
 *
 * @since 0.1.0
 */
export type NbdClientOptions = typeof NbdClientOptions.Type

/**
 * What the server said about the export during the handshake.
 *
 * @since 0.1.0
 */
export interface NbdExportInfo {
  readonly uri: string
  readonly exportName: string
  /** Export size in bytes, as the server gave it. */
  readonly sizeBytes: number
  /** `NBD_FLAG_*` transmission flags. */
  readonly transmissionFlags: number
  readonly minimumBlock: number
  readonly preferredBlock: number
  readonly maximumBlock: number
  readonly structuredReplies: boolean
  /** Whether the server agreed to `base:allocation`, so seeks see its holes. */
  readonly baseAllocation: boolean
  /** Whether the handshake ended with the old `NBD_OPT_EXPORT_NAME` (the server has no `NBD_OPT_GO`). */
  readonly exportNameFallback: boolean
}

/**
 * A block device over an NBD connection, with what the server said about
 * its export.
 *
 * @since 0.1.0
 */
export interface NbdClientDevice extends BlockDeviceShape {
  readonly export: NbdExportInfo
}

const flagNames: ReadonlyArray<readonly [number, string]> = [
  [P.FLAG_READ_ONLY, "read-only"],
  [P.FLAG_SEND_FLUSH, "flush"],
  [P.FLAG_SEND_FUA, "fua"],
  [P.FLAG_ROTATIONAL, "rotational"],
  [P.FLAG_SEND_TRIM, "trim"],
  [P.FLAG_SEND_WRITE_ZEROES, "write-zeroes"],
  [P.FLAG_SEND_DF, "df"],
  [P.FLAG_CAN_MULTI_CONN, "multi-conn"],
  [P.FLAG_SEND_RESIZE, "resize"],
  [P.FLAG_SEND_CACHE, "cache"],
  [P.FLAG_SEND_FAST_ZERO, "fast-zero"]
]

/**
 * The names of the transmission flags set in `flags` (`"flush"`,
 * `"write-zeroes"`, `"multi-conn"`...), for display.
 *
 * @since 0.1.0
 */
export const transmissionFlagNames = (flags: number): ReadonlyArray<string> =>
  flagNames.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name)

const decodeOptions = Schema.decodeUnknownResult(NbdClientOptions, { onExcessProperty: "error" })

const badOption = (message: string) => new InvalidRequest({ operation: "NbdClient", message: `NbdClient options: ${message}` })

const defaultTimeout = Duration.seconds(30)

/**
 * Connects to an NBD export in the current scope and returns it as a block
 * device: `NBD_CMD_DISC` is sent and the connection closed when the scope
 * closes (or earlier, by `disconnect`). Use {@link NbdClientLive} to provide
 * `BlockDevice` to a program.
 *
 * Fails with `InvalidRequest` naming a bad option, {@link NbdUriError} for a
 * URI it cannot use, and the handshake's errors (`NbdConnectError`,
 * `NbdOptionError` with the server's message, `NbdProtocolError`).
 *
 * @since 0.1.0
 */
export const make = (options: NbdClientOptions): Effect.Effect<NbdClientDevice, NbdClientError | InvalidRequest, Scope.Scope> =>
  Effect.gen(function*() {
    let decoded: NbdClientOptions
    try {
      const result = decodeOptions(options)
      if (Result.isFailure(result)) return yield* badOption(result.failure.message)
      decoded = result.success
    } catch {
      return yield* badOption("the options object cannot be read")
    }
    const target = parseUri(decoded.uri)
    if (isProblem(target)) return yield* new NbdUriError({ uri: decoded.uri, reason: target.reason, message: target.message })
    const scope = yield* Effect.scope
    const state: ClientState = { lost: () => undefined }
    const reopen: Effect.Effect<Session, NbdClientError> = open({
      address: target.address,
      exportName: target.exportName,
      connectTimeout: decoded.connectTimeout ?? defaultTimeout,
      onLost: (failure) => state.lost(failure)
    }, scope)
    const first = yield* reopen
    const negotiated = first.negotiated
    const minimum = negotiated.minimumBlock
    const sectorSize = decoded.sectorSize ?? Math.max(512, minimum)
    const badGeometry = (message: string) => Effect.andThen(first.close, badOption(message))
    if (sectorSize < 1 || sectorSize > 65536 || (sectorSize & (sectorSize - 1)) !== 0) {
      return yield* badGeometry(`sectorSize ${sectorSize} is not a power of two from 1 to 65536`)
    }
    if (sectorSize < minimum) {
      return yield* badGeometry(`sectorSize ${sectorSize} is below the server's minimum block size ${minimum}`)
    }
    if (negotiated.maximumBlock < sectorSize) {
      return yield* badGeometry(`sectorSize ${sectorSize} is above the server's maximum block size ${negotiated.maximumBlock}`)
    }
    const name = `nbd export ${JSON.stringify(target.exportName)} at ${describeAddress(target.address)}`
    const core = makeCore({
      name,
      sectorSize,
      readOnly: decoded.readOnly ?? false,
      first,
      reopen,
      reconnect: decoded.reconnect,
      scope
    }, state)
    const device = yield* Effect.acquireRelease(BlockDevice.make(core), (device) => device.disconnect)
    const exportInfo: NbdExportInfo = {
      uri: decoded.uri,
      exportName: target.exportName,
      sizeBytes: negotiated.exportSize,
      transmissionFlags: negotiated.transmissionFlags,
      minimumBlock: negotiated.minimumBlock,
      preferredBlock: negotiated.preferredBlock,
      maximumBlock: negotiated.maximumBlock,
      structuredReplies: negotiated.structuredReplies,
      baseAllocation: negotiated.allocationContext !== undefined,
      exportNameFallback: negotiated.exportNameFallback
    }
    return Object.assign(device, { export: exportInfo })
  })

/**
 * A layer providing `BlockDevice` over an NBD export: it connects when built
 * and sends `NBD_CMD_DISC` and closes when released. Swap it in for
 * `RamdiskLive` to run the same program on a network disk.
 *
 * @example
 * ```ts
 * import { NbdClientLive } from "@effect-block/nbd"
 * import { Schedule } from "effect"
 *
 * const Disk = NbdClientLive({
 *   uri: "nbd://storage.internal:10809/volume-7",
 *   reconnect: Schedule.exponential("100 millis").pipe(Schedule.take(8))
 * })
 * ```
 *
 * @since 0.1.0
 */
export const NbdClientLive = (options: NbdClientOptions): Layer.Layer<BlockDevice, NbdClientError | InvalidRequest> =>
  Layer.effect(BlockDevice, make(options))
