/**
 * The folds over a device: `fold` visits every chunk of the device,
 * `foldMapped` only the chunks of its mapped runs (what may hold data), and
 * `foldUnmapped` its unmapped runs (what reads as zeros) without reading.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import { type BlockDeviceShape, isBlockDevice } from "./BlockDevice.js"
import { ChunkOptions } from "./ChunkOptions.js"
import { InvalidRequest, type ReadError } from "./Errors.js"
import { describeValue } from "./Geometry.js"
import { connectedDevice } from "./internal/Devices.js"
import { decodeOptions } from "./internal/Options.js"
import { chunkSectorsFor, forEachChunk, forEachRun } from "./internal/Support.js"

const decode = decodeOptions(Schema.UndefinedOr(ChunkOptions), "options")

/** What the step returned, checked to be an Effect (a step returning a plain value fails `InvalidRequest`). */
const stepped = <A, E, R>(operation: string, result: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidRequest, R> =>
  Effect.isEffect(result) ? result : Effect.fail(
    new InvalidRequest({
      operation,
      message: `${operation}: the step returned ${describeValue(result)}, not an Effect`
    })
  )

const badStep = (operation: string, f: unknown) =>
  Effect.fail(
    new InvalidRequest({ operation, message: `${operation}: the step ${describeValue(f)} is not a function` })
  )

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
  device: unknown,
  initial: A,
  f: ChunkStep<A, E, R>,
  options?: unknown
): Effect.Effect<A, E | ReadError, R> =>
  Effect.gen(function*() {
    const decoded = decode(operation, options)
    if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
    const source = yield* connectedDevice(operation, "device", device)
    const info = yield* source.info
    const chunkSectors = chunkSectorsFor(info.sectorSize, decoded?.chunkSectors)
    if (typeof f !== "function") return yield* badStep(operation, f)
    let acc = initial
    let buffer: Uint8Array | undefined
    const foldRange = (start: number, end: number): Effect.Effect<void, E | ReadError, R> =>
      forEachChunk(start, end, chunkSectors, 1, (sector, sectors) => {
        buffer ??= new Uint8Array(Math.min(chunkSectors, info.sizeSectors) * info.sectorSize)
        const data = buffer.subarray(0, sectors * info.sectorSize)
        return source.read(sector, data).pipe(
          Effect.andThen(Effect.suspend(() => stepped(operation, f(acc, sector, data)))),
          Effect.map((next) => {
            acc = next
          })
        )
      })
    const visited = mappedOnly ?
      forEachRun(source, 0, info.sizeSectors, (run) =>
        run.mapped ? foldRange(run.start, run.start + run.sectors) : Effect.void) :
      foldRange(0, info.sizeSectors)
    yield* visited
    return acc
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
export const fold: ChunkFold = dual((args) => typeof args[2] === "function" || isBlockDevice(args[0]), foldChunks("fold", false))

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
export const foldMapped: ChunkFold = dual((args) => typeof args[2] === "function" || isBlockDevice(args[0]), foldChunks("foldMapped", true))

const foldUnmappedImpl = <A, E, R>(
  device: unknown,
  initial: A,
  f: (acc: A, sector: number, sectors: number) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ReadError, R> =>
  Effect.gen(function*() {
    const source = yield* connectedDevice("foldUnmapped", "device", device)
    const info = yield* source.info
    if (typeof f !== "function") return yield* badStep("foldUnmapped", f)
    let acc = initial
    yield* forEachRun(source, 0, info.sizeSectors, (run): Effect.Effect<void, E | InvalidRequest, R> =>
      run.mapped ? Effect.void : Effect.map(Effect.suspend(() => stepped("foldUnmapped", f(acc, run.start, run.sectors))), (next) => {
        acc = next
      }))
    return acc
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
} = dual((args) => typeof args[2] === "function" || isBlockDevice(args[0]), foldUnmappedImpl)
