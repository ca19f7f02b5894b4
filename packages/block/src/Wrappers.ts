/**
 * Wrappers: functions from a block device to another block device, in the
 * manner of nbdkit filters. `readOnly` hides writes, `slice` shows a window
 * of a device (a partition), and `overlay` puts a copy-on-write layer over a
 * device that must not change (a golden image shared by many tests). Each
 * stacks with the others and with the testing wrappers: the result of one is
 * an ordinary device to the next.
 *
 * Every wrapper is built with `BlockDevice.makeUnsafe`, so requests are
 * validated against the wrapper's own geometry and the wrapper has its own
 * connection state. Disconnecting a wrapper disconnects only the wrapper:
 * the wrapped device belongs to whoever opened it, and stays connected for
 * its other users. A wrapped device that is disconnected or destroyed makes
 * the wrapper's operations fail `Disconnected`.
 *
 * Each wrapper also comes as a layer that wraps the `BlockDevice` of its
 * context (`readOnlyLayer`, `sliceLayer`, `overlayLayer`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import { BlockDevice, type BlockDeviceShape, makeUnsafe } from "./BlockDevice.js"
import { InvalidRequest, IsReadOnly, type ReadError, type WriteError } from "./Errors.js"
import { checkSector, describeValue, type Info } from "./Geometry.js"
import { defaultChunkSectors, forEachChunk, isDevice, positiveOption, subBuffers } from "./internal/Support.js"

/**
 * A read-only view of `device`: reads and seeks pass through, `info` says
 * `readWrite: false`, and `write`, `discard` and `resize` fail `IsReadOnly`
 * without reaching `device`. `flush` succeeds (a read-only handle has
 * nothing of its own to make durable).
 *
 * @example
 * ```ts
 * import { readOnly } from "@effect-block/block"
 *
 * const safe = readOnly(disk) // safe.write(...) fails IsReadOnly
 * ```
 *
 * @since 0.1.0
 */
export const readOnly = (device: BlockDeviceShape): BlockDeviceShape => {
  const refused = (operation: string) =>
    Effect.fail(new IsReadOnly({ operation, message: `${operation} on a read-only view: the handle is read-only` }))
  return makeUnsafe({
    name: "read-only view",
    wraps: [device],
    info: Effect.map(device.info, (info): Info => ({ ...info, readWrite: false })),
    read: (sectorStart, buffers) => device.read(sectorStart, buffers),
    // makeUnsafe refuses write-type operations on a handle whose info says read-only; these are never reached.
    write: () => refused("write"),
    discard: () => refused("discard"),
    resize: () => refused("resize"),
    seekMapped: (from) => device.seekMapped(from),
    seekUnmapped: (from) => device.seekUnmapped(from)
  })
}

/**
 * The window of a device that {@link slice} shows.
 *
 * @since 0.1.0
 */
export interface SliceWindow {
  /** The device sector that becomes sector 0 of the slice. */
  readonly start: number
  /** The slice's size in sectors. */
  readonly sectors: number
}

const checkWindow = (window: SliceWindow, sizeSectors: number): InvalidRequest | undefined => {
  if (typeof window !== "object" || window === null) {
    return new InvalidRequest({ operation: "slice", message: `slice: window ${describeValue(window)} is not an object` })
  }
  const bad = checkSector("slice", "start", window.start) ?? checkSector("slice", "sectors", window.sectors)
  if (bad !== undefined) return bad
  return window.start + window.sectors <= sizeSectors ? undefined : new InvalidRequest({
    operation: "slice",
    message: `slice: window [${window.start}, ${
      window.start + window.sectors
    }) runs past the end of the device (${sizeSectors} sectors)`
  })
}

const sliceImpl = (device: BlockDeviceShape, window: SliceWindow): BlockDeviceShape => {
  const validNumbers = checkSector("slice", "start", window?.start) === undefined &&
    checkSector("slice", "sectors", window?.sectors) === undefined
  const start = validNumbers ? window.start : 0
  const end = validNumbers ? window.start + window.sectors : 0
  /** Runs `body` only while the window still lies inside the device (which may have shrunk). */
  const inside = <A, E>(body: Effect.Effect<A, E>): Effect.Effect<A, E | InvalidRequest> =>
    Effect.flatMap(device.info, (info): Effect.Effect<A, E | InvalidRequest> => {
      const bad = checkWindow(window, info.sizeSectors)
      return bad === undefined ? body : Effect.fail(bad)
    })
  /** A seek answer of the device, brought back into the window's coordinates. */
  const clamp = (answer: number) => Math.min(Math.max(answer, start), end) - start
  return makeUnsafe({
    name: validNumbers ? `slice [${start}, ${end})` : "slice",
    wraps: [device],
    info: Effect.map(device.info, (info): Info => ({ ...info, sizeSectors: end - start })),
    read: (sectorStart, buffers) => inside(device.read(start + sectorStart, buffers)),
    write: (sectorStart, buffers) => inside(device.write(start + sectorStart, buffers)),
    flush: inside(device.flush),
    discard: (sectorStart, sectors) => inside(device.discard(start + sectorStart, sectors)),
    seekMapped: (from) => inside(Effect.map(device.seekMapped(start + from), clamp)),
    seekUnmapped: (from) => inside(Effect.map(device.seekUnmapped(start + from), clamp))
  })
}

/**
 * A partition view of `device`: sector `s` of the slice is sector
 * `window.start + s` of the device, and the slice is `window.sectors` long,
 * so no request can reach outside the window (requests past its end fail
 * `InvalidRequest`, checked against the slice's own size). Seek answers are
 * translated and clamped to the window. `resize` fails `Unimplemented`: a
 * partition's bounds are fixed.
 *
 * The window is checked on every operation against the device's current
 * size: a bad window (not sector numbers, or past the device's end, perhaps
 * after the device shrank) makes every operation fail `InvalidRequest`
 * naming the window, and `info` report a size of 0 for a window that is not
 * made of sector numbers. Use {@link sliceLayer} to have a bad window fail
 * when the layer is built.
 *
 * @example
 * ```ts
 * import { slice } from "@effect-block/block"
 *
 * const partition = slice(disk, { start: 2048, sectors: 4096 })
 * const same = pipe(disk, slice({ start: 2048, sectors: 4096 }))
 * ```
 *
 * @since 0.1.0
 */
export const slice: {
  (window: SliceWindow): (device: BlockDeviceShape) => BlockDeviceShape
  (device: BlockDeviceShape, window: SliceWindow): BlockDeviceShape
} = dual(2, sliceImpl)

/** Permits a read of the overlay takes; a write-type operation takes them all, so it runs alone. */
const overlayPermits = 1 << 20

/**
 * Options of {@link overlay}.
 *
 * @since 0.1.0
 */
export interface OverlayOptions {
  /**
   * The copy-up unit, in sectors: the first write into a block of this size
   * copies the whole block into `upper` first. It must be a multiple of
   * `upper`'s mapping granularity (its page). Default: 4 KiB worth of sectors,
   * or one sector if sectors are larger (a ramdisk's page).
   */
  readonly blockSectors?: number | undefined
}

const overlayImpl = (base: BlockDeviceShape, upper: BlockDeviceShape, options?: OverlayOptions): BlockDeviceShape => {
  const lock = Semaphore.makeUnsafe(overlayPermits)
  const shared = lock.withPermits(1)
  const exclusive = lock.withPermits(overlayPermits)

  /** The geometry of the pair, or the reason the pair cannot form an overlay. */
  const geometry: Effect.Effect<readonly [Info, Info, InvalidRequest | undefined]> = Effect.map(
    Effect.all([base.info, upper.info]),
    ([baseInfo, upperInfo]) => [baseInfo, upperInfo, checkPair(baseInfo, upperInfo)] as const
  )
  const checked = <A, E>(
    body: (pair: PairGeometry) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | InvalidRequest> =>
    Effect.flatMap(geometry, ([baseInfo, , bad]): Effect.Effect<A, E | InvalidRequest> => {
      if (bad !== undefined) return Effect.fail(bad)
      const blockSectors = positiveOption(
        "overlay",
        "blockSectors",
        options?.blockSectors,
        Math.max(1, Math.floor(4096 / baseInfo.sectorSize))
      )
      return blockSectors instanceof InvalidRequest ?
        Effect.fail(blockSectors) :
        body({ sectorSize: baseInfo.sectorSize, sizeSectors: baseInfo.sizeSectors, blockSectors })
    })

  /** Reads `[sectorStart, sectorStart + sectors)`: upper's mapped runs from upper, the rest from base. */
  const read = (
    sectorSize: number,
    sectorStart: number,
    buffers: ReadonlyArray<Uint8Array>,
    sectors: number
  ): Effect.Effect<void, ReadError> => {
    const end = sectorStart + sectors
    let position = sectorStart
    return Effect.whileLoop({
      while: () => position < end,
      body: () =>
        Effect.flatMap(upper.seekMapped(position), (mappedAt): Effect.Effect<void, ReadError> => {
          const from = position
          const views = (to: number) => subBuffers(buffers, (from - sectorStart) * sectorSize, (to - from) * sectorSize)
          if (mappedAt > from) {
            const to = Math.min(mappedAt, end)
            position = to
            return base.read(from, views(to))
          }
          return Effect.flatMap(upper.seekUnmapped(from), (unmappedAt) => {
            // A sector both seeks disown reads as zero in upper: read it from upper all the same.
            const to = Math.min(Math.max(unmappedAt, from + 1), end)
            position = to
            return upper.read(from, views(to))
          })
        }),
      step: () => {}
    })
  }

  /**
   * Writes to upper, first copying up the blocks the write covers only in
   * part. Upper maps whole pages, so a write of one sector maps its
   * neighbours too: copying the block up first makes them hold base's bytes
   * rather than zeros, so reads can trust upper's seeks.
   */
  const writeUpper = (
    { blockSectors, sectorSize, sizeSectors }: PairGeometry,
    sectorStart: number,
    buffers: ReadonlyArray<Uint8Array>,
    sectors: number
  ): Effect.Effect<void, WriteError> => {
    const end = sectorStart + sectors
    const blocks = new Set<number>()
    if (sectors > 0) {
      if (sectorStart % blockSectors !== 0) blocks.add(sectorStart - (sectorStart % blockSectors))
      if (end % blockSectors !== 0 && end < sizeSectors) blocks.add(end - (end % blockSectors))
    }
    const copyUp = (block: number): Effect.Effect<void, WriteError> => {
      const blockEnd = Math.min(block + blockSectors, sizeSectors)
      return Effect.flatMap(upper.seekUnmapped(block), (hole): Effect.Effect<void, WriteError> => {
        if (hole >= blockEnd) return Effect.void
        const buffer = new Uint8Array((blockEnd - block) * sectorSize)
        return Effect.andThen(read(sectorSize, block, [buffer], blockEnd - block), upper.write(block, buffer))
      })
    }
    return Effect.andThen(Effect.forEach(blocks, copyUp, { discard: true }), upper.write(sectorStart, buffers))
  }

  /** Makes `[sectorStart, sectorStart + sectors)` read as zeros by writing zeros to upper. */
  const zero = (pair: PairGeometry, sectorStart: number, sectors: number): Effect.Effect<void, WriteError> => {
    // Discarding upper would let base show through, so zeros are written.
    const chunk = defaultChunkSectors(pair.sectorSize)
    const zeros = new Uint8Array(Math.min(chunk, sectors) * pair.sectorSize)
    return forEachChunk(sectorStart, sectorStart + sectors, chunk, 1, (at, n) =>
      writeUpper(pair, at, [zeros.subarray(0, n * pair.sectorSize)], n))
  }

  /** The first sector at or after `from` where both upper and base are unmapped, or `size`. */
  const seekUnmapped = (from: number, size: number): Effect.Effect<number, ReadError> => {
    let position = from
    let found = -1
    return Effect.whileLoop({
      while: () => found < 0,
      body: () =>
        Effect.flatMap(upper.seekUnmapped(position), (upperHole): Effect.Effect<void, ReadError> => {
          if (upperHole >= size) {
            found = size
            return Effect.void
          }
          return Effect.map(base.seekUnmapped(upperHole), (baseHole) => {
            if (baseHole === upperHole || baseHole >= size) found = Math.min(baseHole, size)
            else position = baseHole
          })
        }),
      step: () => {}
    }).pipe(Effect.map(() => found))
  }

  return makeUnsafe({
    name: "overlay",
    wraps: [base, upper],
    info: Effect.map(geometry, ([baseInfo, upperInfo]): Info => ({ ...baseInfo, readWrite: upperInfo.readWrite })),
    read: (sectorStart, buffers, sectors) =>
      checked(({ sectorSize }) => shared(read(sectorSize, sectorStart, buffers, sectors))),
    write: (sectorStart, buffers, sectors) => checked((pair) => exclusive(writeUpper(pair, sectorStart, buffers, sectors))),
    flush: upper.flush,
    discard: (sectorStart, sectors) => checked((pair) => exclusive(zero(pair, sectorStart, sectors))),
    seekMapped: (from) =>
      checked(() =>
        shared(Effect.flatMap(
          Effect.all([upper.seekMapped(from), base.seekMapped(from)]),
          ([upperData, baseData]) => Effect.map(base.info, (info) => Math.min(upperData, baseData, info.sizeSectors))
        ))
      ),
    seekUnmapped: (from) =>
      checked(() => shared(Effect.flatMap(base.info, (info) => seekUnmapped(from, info.sizeSectors))))
  })
}

/** What every overlay request needs: base's geometry and the copy-up unit. */
interface PairGeometry {
  readonly sectorSize: number
  readonly sizeSectors: number
  readonly blockSectors: number
}

const checkPair = (base: Info, upper: Info): InvalidRequest | undefined =>
  base.sectorSize !== upper.sectorSize ?
    new InvalidRequest({
      operation: "overlay",
      message: `overlay: the base has ${base.sectorSize}-byte sectors but the upper device ${upper.sectorSize}-byte sectors`
    }) :
    upper.sizeSectors < base.sizeSectors ?
    new InvalidRequest({
      operation: "overlay",
      message: `overlay: the upper device has ${upper.sizeSectors} sectors, fewer than the base's ${base.sizeSectors}`
    }) :
    undefined

/**
 * A copy-on-write view of `base` (the nbdkit `cow` filter): writes go to
 * `upper`, and reads come from `upper` where `upper` is mapped (its seeks
 * say so) and from `base` elsewhere. `base` is never written, so one golden
 * image can serve many tests, each with its own fresh, empty `upper` (a
 * ramdisk is ideal: it starts unmapped and tracks what was written).
 *
 * - Size and sector size are `base`'s; `upper` must have the same sector
 *   size and at least as many sectors, or every operation fails
 *   `InvalidRequest` (use {@link overlayLayer} to fail at build instead).
 *   The overlay is writable when `upper` is.
 * - `upper` is trusted through its seeks, which map whole pages: so the
 *   first write into a block of `blockSectors` (default 4 KiB, a ramdisk
 *   page) that covers it only in part first copies the block up from the
 *   overlay's current contents, as the nbdkit cow filter does. `upper` must
 *   start unmapped (a fresh ramdisk) and its pages must divide the block; a
 *   device that reports everything mapped (a file) would hide `base`
 *   entirely.
 * - `discard` writes zeros to `upper` (discarding `upper` would let `base`
 *   show through), so a discarded range stays allocated in `upper`.
 * - `resize` fails `Unimplemented`. `flush` flushes `upper`.
 * - Seeks: a sector may hold data where either device is mapped.
 * - Each operation is atomic with respect to the overlay's other operations
 *   (reads share a lock, writes and discards take it alone). Writes made to
 *   `base` or `upper` directly, around the overlay, show through as they
 *   happen.
 *
 * @example
 * ```ts
 * import { overlay } from "@effect-block/block"
 *
 * const scratch = overlay(golden, emptyRamdisk) // scratch.write(...) leaves golden untouched
 * ```
 *
 * @since 0.1.0
 */
export const overlay: {
  (upper: BlockDeviceShape, options?: OverlayOptions): (base: BlockDeviceShape) => BlockDeviceShape
  (base: BlockDeviceShape, upper: BlockDeviceShape, options?: OverlayOptions): BlockDeviceShape
} = dual((args) => isDevice(args[0]) && isDevice(args[1]), overlayImpl)

/** Provides the wrapper built from the context's `BlockDevice`, disconnecting the wrapper (only) on release. */
const wrapLayer = <E>(
  wrap: (device: BlockDeviceShape) => Effect.Effect<BlockDeviceShape, E>
): Layer.Layer<BlockDevice, E, BlockDevice> =>
  Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const device = yield* BlockDevice
      return yield* Effect.acquireRelease(wrap(device), (wrapped) => wrapped.disconnect)
    })
  )

/**
 * Replaces the context's `BlockDevice` with a {@link readOnly} view of it.
 *
 * @example
 * ```ts
 * import { readOnlyLayer } from "@effect-block/block"
 *
 * const ReadOnlyDisk = readOnlyLayer.pipe(Layer.provide(DiskLive))
 * ```
 *
 * @since 0.1.0
 */
export const readOnlyLayer: Layer.Layer<BlockDevice, never, BlockDevice> = wrapLayer((device) =>
  Effect.sync(() => readOnly(device))
)

/**
 * Replaces the context's `BlockDevice` with a {@link slice} of it, failing
 * `InvalidRequest` at build if the window does not lie inside the device.
 *
 * @example
 * ```ts
 * import { sliceLayer } from "@effect-block/block"
 *
 * const Partition = sliceLayer({ start: 2048, sectors: 4096 }).pipe(Layer.provide(DiskLive))
 * ```
 *
 * @since 0.1.0
 */
export const sliceLayer = (window: SliceWindow): Layer.Layer<BlockDevice, InvalidRequest, BlockDevice> =>
  wrapLayer((device) =>
    Effect.flatMap(device.info, (info) => {
      const bad = checkWindow(window, info.sizeSectors)
      return bad === undefined ? Effect.sync(() => slice(device, window)) : Effect.fail(bad)
    })
  )

/**
 * Provides an {@link overlay} whose base is the `BlockDevice` built by `base`
 * and whose upper device is the one built by `upper` (each layer is built
 * in its own context, so both may be `RamdiskLive` layers). Fails
 * `InvalidRequest` at build when the two geometries do not fit.
 *
 * @example
 * ```ts
 * import { overlayLayer } from "@effect-block/block"
 *
 * const Scratch = overlayLayer({
 *   base: RamdiskLive({ name: "golden" }),
 *   upper: RamdiskLive({ name: "scratch" })
 * }).pipe(Layer.provide(RegistryLive))
 * ```
 *
 * @since 0.1.0
 */
export const overlayLayer = <E1, R1, E2, R2>(layers: {
  readonly base: Layer.Layer<BlockDevice, E1, R1>
  readonly upper: Layer.Layer<BlockDevice, E2, R2>
}): Layer.Layer<BlockDevice, E1 | E2 | InvalidRequest, R1 | R2> =>
  Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const base = Context.get(yield* Layer.build(layers.base), BlockDevice)
      const upper = Context.get(yield* Layer.build(layers.upper), BlockDevice)
      const bad = checkPair(yield* base.info, yield* upper.info)
      if (bad !== undefined) return yield* Effect.fail(bad)
      return yield* Effect.acquireRelease(Effect.sync(() => overlay(base, upper)), (device) => device.disconnect)
    })
  )
