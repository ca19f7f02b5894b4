/**
 * The block device: the service an application reads and writes sectors
 * through, whatever backs it (a ramdisk in tests, a file in production, a
 * stack of wrappers in a fault-injection suite).
 *
 * Implementations do not build the service by hand: they give
 * {@link BlockDevice.make} the few operations they really have, and `make`
 * adds request validation, the connected/disconnected state, the read-only
 * check, and the defaults for what a device cannot do. Every device therefore
 * keeps the same contract (docs/semantics.md), checked once, here.
 *
 * @since 0.1.0
 */
import { Connection, type Device, Disconnected, Unimplemented } from "@effect-block/device"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import { InvalidRequest, IsReadOnly, type ReadError, type WriteError } from "./Errors.js"
import { type Buffers, checkRange, checkSector, checkSize, checkTransfer, type Info, uint8ArrayView } from "./Geometry.js"
import { type CheckedRequest, checkVectored, type VectoredRequest } from "./Vectored.js"

/**
 * The type identifier every block device carries, so code can tell a device
 * from any other value ({@link isBlockDevice}) without guessing from its
 * members.
 *
 * @since 0.2.0
 */
export const TypeId = "~@effect-block/block/BlockDevice" as const

/**
 * @since 0.2.0
 */
export type TypeId = typeof TypeId

/**
 * The operations of a block device. All addresses and counts are in sectors.
 * Build one with `BlockDevice.make` (or `makeUnsafe`), which supplies the
 * type identifier, validation and `isConnected`.
 *
 * @since 0.1.0
 */
export interface BlockDeviceShape extends Device, Pipeable {
  readonly [TypeId]: TypeId
  /**
   * Whether operations can still succeed: false once this handle is
   * disconnected, its device destroyed, or (for a wrapper) a device beneath
   * it disconnected or destroyed. Never fails.
   */
  readonly isConnected: Effect.Effect<boolean>
  /** The current geometry of this handle. Works even after `disconnect`. */
  readonly info: Effect.Effect<Info>
  /**
   * Fills `buffers`, in order, from consecutive sectors starting at
   * `sectorStart`. Sectors never written read as zeros. On failure the
   * buffers' contents are unspecified, except for `InvalidRequest`, which
   * touches no buffer.
   */
  readonly read: (sectorStart: number, buffers: Buffers) => Effect.Effect<void, ReadError>
  /**
   * Copies `buffers`, in order, to consecutive sectors starting at
   * `sectorStart`. Every handle of the device sees the data at once, and the
   * caller may reuse its buffers as soon as the effect completes. A failed
   * `IOError` write may have been applied in part; any other failure wrote
   * nothing.
   */
  readonly write: (sectorStart: number, buffers: Buffers) => Effect.Effect<void, WriteError>
  /** Makes everything written before it durable. */
  readonly flush: Effect.Effect<void, WriteError>
  /**
   * Makes `sectors` sectors from `sectorStart` read as zeros; a sparse device
   * frees the storage the range fully covers.
   */
  readonly discard: (sectorStart: number, sectors: number) => Effect.Effect<void, WriteError>
  /**
   * Changes the size for every handle. Shrinking drops the data past the new
   * end; growing exposes zeros.
   */
  readonly resize: (sizeSectors: number) => Effect.Effect<void, WriteError>
  /**
   * The first sector `s ≥ from` that may hold data, or the size if there is
   * none: every sector in `[from, s)` reads as zero.
   */
  readonly seekMapped: (from: number) => Effect.Effect<number, ReadError>
  /**
   * The first sector `s ≥ from` guaranteed to read as zero, or the size if
   * there is none: every sector in `[from, s)` is mapped.
   */
  readonly seekUnmapped: (from: number) => Effect.Effect<number, ReadError>
  /**
   * Many reads in one call: each request's buffers are filled as by
   * `read`. The whole list is validated before anything is read (a bad
   * request fails `InvalidRequest` naming its index, and no buffer is
   * touched); on a device with a native vectored read (the ramdisk) the
   * list is read as one step.
   */
  readonly readVectored: (requests: ReadonlyArray<VectoredRequest>) => Effect.Effect<void, ReadError>
  /**
   * Many writes in one call, applied in list order (a later request wins
   * where two overlap). The whole list is validated before anything is
   * written: a bad request fails `InvalidRequest` naming its index and
   * nothing is written. On a device with a native vectored write (the
   * ramdisk) the list is applied as one step; see docs/semantics.md for
   * what a failure may have applied on other devices.
   */
  readonly writeVectored: (requests: ReadonlyArray<VectoredRequest>) => Effect.Effect<void, WriteError>
}

/**
 * What an implementation supplies to {@link make}. Requests reaching these
 * functions are already validated: sector numbers are safe integers, buffers
 * are whole sectors, ranges lie inside the geometry `info` returned, and the
 * handle is connected and, for write-type operations, writable.
 *
 * Leave out what the device cannot do: `flush` defaults to nothing to do,
 * `discard` and `resize` to `Unimplemented`, and the seeks to "everything is
 * mapped".
 *
 * `make` calls these functions only when the operation runs, never when the
 * operation's Effect is constructed, so an implementation may do synchronous
 * work in the call itself and return its outcome as `Effect.void`,
 * `Effect.succeed` or `Effect.fail`, saving an Effect step per request.
 * (`flush` and `disconnect` are Effect values, not functions: keep them lazy.)
 *
 * With `infoUnsafe`, validation and the call of the core function happen in
 * one synchronous step, so an implementation that does its work in the call
 * runs on exactly the geometry that was checked. An implementation that
 * waits before doing its work (a file behind a lock) may see the size change
 * meanwhile, and should re-check the range when it runs (`checkRange`).
 *
 * @since 0.1.0
 */
export interface Core {
  /** Names the device in error messages. */
  readonly name: string
  /** The current geometry; `readWrite` false makes every write-type operation fail `IsReadOnly`. */
  readonly info: Effect.Effect<Info>
  /**
   * The same geometry, read synchronously, for devices that hold it in
   * memory. Optional: it spares each request one Effect step, which matters
   * for a ramdisk's small I/O.
   */
  readonly infoUnsafe?: (() => Info) | undefined
  readonly read: (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) => Effect.Effect<void, ReadError>
  readonly write: (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) => Effect.Effect<void, WriteError>
  readonly flush?: Effect.Effect<void, WriteError> | undefined
  readonly discard?: ((sectorStart: number, sectors: number) => Effect.Effect<void, WriteError>) | undefined
  readonly resize?: ((sizeSectors: number) => Effect.Effect<void, WriteError>) | undefined
  readonly seekMapped?: ((from: number) => Effect.Effect<number, ReadError>) | undefined
  readonly seekUnmapped?: ((from: number) => Effect.Effect<number, ReadError>) | undefined
  /**
   * A native vectored read, given the validated list. Optional: `make`
   * derives one from `read` (every core call made in the same step, their
   * effects then run in order).
   */
  readonly readVectored?: ((requests: ReadonlyArray<CheckedRequest>) => Effect.Effect<void, ReadError>) | undefined
  /** A native vectored write, given the validated list, applied as one step. Optional, like `readVectored`. */
  readonly writeVectored?: ((requests: ReadonlyArray<CheckedRequest>) => Effect.Effect<void, WriteError>) | undefined
  /** Releases what this handle holds. Called once, on the first `disconnect`. */
  readonly disconnect?: Effect.Effect<void> | undefined
  /**
   * The handle's connection state, when the implementation needs to share it
   * with operations of its own beyond `BlockDevice` (a ramdisk's `snapshot`).
   * A fresh one is created otherwise.
   */
  readonly connection?: Connection.Connection | undefined
  /**
   * For a wrapper, the devices beneath it. While any of them is disconnected
   * or destroyed, every operation but `info` and `disconnect` fails
   * `Disconnected` before validation and the read-only check, so the wrapper
   * never answers from a geometry the lost device no longer has
   * (docs/semantics.md, "Wrappers"). Disconnecting the wrapper does not
   * disconnect them.
   */
  readonly wraps?: ReadonlyArray<BlockDeviceShape> | undefined
}

/**
 * Where a device built by {@link makeUnsafe} keeps its synchronous connection
 * check, so a wrapper over it checks without an extra Effect step.
 */
export const connectedProbe: unique symbol = Symbol("@effect-block/block/BlockDevice/connectedProbe")

/** @internal */
export interface Probed {
  readonly [connectedProbe]?: () => boolean
}

/** The synchronous connection check of a device built by `makeUnsafe`, or `undefined` for any other device. */
export const probeOf = (device: BlockDeviceShape): (() => boolean) | undefined => {
  const probe = (device as Probed)[connectedProbe]
  return typeof probe === "function" ? probe : undefined
}

/**
 * Whether `value` is a block device (carries {@link TypeId}). Never throws,
 * even for a revoked Proxy.
 *
 * @since 0.2.0
 */
export const isBlockDevice = (value: unknown): value is BlockDeviceShape => {
  try {
    return typeof value === "object" && value !== null && TypeId in value
  } catch {
    return false
  }
}

const readOnlyError = (operation: string, name: string) =>
  new IsReadOnly({ operation, message: `${operation} on ${name}: the handle is read-only` })

const unimplemented = (operation: string, name: string) =>
  Effect.fail(new Unimplemented({ operation, message: `${operation} on ${name}: the device does not support it` }))

/**
 * Builds a block device from an implementation's core operations, adding
 * validation, connection state, the read-only check and the defaults.
 * Synchronous; use {@link make} inside Effect code.
 *
 * @since 0.1.0
 */
export const makeUnsafe = (core: Core): BlockDeviceShape => {
  const { name } = core
  const connection = core.connection ?? Connection.makeUnsafe(name)
  const beneath = core.wraps !== undefined && core.wraps.length > 0 ? [...core.wraps] : undefined
  const beneathProbes = beneath?.map(probeOf)
  /** Synchronous check of the devices beneath, when they all offer one. */
  const beneathConnected = beneathProbes === undefined ?
    undefined :
    beneathProbes.every((probe) => probe !== undefined) ?
    () => {
      for (const probe of beneathProbes) if (!probe!()) return false
      return true
    } :
    undefined
  const isConnectedUnsafe = beneath === undefined ?
    connection.isConnectedUnsafe :
    beneathConnected === undefined ?
    undefined :
    () => connection.isConnectedUnsafe() && beneathConnected()
  const isConnected: Effect.Effect<boolean> = isConnectedUnsafe !== undefined ?
    Effect.sync(isConnectedUnsafe) :
    Effect.suspend(() =>
      connection.isConnectedUnsafe() ?
        Effect.map(Effect.all(beneath!.map((device) => device.isConnected)), (all) => all.every(Boolean)) :
        Effect.succeed(false)
    )
  const lostError = (operation: string) =>
    connection.isConnectedUnsafe() ?
      new Disconnected({
        operation,
        message: `${operation} on ${name}: the device beneath it is disconnected or destroyed`
      }) :
      connection.disconnectedError(operation)

  /** Runs `body` with the current geometry once the handle is known to be connected. */
  const infoUnsafe = core.infoUnsafe
  const withInfo = <A, E>(body: (info: Info) => Effect.Effect<A, E>): Effect.Effect<A, E> =>
    infoUnsafe === undefined ? Effect.flatMap(core.info, body) : body(infoUnsafe())
  const connected = <A, E>(
    operation: string,
    body: (info: Info) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | Disconnected> =>
    isConnectedUnsafe !== undefined ?
      Effect.suspend((): Effect.Effect<A, E | Disconnected> =>
        isConnectedUnsafe() ? withInfo(body) : Effect.fail(lostError(operation))
      ) :
      Effect.flatMap(isConnected, (ok): Effect.Effect<A, E | Disconnected> =>
        ok ? withInfo(body) : Effect.fail(lostError(operation))
      )

  const writable = <A, E>(operation: string, body: (info: Info) => Effect.Effect<A, E>) =>
    connected(
      operation,
      (info): Effect.Effect<A, E | IsReadOnly> => info.readWrite ? body(info) : Effect.fail(readOnlyError(operation, name))
    )

  const checkFrom = (operation: string, info: Info, from: number) =>
    checkSector(operation, "from", from) ?? (from <= info.sizeSectors ? undefined : new InvalidRequest({
      operation,
      message: `${operation}: from ${from} is past the end of the device (${info.sizeSectors} sectors)`
    }))

  const coreFlush = core.flush ?? Effect.void
  const coreDisconnect = core.disconnect ?? Effect.void

  /**
   * The hot path of `read` and `write`, for devices whose connection and
   * geometry can be read synchronously: connection, read-only flag and
   * validation inline and the core called in the same single `suspend`.
   */
  const fast = isConnectedUnsafe !== undefined && infoUnsafe !== undefined
  const coreRead = core.read
  const coreWrite = core.write
  /**
   * Validates a transfer and calls the core with it: the common request (one
   * real `Uint8Array` of whole sectors inside the device) checked inline with
   * nothing allocated but its view, anything else through `checkTransfer`.
   */
  const transfer = <E>(
    operation: "read" | "write",
    info: Info,
    sectorStart: number,
    buffers: Buffers,
    run: (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) => Effect.Effect<void, E>
  ): Effect.Effect<void, E | InvalidRequest> => {
    const view = uint8ArrayView(buffers)
    if (view !== undefined && typeof sectorStart === "number" && Number.isSafeInteger(sectorStart) && sectorStart >= 0) {
      const sectors = view.byteLength / info.sectorSize
      if (Number.isInteger(sectors) && sectorStart + sectors <= info.sizeSectors) return run(sectorStart, [view], sectors)
    }
    const checked = checkTransfer(operation, info, sectorStart, buffers)
    return checked instanceof InvalidRequest ? Effect.fail(checked) : run(sectorStart, checked.list, checked.sectors)
  }
  const fastRead = (sectorStart: number, buffers: Buffers): Effect.Effect<void, ReadError> =>
    Effect.suspend((): Effect.Effect<void, ReadError> =>
      isConnectedUnsafe!() ? transfer("read", infoUnsafe!(), sectorStart, buffers, coreRead) : Effect.fail(lostError("read"))
    )
  const fastWrite = (sectorStart: number, buffers: Buffers): Effect.Effect<void, WriteError> =>
    Effect.suspend((): Effect.Effect<void, WriteError> => {
      if (!isConnectedUnsafe!()) return Effect.fail(lostError("write"))
      const info = infoUnsafe!()
      return info.readWrite ? transfer("write", info, sectorStart, buffers, coreWrite) : Effect.fail(readOnlyError("write", name))
    })

  /** A vectored operation from the single one: every core call made now, in this step; their effects run in order. */
  const derived = <E>(
    requests: ReadonlyArray<CheckedRequest>,
    run: (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) => Effect.Effect<void, E>
  ): Effect.Effect<void, E> => {
    const effects = new Array<Effect.Effect<void, E>>(requests.length)
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!
      effects[i] = run(request.sectorStart, request.list, request.sectors)
    }
    return Effect.forEach(effects, (effect) => effect, { discard: true })
  }

  const device: BlockDeviceShape & Probed = {
    [TypeId]: TypeId,
    info: core.info,
    isConnected,
    read: fast ?
      fastRead :
      (sectorStart, buffers) =>
        connected("read", (info): Effect.Effect<void, ReadError> => transfer("read", info, sectorStart, buffers, coreRead)),
    write: fast ?
      fastWrite :
      (sectorStart, buffers) =>
        writable("write", (info): Effect.Effect<void, WriteError> => transfer("write", info, sectorStart, buffers, coreWrite)),
    readVectored: (requests) =>
      connected("readVectored", (info): Effect.Effect<void, ReadError> => {
        const checked = checkVectored("readVectored", info, requests)
        if (checked instanceof InvalidRequest) return Effect.fail(checked)
        return core.readVectored !== undefined ? core.readVectored(checked) : derived(checked, core.read)
      }),
    writeVectored: (requests) =>
      writable("writeVectored", (info): Effect.Effect<void, WriteError> => {
        const checked = checkVectored("writeVectored", info, requests)
        if (checked instanceof InvalidRequest) return Effect.fail(checked)
        return core.writeVectored !== undefined ? core.writeVectored(checked) : derived(checked, core.write)
      }),
    flush: connected("flush", () => coreFlush),
    discard: (sectorStart, sectors) => {
      const discard = core.discard
      if (discard === undefined) return connected("discard", () => unimplemented("discard", name))
      return writable("discard", (info): Effect.Effect<void, WriteError> => {
        const bad = checkSector("discard", "sectorStart", sectorStart) ?? checkSector("discard", "sectors", sectors) ??
          checkRange("discard", sectorStart, sectors, info.sizeSectors)
        return bad === undefined ? discard(sectorStart, sectors) : Effect.fail(bad)
      })
    },
    resize: (sizeSectors) => {
      const resize = core.resize
      if (resize === undefined) return connected("resize", () => unimplemented("resize", name))
      return writable("resize", (info): Effect.Effect<void, WriteError> => {
        const bad = checkSize("resize", info.sectorSize, sizeSectors)
        return bad === undefined ? resize(sizeSectors) : Effect.fail(bad)
      })
    },
    seekMapped: (from) =>
      connected("seekMapped", (info): Effect.Effect<number, ReadError> => {
        const bad = checkFrom("seekMapped", info, from)
        if (bad !== undefined) return Effect.fail(bad)
        return core.seekMapped === undefined ? Effect.succeed(from) : core.seekMapped(from)
      }),
    seekUnmapped: (from) =>
      connected("seekUnmapped", (info): Effect.Effect<number, ReadError> => {
        const bad = checkFrom("seekUnmapped", info, from)
        if (bad !== undefined) return Effect.fail(bad)
        return core.seekUnmapped === undefined ? Effect.succeed(info.sizeSectors) : core.seekUnmapped(from)
      }),
    disconnect: Effect.suspend(() =>
      connection.isConnectedUnsafe() ? Effect.andThen(connection.disconnect, coreDisconnect) : Effect.void
    ),
    // Data-last wrappers and combinators read left to right: `device.pipe(slice(window), readOnly)`.
    pipe() {
      return pipeArguments(this, arguments)
    }
  }
  if (isConnectedUnsafe !== undefined) {
    Object.defineProperty(device, connectedProbe, { value: isConnectedUnsafe, enumerable: true })
  }
  return device
}

/**
 * Builds a block device from an implementation's core operations: see
 * {@link Core} for what the implementation supplies and what it is spared.
 *
 * @since 0.1.0
 */
export const make = (core: Core): Effect.Effect<BlockDeviceShape> => Effect.sync(() => makeUnsafe(core))

/**
 * The block device service. Yield it in an Effect to get the device the
 * surrounding layer provides; build one with `BlockDevice.make`.
 *
 * @example
 * ```ts
 * import { BlockDevice } from "@effect-block/block"
 * import { Effect } from "effect"
 *
 * const firstSector = Effect.gen(function*() {
 *   const device = yield* BlockDevice
 *   const { sectorSize } = yield* device.info
 *   const buffer = new Uint8Array(sectorSize)
 *   yield* device.read(0, buffer)
 *   return buffer
 * })
 * ```
 *
 * @since 0.1.0
 */
export class BlockDevice extends Context.Service<BlockDevice, BlockDeviceShape>()("@effect-block/block/BlockDevice") {
  static readonly make = make
  static readonly makeUnsafe = makeUnsafe
  /**
   * Provides the device of any device layer under a service key of your own,
   * so one application can hold several devices (a data disk and a journal):
   * `RamdiskLive({ name: "journal" }).pipe(BlockDevice.layerAs(Journal))`.
   * The result provides only `key` (the layer's other services, such as
   * `BlockDevice` itself, stay inside), and releases the device with it.
   *
   * @example
   * ```ts
   * import { BlockDevice, type BlockDeviceShape } from "@effect-block/block"
   * import { Context } from "effect"
   *
   * class Journal extends Context.Service<Journal, BlockDeviceShape>()("app/Journal") {}
   *
   * const JournalLive = RamdiskLive({ name: "journal" }).pipe(BlockDevice.layerAs(Journal))
   * ```
   *
   * @since 0.2.0
   */
  static readonly layerAs = <I>(key: Context.Key<I, BlockDeviceShape>) =>
  <E, R>(layer: Layer.Layer<BlockDevice, E, R>): Layer.Layer<I, E, R> =>
    Layer.effect(key, Effect.service(BlockDevice)).pipe(Layer.provide(layer))
}
