/**
 * `overlay`: a copy-on-write view of a device that must not change (a golden
 * image shared by many tests), in the manner of nbdkit's `cow` filter, and
 * `OverlayLive`, its layer.
 *
 * Writes go to an upper device; the overlay keeps its own record of which
 * blocks were written through it, and reads each block from upper if it was
 * written and from base otherwise. The record, not upper's mapping, decides,
 * so base data is never hidden whatever upper's page size or alignment.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { BlockDevice, type BlockDeviceShape, makeUnsafe } from "./BlockDevice.js"
import { InvalidRequest, type ReadError, type WriteError } from "./Errors.js"
import type { Info } from "./Geometry.js"
import * as BlockSet from "./internal/BlockSet.js"
import { brokenDevice, isOptionsArgument } from "./internal/Broken.js"
import { takeDevice } from "./internal/Devices.js"
import { decodeOptions, PositiveInteger } from "./internal/Options.js"
import { defaultChunkSectors, forEachChunk, subBuffers } from "./internal/Support.js"

/**
 * Options of {@link overlay}, decoded with this schema (`null` or a
 * non-integer is an `InvalidRequest` naming the option).
 *
 * @since 0.2.0
 */
export const OverlayOptions = Schema.Struct({
  /**
   * The unit of the overlay's record of written blocks, in sectors: the first
   * write that covers a block only in part first copies that block up from
   * base. Any positive integer is correct whatever upper is; it only tunes
   * how much is copied up and how large the record grows. Default: 4 KiB
   * worth of sectors, or one sector if sectors are larger.
   */
  blockSectors: Schema.optional(PositiveInteger)
})

/**
 * @since 0.1.0
 */
export type OverlayOptions = typeof OverlayOptions.Type

const decode = decodeOptions(Schema.UndefinedOr(OverlayOptions), "options")

/** Permits a read of the overlay takes; a write-type operation takes them all, so it runs alone. */
const overlayPermits = 1 << 20

/** What every overlay request needs: base's geometry and the record's unit. */
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

const make = (base: BlockDeviceShape, upper: BlockDeviceShape, blockOption: number | undefined): BlockDeviceShape => {
  const lock = Semaphore.makeUnsafe(overlayPermits)
  const shared = lock.withPermits(1)
  const exclusive = lock.withPermits(overlayPermits)
  /** The blocks written through the overlay: these read from upper, all others from base. */
  const written = BlockSet.make()

  const geometry: Effect.Effect<readonly [Info, Info]> = Effect.all([base.info, upper.info])
  const checked = <A, E>(body: (pair: PairGeometry) => Effect.Effect<A, E>): Effect.Effect<A, E | InvalidRequest> =>
    Effect.flatMap(geometry, ([baseInfo, upperInfo]): Effect.Effect<A, E | InvalidRequest> => {
      const bad = checkPair(baseInfo, upperInfo)
      if (bad !== undefined) return Effect.fail(bad)
      const blockSectors = blockOption ?? Math.max(1, Math.floor(4096 / baseInfo.sectorSize))
      return body({ sectorSize: baseInfo.sectorSize, sizeSectors: baseInfo.sizeSectors, blockSectors })
    })

  /** Reads `[sectorStart, sectorStart + sectors)`: written blocks from upper, the rest from base. */
  const read = (
    { blockSectors, sectorSize }: PairGeometry,
    sectorStart: number,
    buffers: ReadonlyArray<Uint8Array>,
    sectors: number
  ): Effect.Effect<void, ReadError> => {
    const end = sectorStart + sectors
    let position = sectorStart
    return Effect.whileLoop({
      while: () => position < end,
      body: () => {
        const from = position
        const block = Math.floor(from / blockSectors)
        const runEnd = BlockSet.runEndAt(written, block)
        const fromUpper = runEnd >= 0
        const to = Math.min(end, (fromUpper ? runEnd : BlockSet.nextIn(written, block)) * blockSectors)
        position = to
        const views = subBuffers(buffers, (from - sectorStart) * sectorSize, (to - from) * sectorSize)
        return fromUpper ? upper.read(from, views) : base.read(from, views)
      },
      step: () => {}
    })
  }

  /** The blocks `[first, last)` that `[start, end)` touches. */
  const blocksOf = (blockSectors: number, start: number, end: number) =>
    [Math.floor(start / blockSectors), Math.ceil(end / blockSectors)] as const

  /**
   * Copies up, from base, each block at the edges of `[start, end)` that the
   * range covers only in part and that was never written, so the rest of the
   * block keeps base's bytes once the whole block reads from upper.
   */
  const copyUpEdges = (
    { blockSectors, sectorSize, sizeSectors }: PairGeometry,
    start: number,
    end: number
  ): Effect.Effect<void, WriteError> => {
    const [first, last] = blocksOf(blockSectors, start, end)
    const edges = first === last - 1 ? [first] : [first, last - 1]
    const partial = edges.filter((block) => {
      const blockStart = block * blockSectors
      const blockEnd = Math.min(blockStart + blockSectors, sizeSectors)
      return (start > blockStart || end < blockEnd) && !BlockSet.has(written, block)
    })
    return Effect.forEach(partial, (block) =>
      Effect.suspend(() => {
        const blockStart = block * blockSectors
        const blockEnd = Math.min(blockStart + blockSectors, sizeSectors)
        const buffer = new Uint8Array((blockEnd - blockStart) * sectorSize)
        return Effect.andThen(base.read(blockStart, buffer), upper.write(blockStart, buffer))
      }), { discard: true })
  }

  /** Runs `change` on upper after copying up the edges, then records the blocks as written. */
  const changeUpper = (
    pair: PairGeometry,
    start: number,
    sectors: number,
    change: Effect.Effect<void, WriteError>
  ): Effect.Effect<void, WriteError> => {
    if (sectors === 0) return change
    const end = start + sectors
    return copyUpEdges(pair, start, end).pipe(
      Effect.andThen(change),
      Effect.andThen(Effect.sync(() => {
        const [first, last] = blocksOf(pair.blockSectors, start, end)
        BlockSet.add(written, first, last)
      }))
    )
  }

  /** Makes `[start, start + sectors)` of upper read as zeros: discard where upper can, zeros written where not. */
  const zeroUpper = (pair: PairGeometry, start: number, sectors: number): Effect.Effect<void, WriteError> =>
    upper.discard(start, sectors).pipe(
      Effect.catchTag("Unimplemented", () => {
        const chunk = defaultChunkSectors(pair.sectorSize)
        const zeros = new Uint8Array(Math.min(chunk, sectors) * pair.sectorSize)
        return forEachChunk(start, start + sectors, chunk, 1, (at, n) => upper.write(at, zeros.subarray(0, n * pair.sectorSize)))
      })
    )

  /** The first sector at or after `from` that may hold data: in a written block, or mapped in base. */
  const seekMapped = ({ blockSectors, sizeSectors }: PairGeometry, from: number): Effect.Effect<number, ReadError> =>
    Effect.map(base.seekMapped(from), (baseData) => {
      const next = BlockSet.nextIn(written, Math.floor(from / blockSectors))
      const writtenAt = next === Number.POSITIVE_INFINITY ? sizeSectors : Math.max(from, next * blockSectors)
      return Math.min(writtenAt, baseData, sizeSectors)
    })

  /** The first sector at or after `from` in a block never written whose base sector is unmapped, or the size. */
  const seekUnmapped = ({ blockSectors, sizeSectors }: PairGeometry, from: number): Effect.Effect<number, ReadError> => {
    let position = from
    let found = -1
    return Effect.whileLoop({
      while: () => found < 0,
      body: (): Effect.Effect<void, ReadError> => {
        if (position >= sizeSectors) {
          found = sizeSectors
          return Effect.void
        }
        const runEnd = BlockSet.runEndAt(written, Math.floor(position / blockSectors))
        if (runEnd >= 0) {
          position = runEnd * blockSectors
          return Effect.void
        }
        return Effect.map(base.seekUnmapped(position), (hole) => {
          if (hole >= sizeSectors) found = sizeSectors
          else if (BlockSet.has(written, Math.floor(hole / blockSectors))) position = hole
          else found = hole
        })
      },
      step: () => {}
    }).pipe(Effect.map(() => found))
  }

  return makeUnsafe({
    name: "overlay",
    wraps: [base, upper],
    info: Effect.map(geometry, ([baseInfo, upperInfo]): Info => ({ ...baseInfo, readWrite: upperInfo.readWrite })),
    read: (sectorStart, buffers, sectors) => checked((pair) => shared(read(pair, sectorStart, buffers, sectors))),
    write: (sectorStart, buffers, sectors) =>
      checked((pair) => exclusive(changeUpper(pair, sectorStart, sectors, upper.write(sectorStart, buffers)))),
    flush: upper.flush,
    discard: (sectorStart, sectors) =>
      checked((pair) => exclusive(changeUpper(pair, sectorStart, sectors, zeroUpper(pair, sectorStart, sectors)))),
    seekMapped: (from) => checked((pair) => shared(seekMapped(pair, from))),
    seekUnmapped: (from) => checked((pair) => shared(seekUnmapped(pair, from)))
  })
}

const overlayImpl = (base: unknown, upper: unknown, options?: unknown): BlockDeviceShape => {
  const baseDevice = takeDevice("overlay", "base", base)
  if (baseDevice instanceof InvalidRequest) return brokenDevice("overlay", baseDevice)
  const upperDevice = takeDevice("overlay", "upper", upper)
  if (upperDevice instanceof InvalidRequest) return brokenDevice("overlay", upperDevice)
  const decoded = decode("overlay", options)
  if (decoded instanceof InvalidRequest) return brokenDevice("overlay", decoded)
  return make(baseDevice, upperDevice, decoded?.blockSectors)
}

/**
 * A copy-on-write view of `base` (the nbdkit `cow` filter): writes go to
 * `upper`, reads come from `upper` for the blocks written through the
 * overlay and from `base` for every other block. `base` is never written, so
 * one golden image can serve many tests, each with its own `upper` (a fresh
 * ramdisk is ideal: sparse, so it holds only what was written).
 *
 * - Size and sector size are `base`'s; `upper` must have the same sector
 *   size and at least as many sectors, or every operation fails
 *   `InvalidRequest` (use {@link OverlayLive} to fail at build instead).
 *   The overlay is writable when `upper` is.
 * - The overlay keeps its own record of the blocks (of `blockSectors`) that
 *   were written through it, so any `upper` works, whatever its mapping
 *   granularity, alignment or prior contents (a file, a slice at an odd
 *   offset). The first write covering a block only in part copies that block
 *   up from `base` first. The record lives in memory with the overlay value:
 *   `upper` belongs to this overlay, and a new overlay over the same `upper`
 *   starts from `base` again.
 * - `discard` discards (or zeroes) the range in `upper` and records it as
 *   written, so `base` does not show through.
 * - `resize` fails `Unimplemented`. `flush` flushes `upper`.
 * - Seeks: a sector may hold data where it lies in a written block or is
 *   mapped in `base`.
 * - Each operation is atomic with respect to the overlay's other operations
 *   (reads share a lock, writes and discards take it alone). Writes made to
 *   `base` directly show through where the overlay was not written.
 * - `overlay(base, x)` where `x` is not a device or options (`null`, a
 *   number) is the data-first form with a bad upper: every operation fails
 *   `InvalidRequest` naming it.
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
} = dual((args) => args.length >= 3 || !isOptionsArgument(args[1]), overlayImpl)

/**
 * Provides an {@link overlay} whose base is the `BlockDevice` built by `base`
 * and whose upper device is the one built by `upper` (each layer is built
 * in its own context, so both may be `RamdiskLive` layers). Fails
 * `InvalidRequest` at build when the two geometries do not fit or an option
 * is bad. The overlay is disconnected when the layer is released, then the
 * two devices by their own layers.
 *
 * @example
 * ```ts
 * import { OverlayLive } from "@effect-block/block"
 *
 * const Scratch = OverlayLive({
 *   base: RamdiskLive({ name: "golden" }),
 *   upper: RamdiskLive({ name: "scratch" })
 * }).pipe(Layer.provide(RegistryLive))
 * ```
 *
 * @since 0.2.0
 */
export const OverlayLive = <E1, R1, E2, R2>(
  layers: {
    readonly base: Layer.Layer<BlockDevice, E1, R1>
    readonly upper: Layer.Layer<BlockDevice, E2, R2>
  },
  options?: OverlayOptions
): Layer.Layer<BlockDevice, E1 | E2 | InvalidRequest, R1 | R2> =>
  Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const decoded = decode("OverlayLive", options)
      if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
      const base = Context.get(yield* Layer.build(layers.base), BlockDevice)
      const upper = Context.get(yield* Layer.build(layers.upper), BlockDevice)
      const bad = checkPair(yield* base.info, yield* upper.info)
      if (bad !== undefined) return yield* Effect.fail(bad)
      return yield* Effect.acquireRelease(
        Effect.sync(() => make(base, upper, decoded?.blockSectors)),
        (device) => device.disconnect
      )
    })
  )
