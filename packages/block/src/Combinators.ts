/**
 * Tools written once against the `BlockDevice` interface, so they work for
 * every device: copy a device, copy only its data, compare two devices, fold
 * over a device's data or holes, list its mapped and unmapped runs, and fill
 * it with a pattern or seeded random bytes.
 *
 * Every combinator is a plain function over `BlockDeviceShape` values, in
 * data-first form (`copy(src, dst)`) and data-last form
 * (`pipe(src, copy(dst))`). Work is cut into requests of `chunkSectors`
 * sectors (default: 1 MiB worth), so memory stays bounded by
 * `chunkSectors × sectorSize × concurrency` whatever the device size.
 *
 * Errors keep their class (match them with `Effect.catchTag`) and, for
 * combinators over two devices, their message says which device failed:
 * `"copy: destination: write on ramdisk "b": ..."`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { BlockDeviceShape } from "./BlockDevice.js"
import { InvalidRequest, IsReadOnly, type ReadError, type WriteError } from "./Errors.js"
import { checkRange, checkSector, describeValue, type Info } from "./Geometry.js"
import { hashSeed, seededBytes } from "./internal/SeededBytes.js"
import {
  defaultChunkSectors,
  type Extent,
  forEachChunk,
  forEachRun,
  isDevice,
  positiveOption,
  relabel
} from "./internal/Support.js"

export type { Extent } from "./internal/Support.js"

/**
 * How a combinator cuts its work into requests.
 *
 * @since 0.1.0
 */
export interface ChunkOptions {
  /** Sectors per read or write request; a positive integer. Default: 1 MiB worth of sectors. */
  readonly chunkSectors?: number | undefined
}

/**
 * How a copy cuts its work and how much of it runs at once.
 *
 * @since 0.1.0
 */
export interface CopyOptions extends ChunkOptions {
  /**
   * Requests in flight at once; a positive integer, default 1. Each one holds
   * its own buffer of `chunkSectors` sectors.
   */
  readonly concurrency?: number | undefined
}

const fail = (operation: string, message: string) =>
  Effect.fail(new InvalidRequest({ operation, message: `${operation}: ${message}` }))

interface Plan {
  readonly sectorSize: number
  readonly sizeSectors: number
  readonly chunkSectors: number
  readonly concurrency: number
}

/** Reads both geometries and checks that `dst` can receive a copy of `src`, before anything is written. */
const planCopy = (
  operation: string,
  src: BlockDeviceShape,
  dst: BlockDeviceShape,
  options: CopyOptions | undefined
): Effect.Effect<Plan, InvalidRequest | IsReadOnly> =>
  Effect.flatMap(Effect.all([src.info, dst.info]), ([from, to]): Effect.Effect<Plan, InvalidRequest | IsReadOnly> => {
    if (from.sectorSize !== to.sectorSize) {
      return fail(
        operation,
        `the source has ${from.sectorSize}-byte sectors but the destination ${to.sectorSize}-byte sectors`
      )
    }
    if (from.sizeSectors !== to.sizeSectors) {
      return fail(
        operation,
        `the source has ${from.sizeSectors} sectors but the destination ${to.sizeSectors}; sizes must match ` +
          `(resize the destination, or copy into a slice of it)`
      )
    }
    if (!to.readWrite) {
      return Effect.fail(
        new IsReadOnly({ operation, message: `${operation}: the destination is read-only; nothing was written` })
      )
    }
    const chunkSectors = positiveOption(
      operation,
      "chunkSectors",
      options?.chunkSectors,
      defaultChunkSectors(from.sectorSize)
    )
    if (chunkSectors instanceof InvalidRequest) return Effect.fail(chunkSectors)
    const concurrency = positiveOption(operation, "concurrency", options?.concurrency, 1)
    if (concurrency instanceof InvalidRequest) return Effect.fail(concurrency)
    return Effect.succeed({ sectorSize: from.sectorSize, sizeSectors: from.sizeSectors, chunkSectors, concurrency })
  })

/** One buffer per worker, allocated on first use and reused for every chunk that worker copies. */
const bufferPool = (plan: Plan) => {
  const bytes = Math.min(plan.chunkSectors, plan.sizeSectors) * plan.sectorSize
  const buffers: Array<Uint8Array | undefined> = []
  return (worker: number, sectors: number): Uint8Array => {
    let buffer = buffers[worker]
    if (buffer === undefined) {
      buffer = new Uint8Array(bytes)
      buffers[worker] = buffer
    }
    return buffer.subarray(0, sectors * plan.sectorSize)
  }
}

/** Copies one piece from `src` to `dst` through the worker's buffer, naming the device that failed. */
const copyPiece = (
  operation: string,
  src: BlockDeviceShape,
  dst: BlockDeviceShape,
  buffer: (worker: number, sectors: number) => Uint8Array
) =>
(start: number, sectors: number, worker: number): Effect.Effect<void, WriteError> =>
  Effect.suspend(() => {
    const data = buffer(worker, sectors)
    return src.read(start, data).pipe(
      Effect.mapError(relabel(operation, "source")),
      Effect.andThen(dst.write(start, data).pipe(Effect.mapError(relabel(operation, "destination"))))
    )
  })

const copyImpl = (
  src: BlockDeviceShape,
  dst: BlockDeviceShape,
  options?: CopyOptions
): Effect.Effect<void, WriteError> =>
  Effect.flatMap(planCopy("copy", src, dst, options), (plan) =>
    forEachChunk(
      0,
      plan.sizeSectors,
      plan.chunkSectors,
      plan.concurrency,
      copyPiece("copy", src, dst, bufferPool(plan))
    ))

/**
 * Copies every sector of `src` to `dst`, so `dst` reads exactly as `src`.
 * Use it when the destination cannot be trusted to read zeros where the
 * source has holes, or when the source cannot seek; otherwise
 * {@link sparseCopy} does the same with less I/O.
 *
 * Both devices must have the same sector size and the same size, and `dst`
 * must be writable: otherwise it fails `InvalidRequest` (or `IsReadOnly`)
 * before anything is read or written. A failure part-way leaves `dst` partly
 * copied; the error's message starts with `copy: source:` or
 * `copy: destination:`.
 *
 * @example
 * ```ts
 * import { copy } from "@effect-block/block"
 *
 * const backup = copy(disk, spare, { concurrency: 2 })
 * ```
 *
 * @since 0.1.0
 */
export const copy: {
  (dst: BlockDeviceShape, options?: CopyOptions): (src: BlockDeviceShape) => Effect.Effect<void, WriteError>
  (src: BlockDeviceShape, dst: BlockDeviceShape, options?: CopyOptions): Effect.Effect<void, WriteError>
} = dual((args) => isDevice(args[0]) && isDevice(args[1]), copyImpl)

/**
 * Makes `[start, start + sectors)` of `dst` read as zeros, touching only the
 * parts `dst` says may hold data: discarded where `dst` can discard,
 * overwritten with zeros where it cannot.
 */
const zeroRange = (
  operation: string,
  dst: BlockDeviceShape,
  start: number,
  sectors: number,
  zeros: (sectors: number) => Uint8Array,
  chunkSectors: number
): Effect.Effect<void, WriteError> =>
  forEachRun(dst, start, start + sectors, (run) =>
    run.mapped ?
      dst.discard(run.start, run.sectors).pipe(
        Effect.catchTag("Unimplemented", () =>
          forEachChunk(
            run.start,
            run.start + run.sectors,
            chunkSectors,
            1,
            (at, n) => dst.write(at, zeros(n))
          ))
      ) :
      Effect.void).pipe(Effect.mapError(relabel(operation, "destination")))

/** The device with its seek failures labelled, for walks whose other failures are labelled already. */
const seeksLabelled = (device: BlockDeviceShape, operation: string, role: string): BlockDeviceShape => ({
  ...device,
  seekMapped: (from) => Effect.mapError(device.seekMapped(from), relabel(operation, role)),
  seekUnmapped: (from) => Effect.mapError(device.seekUnmapped(from), relabel(operation, role))
})

const sparseCopyImpl = (
  src: BlockDeviceShape,
  dst: BlockDeviceShape,
  options?: CopyOptions
): Effect.Effect<void, WriteError> =>
  Effect.flatMap(planCopy("sparseCopy", src, dst, options), (plan) => {
    const piece = copyPiece("sparseCopy", src, dst, bufferPool(plan))
    let zeroBuffer: Uint8Array | undefined
    // Writes never change the caller's buffer, so one zero buffer serves every request.
    const zeros = (sectors: number) => {
      zeroBuffer ??= new Uint8Array(Math.min(plan.chunkSectors, plan.sizeSectors) * plan.sectorSize)
      return zeroBuffer.subarray(0, sectors * plan.sectorSize)
    }
    return forEachRun(seeksLabelled(src, "sparseCopy", "source"), 0, plan.sizeSectors, (run) =>
      run.mapped ?
        forEachChunk(run.start, run.start + run.sectors, plan.chunkSectors, plan.concurrency, piece) :
        zeroRange("sparseCopy", dst, run.start, run.sectors, zeros, plan.chunkSectors))
  })

/**
 * Copies `src` to `dst` reading only what `src` says may hold data (its
 * mapped runs, found with `seekMapped` / `seekUnmapped`), so a mostly empty
 * disk copies in time proportional to its data, not its size.
 *
 * `dst` ends up reading exactly as `src`, including zeros where `src` has
 * holes: those ranges are left alone where `dst` already reports them
 * unmapped, discarded where `dst` supports discard (keeping `dst` sparse),
 * and overwritten with zeros where it does not (`Unimplemented`).
 *
 * Geometry rules and errors are those of {@link copy}. `concurrency` applies
 * within each mapped run.
 *
 * @example
 * ```ts
 * import { sparseCopy } from "@effect-block/block"
 *
 * const clone = sparseCopy(golden, scratch)
 * ```
 *
 * @since 0.1.0
 */
export const sparseCopy: {
  (dst: BlockDeviceShape, options?: CopyOptions): (src: BlockDeviceShape) => Effect.Effect<void, WriteError>
  (src: BlockDeviceShape, dst: BlockDeviceShape, options?: CopyOptions): Effect.Effect<void, WriteError>
} = dual((args) => isDevice(args[0]) && isDevice(args[1]), sparseCopyImpl)

/** Per-device state of a comparison: what its seeks said about the bytes ahead. */
interface Cursor {
  readonly device: BlockDeviceShape
  readonly info: Info
  readonly role: string
  /** Bytes before this offset read as zeros (from the current position on). */
  zeroUntil: number
  /** Bytes before this offset may hold data: no need to seek again until past it. */
  mappedUntil: number
}

const refresh = (cursor: Cursor, offset: number): Effect.Effect<void, ReadError> => {
  if (offset < cursor.zeroUntil || offset < cursor.mappedUntil) return Effect.void
  const { device, info } = cursor
  const sector = offset / info.sectorSize
  return Effect.flatMap(device.seekMapped(sector), (mapped): Effect.Effect<void, ReadError> => {
    if (mapped > sector) {
      cursor.zeroUntil = mapped * info.sectorSize
      return Effect.void
    }
    return Effect.map(device.seekUnmapped(sector), (unmapped) => {
      cursor.mappedUntil = Math.max(unmapped, sector + 1) * info.sectorSize
    })
  }).pipe(Effect.mapError(relabel("compare", cursor.role)))
}

/** The index of the first byte below `length` where `a` and `b` differ, or -1. */
const firstDifference = (a: Uint8Array, b: Uint8Array, length: number): number => {
  // Compare 32 bits at a time where both buffers allow it (they are our own, so aligned).
  const words = Math.floor(length / 4)
  const wordsA = new Uint32Array(a.buffer, a.byteOffset, words)
  const wordsB = new Uint32Array(b.buffer, b.byteOffset, words)
  let i = 0
  while (i < words && wordsA[i] === wordsB[i]) i++
  for (let j = i * 4; j < length; j++) {
    if (a[j] !== b[j]) return j
  }
  return -1
}

const compareImpl = (
  a: BlockDeviceShape,
  b: BlockDeviceShape,
  options?: ChunkOptions
): Effect.Effect<-1 | 0 | 1, ReadError> =>
  Effect.flatMap(Effect.all([a.info, b.info]), ([infoA, infoB]) => {
    const unit = Math.max(infoA.sectorSize, infoB.sectorSize)
    const chunkSectors = positiveOption("compare", "chunkSectors", options?.chunkSectors, defaultChunkSectors(unit))
    if (chunkSectors instanceof InvalidRequest) return Effect.fail(chunkSectors)
    const chunkBytes = chunkSectors * unit
    const bytesA = infoA.sizeSectors * infoA.sectorSize
    const bytesB = infoB.sizeSectors * infoB.sectorSize
    const common = Math.min(bytesA, bytesB)
    const sizeOrder: -1 | 0 | 1 = bytesA < bytesB ? -1 : bytesA > bytesB ? 1 : 0
    const first: Cursor = { device: a, info: infoA, role: "first device", zeroUntil: 0, mappedUntil: 0 }
    const second: Cursor = { device: b, info: infoB, role: "second device", zeroUntil: 0, mappedUntil: 0 }
    const bufferA = new Uint8Array(Math.min(chunkBytes, Math.ceil(common / infoA.sectorSize) * infoA.sectorSize))
    const bufferB = new Uint8Array(Math.min(chunkBytes, Math.ceil(common / infoB.sectorSize) * infoB.sectorSize))
    /** Reads the sectors covering `bytes` bytes from `offset` (a multiple of the larger sector size). */
    const readInto = (cursor: Cursor, buffer: Uint8Array, offset: number, bytes: number) => {
      const { sectorSize } = cursor.info
      const sectors = Math.ceil(bytes / sectorSize)
      return cursor.device.read(offset / sectorSize, buffer.subarray(0, sectors * sectorSize)).pipe(
        Effect.mapError(relabel("compare", cursor.role))
      )
    }
    let offset = 0
    let result: -1 | 0 | 1 = 0
    return Effect.whileLoop({
      while: () => result === 0 && offset < common,
      body: () =>
        Effect.gen(function*() {
          yield* refresh(first, offset)
          yield* refresh(second, offset)
          const bothZero = Math.min(first.zeroUntil, second.zeroUntil, common)
          // Skip whole units both devices guarantee to be zero: they cannot differ there.
          const skipTo = bothZero - (bothZero % unit)
          if (skipTo > offset) {
            offset = skipTo
            return
          }
          const bytes = Math.min(chunkBytes, common - offset)
          yield* readInto(first, bufferA, offset, bytes)
          yield* readInto(second, bufferB, offset, bytes)
          const difference = firstDifference(bufferA, bufferB, bytes)
          if (difference >= 0) {
            result = (bufferA[difference] ?? 0) < (bufferB[difference] ?? 0) ? -1 : 1
            return
          }
          offset += bytes
        }),
      step: () => {}
    }).pipe(Effect.map(() => result === 0 ? sizeOrder : result))
  })

/**
 * Orders two devices by content, like byte strings: `0` when they have the
 * same size and the same bytes; otherwise the sign of the first differing
 * byte (`-1` when `a`'s byte is smaller). When one device's bytes are a
 * prefix of the other's, the shorter one orders first (`-1` when `a` is
 * shorter), as strings do. Sector sizes may differ: devices are compared as
 * bytes.
 *
 * Ranges both devices report unmapped are skipped without reading, so
 * comparing sparse devices costs time proportional to their data. A read
 * failure's message starts with `compare: first device:` or
 * `compare: second device:`.
 *
 * @example
 * ```ts
 * import { compare } from "@effect-block/block"
 *
 * const same = Effect.map(compare(disk, backup), (order) => order === 0)
 * ```
 *
 * @since 0.1.0
 */
export const compare: {
  (b: BlockDeviceShape, options?: ChunkOptions): (a: BlockDeviceShape) => Effect.Effect<-1 | 0 | 1, ReadError>
  (a: BlockDeviceShape, b: BlockDeviceShape, options?: ChunkOptions): Effect.Effect<-1 | 0 | 1, ReadError>
} = dual((args) => isDevice(args[0]) && isDevice(args[1]), compareImpl)

const chunkOf = (operation: string, device: BlockDeviceShape, options: ChunkOptions | undefined) =>
  Effect.flatMap(device.info, (info): Effect.Effect<readonly [Info, number], InvalidRequest> => {
    const chunkSectors = positiveOption(operation, "chunkSectors", options?.chunkSectors, defaultChunkSectors(info.sectorSize))
    return chunkSectors instanceof InvalidRequest ? Effect.fail(chunkSectors) : Effect.succeed([info, chunkSectors])
  })

/** One step of a chunked fold: the accumulator, a chunk's first sector and its bytes, to the next accumulator. */
type ChunkStep<A, E, R> = (acc: A, sector: number, data: Uint8Array) => Effect.Effect<A, E, R>

/** The data-first and data-last forms of {@link fold} and {@link foldMapped}. */
interface ChunkFold {
  <A, E, R>(
    initial: A,
    f: ChunkStep<A, E, R>,
    options?: ChunkOptions
  ): (device: BlockDeviceShape) => Effect.Effect<A, E | ReadError, R>
  <A, E, R>(
    device: BlockDeviceShape,
    initial: A,
    f: ChunkStep<A, E, R>,
    options?: ChunkOptions
  ): Effect.Effect<A, E | ReadError, R>
}

/**
 * Folds `f` over the whole device, or with `mappedOnly` over its mapped runs
 * only, reading chunks into one buffer reused for every chunk.
 */
const foldChunks = (operation: string, mappedOnly: boolean) =>
<A, E, R>(
  device: BlockDeviceShape,
  initial: A,
  f: ChunkStep<A, E, R>,
  options?: ChunkOptions
): Effect.Effect<A, E | ReadError, R> =>
  Effect.flatMap(chunkOf(operation, device, options), ([info, chunkSectors]) => {
    let acc = initial
    let buffer: Uint8Array | undefined
    const foldRange = (start: number, end: number): Effect.Effect<void, E | ReadError, R> =>
      forEachChunk(start, end, chunkSectors, 1, (sector, sectors) => {
        buffer ??= new Uint8Array(Math.min(chunkSectors, info.sizeSectors) * info.sectorSize)
        const data = buffer.subarray(0, sectors * info.sectorSize)
        return device.read(sector, data).pipe(
          Effect.andThen(Effect.suspend(() => f(acc, sector, data))),
          Effect.map((next) => {
            acc = next
          })
        )
      })
    const visited = mappedOnly ?
      forEachRun(device, 0, info.sizeSectors, (run) =>
        run.mapped ? foldRange(run.start, run.start + run.sectors) : Effect.void) :
      foldRange(0, info.sizeSectors)
    return Effect.map(visited, () => acc)
  })

/**
 * Folds `f` over the whole device in order, one chunk of at most
 * `chunkSectors` sectors at a time: `f(acc, sector, data)` gets the chunk's
 * first sector and its bytes. Holes are read (as zeros) like everything else;
 * use {@link foldMapped} to visit only data.
 *
 * `data` is reused for the next chunk: copy it (`data.slice()`) to keep it.
 *
 * @example
 * ```ts
 * import { fold } from "@effect-block/block"
 *
 * const nonZeroBytes = fold(disk, 0, (count, _sector, data) =>
 *   Effect.succeed(count + data.filter((byte) => byte !== 0).length))
 * ```
 *
 * @since 0.1.0
 */
export const fold: ChunkFold = dual((args) => isDevice(args[0]), foldChunks("fold", false))

/**
 * Like {@link fold}, but visits only the device's mapped runs (what its
 * seeks say may hold data), in order: `f(acc, sector, data)` per chunk of at
 * most `chunkSectors` sectors, never crossing a run boundary. Every sector
 * not visited reads as zero. `data` is reused for the next chunk.
 *
 * @example
 * ```ts
 * import { foldMapped } from "@effect-block/block"
 *
 * const dataSectors = foldMapped(disk, 0, (n, _sector, data) => Effect.succeed(n + data.length / 512))
 * ```
 *
 * @since 0.1.0
 */
export const foldMapped: ChunkFold = dual((args) => isDevice(args[0]), foldChunks("foldMapped", true))

const foldUnmappedImpl = <A, E, R>(
  device: BlockDeviceShape,
  initial: A,
  f: (acc: A, sector: number, sectors: number) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ReadError, R> =>
  Effect.flatMap(device.info, (info) => {
    let acc = initial
    return forEachRun(device, 0, info.sizeSectors, (run): Effect.Effect<void, E, R> =>
      run.mapped ? Effect.void : Effect.map(f(acc, run.start, run.sectors), (next) => {
        acc = next
      })).pipe(Effect.map(() => acc))
  })

/**
 * Folds `f` over the device's unmapped runs (ranges guaranteed to read as
 * zeros), in order: `f(acc, sector, sectors)` once per maximal run. Nothing is
 * read, so it costs one pair of seeks per run.
 *
 * @example
 * ```ts
 * import { foldUnmapped } from "@effect-block/block"
 *
 * const holeSectors = foldUnmapped(disk, 0, (total, _sector, sectors) => Effect.succeed(total + sectors))
 * ```
 *
 * @since 0.1.0
 */
export const foldUnmapped: {
  <A, E, R>(
    initial: A,
    f: (acc: A, sector: number, sectors: number) => Effect.Effect<A, E, R>
  ): (device: BlockDeviceShape) => Effect.Effect<A, E | ReadError, R>
  <A, E, R>(
    device: BlockDeviceShape,
    initial: A,
    f: (acc: A, sector: number, sectors: number) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | ReadError, R>
} = dual((args) => isDevice(args[0]), foldUnmappedImpl)

/**
 * The device's mapped and unmapped runs, in order, as `nbdinfo --map` lists
 * them: each `{ start, sectors, mapped }`, neighbours always of different
 * kinds, together covering `[0, sizeSectors)` exactly (an empty device has
 * none). `mapped: false` means the run is guaranteed to read as zeros;
 * `mapped: true` means it may hold data. A device that cannot seek is one
 * mapped run.
 *
 * @example
 * ```ts
 * import { extents } from "@effect-block/block"
 *
 * const map = extents(disk) // Effect<ReadonlyArray<{ start, sectors, mapped }>>
 * ```
 *
 * @since 0.1.0
 */
export const extents = (device: BlockDeviceShape): Effect.Effect<ReadonlyArray<Extent>, ReadError> =>
  Effect.flatMap(device.info, (info) => {
    const runs: Array<Extent> = []
    return forEachRun(device, 0, info.sizeSectors, (run) => Effect.sync(() => runs.push(run))).pipe(
      Effect.map(() => runs)
    )
  })

/**
 * What {@link fill} writes: a byte pattern repeated from the first byte of
 * the range (`pattern`), or deterministic pseudo-random bytes (`seed`), over
 * `sectors` sectors from `start` (default: the whole device).
 *
 * Seeded bytes depend only on the seed and the byte's position on the
 * device, so filling part of a device writes what a whole-device fill would
 * have written there, whatever `chunkSectors` and `concurrency` are.
 *
 * @since 0.1.0
 */
export type FillOptions =
  & ({ readonly pattern: Uint8Array; readonly seed?: undefined } | {
    readonly seed: number | string
    readonly pattern?: undefined
  })
  & CopyOptions
  & {
    /** The first sector to fill (default 0). */
    readonly start?: number | undefined
    /** How many sectors to fill (default: to the end of the device). */
    readonly sectors?: number | undefined
  }

/** Fills `target` with `pattern` repeated, starting at phase `phase` of the pattern. */
const repeatPattern = (pattern: Uint8Array, phase: number, target: Uint8Array): void => {
  const length = target.byteLength
  if (length === 0) return
  let filled = Math.min(pattern.byteLength - phase, length)
  target.set(pattern.subarray(phase, phase + filled), 0)
  if (filled < length) {
    const rest = Math.min(phase, length - filled)
    target.set(pattern.subarray(0, rest), filled)
    filled += rest
  }
  // Doubling copies keep long fills at memcpy speed.
  while (filled < length) {
    const n = Math.min(filled, length - filled)
    target.copyWithin(filled, 0, n)
    filled += n
  }
}

const fillImpl = (device: BlockDeviceShape, options: FillOptions): Effect.Effect<void, WriteError> =>
  Effect.flatMap(device.info, (info): Effect.Effect<void, WriteError> => {
    if (typeof options !== "object" || options === null) return fail("fill", `options ${describeValue(options)} is not an object`)
    const { pattern, seed } = options
    if (pattern !== undefined && seed !== undefined) return fail("fill", "give a pattern or a seed, not both")
    if (pattern === undefined && seed === undefined) return fail("fill", "give a pattern or a seed")
    if (pattern !== undefined && (!(pattern instanceof Uint8Array) || pattern.byteLength === 0)) {
      return fail("fill", `pattern ${describeValue(pattern)} is not a non-empty Uint8Array`)
    }
    if (seed !== undefined && typeof seed !== "string" && !(typeof seed === "number" && Number.isFinite(seed))) {
      return fail("fill", `seed ${describeValue(seed)} is not a finite number or a string`)
    }
    const start = options.start ?? 0
    const badStart = checkSector("fill", "start", start)
    if (badStart !== undefined) return Effect.fail(badStart)
    const sectors = options.sectors ?? Math.max(0, info.sizeSectors - start)
    const bad = checkSector("fill", "sectors", sectors) ?? checkRange("fill", start, sectors, info.sizeSectors)
    if (bad !== undefined) return Effect.fail(bad)
    if (!info.readWrite) {
      return Effect.fail(new IsReadOnly({ operation: "fill", message: "fill: the device is read-only; nothing was written" }))
    }
    const chunkSectors = positiveOption("fill", "chunkSectors", options.chunkSectors, defaultChunkSectors(info.sectorSize))
    if (chunkSectors instanceof InvalidRequest) return Effect.fail(chunkSectors)
    const concurrency = positiveOption("fill", "concurrency", options.concurrency, 1)
    if (concurrency instanceof InvalidRequest) return Effect.fail(concurrency)
    const { sectorSize } = info
    const buffer = bufferPool({ sectorSize, sizeSectors: sectors, chunkSectors, concurrency })
    const seedHash = seed === undefined ? 0 : hashSeed(seed)
    return forEachChunk(start, start + sectors, chunkSectors, concurrency, (at, n, worker) =>
      Effect.suspend(() => {
        const data = buffer(worker, n)
        if (pattern !== undefined) repeatPattern(pattern, ((at - start) * sectorSize) % pattern.byteLength, data)
        else seededBytes(seedHash, at * sectorSize, data)
        return device.write(at, data)
      }))
  })

/**
 * Writes a byte pattern, repeated, or deterministic seeded random bytes over
 * a range of the device (default: all of it). Use it to give a test device
 * recognisable or realistic contents; the same seed always produces the same
 * bytes. Bad options fail `InvalidRequest` before anything is written.
 *
 * @example
 * ```ts
 * import { fill } from "@effect-block/block"
 *
 * const striped = fill(disk, { pattern: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) })
 * const noisy = fill(disk, { seed: 42, start: 100, sectors: 8 })
 * ```
 *
 * @since 0.1.0
 */
export const fill: {
  (options: FillOptions): (device: BlockDeviceShape) => Effect.Effect<void, WriteError>
  (device: BlockDeviceShape, options: FillOptions): Effect.Effect<void, WriteError>
} = dual(2, fillImpl)
