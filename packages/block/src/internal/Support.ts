/**
 * Pieces shared by the combinators, wrappers and streams: option checks,
 * naming which device failed, buffer views, a bounded pool of workers, and
 * the walk over a device's mapped and unmapped runs.
 */
import { Disconnected, Unimplemented } from "@effect-block/device"
import * as Effect from "effect/Effect"
import type { BlockDeviceShape } from "../BlockDevice.js"
import type { Extent } from "../Extents.js"
import { InvalidRequest, IOError, IsReadOnly, type ReadError, type WriteError } from "../Errors.js"

/** About 1 MiB per request: large enough to amortise per-request costs, small enough to bound memory. */
export const defaultChunkBytes = 1024 * 1024

/** The default request size in sectors for a sector size: 1 MiB, or one sector if sectors are larger. */
export const defaultChunkSectors = (sectorSize: number): number => Math.max(1, Math.floor(defaultChunkBytes / sectorSize))

/**
 * The largest buffer a combinator allocates per request, whatever
 * `chunkSectors` asks (64 MiB, or one sector if sectors are larger), so a
 * valid but huge `chunkSectors` on a huge device cannot exhaust memory.
 */
export const maxChunkBytes = 64 * 1024 * 1024

/** The sectors per request for `requested` (default: 1 MiB worth), capped at {@link maxChunkBytes}. */
export const chunkSectorsFor = (sectorSize: number, requested: number | undefined): number =>
  Math.max(1, Math.min(requested ?? defaultChunkSectors(sectorSize), Math.floor(maxChunkBytes / sectorSize)))

/** The same error with `role` (such as "destination") and the operation put in front of its message. */
export const relabel = (operation: string, role: string) => <E extends WriteError>(error: E): E => {
  const message = `${operation}: ${role}: ${error.message}`
  // Rebuilding the error keeps its class, so callers still match it with catchTag.
  switch (error._tag) {
    case "IOError": {
      const io: IOError = error
      return new IOError({
        operation: io.operation,
        message,
        ...(io.sectorStart === undefined ? {} : { sectorStart: io.sectorStart }),
        ...(io.sectors === undefined ? {} : { sectors: io.sectors }),
        ...(io.cause === undefined ? {} : { cause: io.cause })
      }) as E
    }
    case "InvalidRequest":
      return new InvalidRequest({ operation: error.operation, message }) as E
    case "IsReadOnly":
      return new IsReadOnly({ operation: error.operation, message }) as E
    case "Disconnected":
      return new Disconnected({ operation: error.operation, message }) as E
    case "Unimplemented":
      return new Unimplemented({ operation: error.operation, message }) as E
  }
}

/**
 * Views onto the part of `buffers` holding `bytes` bytes from byte `offset`
 * of their concatenation. No data is copied. Useful to wrappers that pass on
 * part of a request (a torn write, a split across two devices).
 *
 * @since 0.1.0
 */
export const subBuffers = (
  buffers: ReadonlyArray<Uint8Array>,
  offset: number,
  bytes: number
): Array<Uint8Array> => {
  const views: Array<Uint8Array> = []
  let skip = offset
  let left = bytes
  for (const buffer of buffers) {
    if (left === 0) break
    if (skip >= buffer.byteLength) {
      skip -= buffer.byteLength
      continue
    }
    const n = Math.min(buffer.byteLength - skip, left)
    views.push(buffer.subarray(skip, skip + n))
    left -= n
    skip = 0
  }
  return views
}

/**
 * Runs `worker(id)` `concurrency` times at once (ids `0 .. concurrency-1`);
 * each worker pulls its own next piece of work until there is none. A
 * failure interrupts the others. Memory stays bounded because each worker
 * owns its buffers by id.
 */
export const workers = <E, R = never>(
  concurrency: number,
  worker: (id: number) => Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> =>
  concurrency === 1 ?
    worker(0) :
    Effect.all(Array.from({ length: concurrency }, (_, id) => worker(id)), { concurrency, discard: true })

/**
 * Runs `f(start, sectors, workerId)` over `[start, end)` cut into pieces of
 * at most `chunkSectors`, with up to `concurrency` pieces in flight. With a
 * concurrency of 1 the pieces run one after another, in order.
 */
export const forEachChunk = <E, R = never>(
  start: number,
  end: number,
  chunkSectors: number,
  concurrency: number,
  f: (start: number, sectors: number, worker: number) => Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> =>
  Effect.suspend(() => {
    let next = start
    return workers(concurrency, (id) =>
      Effect.whileLoop({
        while: () => next < end,
        body: () => {
          const piece = next
          const sectors = Math.min(chunkSectors, end - piece)
          next += sectors
          return f(piece, sectors, id)
        },
        step: () => {}
      }))
  })

/**
 * The run that starts at `from` (which must be below `size`), from the
 * device's seeks. Runs reported here may end early where the device's
 * mapping does (the caller merges neighbours of the same kind).
 */
export const runAt = (
  device: BlockDeviceShape,
  from: number,
  size: number
): Effect.Effect<Extent, ReadError> =>
  Effect.flatMap(device.seekMapped(from), (mappedAt): Effect.Effect<Extent, ReadError> => {
    if (mappedAt > from) return Effect.succeed({ start: from, sectors: Math.min(mappedAt, size) - from, mapped: false })
    return Effect.map(device.seekUnmapped(from), (unmappedAt): Extent =>
      // A device contradicting itself (both seeks answering `from`) has said the sector reads as zero.
      unmappedAt > from ?
        { start: from, sectors: Math.min(unmappedAt, size) - from, mapped: true } :
        { start: from, sectors: 1, mapped: false })
  })

/**
 * Walks the runs of `[from, end)` in order, merging neighbours of the same
 * kind, and calls `f` once per merged run. Only one run is held at a time.
 */
export const forEachRun = <E, R = never>(
  device: BlockDeviceShape,
  from: number,
  end: number,
  f: (run: Extent) => Effect.Effect<void, E, R>
): Effect.Effect<void, E | ReadError, R> =>
  Effect.suspend(() => {
    let position = from
    let pending: Extent | undefined
    return Effect.whileLoop({
      while: () => position < end,
      body: () =>
        Effect.flatMap(runAt(device, position, end), (run): Effect.Effect<void, E, R> => {
          position = run.start + run.sectors
          if (pending !== undefined && pending.mapped === run.mapped) {
            pending = { start: pending.start, sectors: pending.sectors + run.sectors, mapped: run.mapped }
            return Effect.void
          }
          const done = pending
          pending = run
          return done === undefined ? Effect.void : f(done)
        }),
      step: () => {}
    }).pipe(Effect.andThen(Effect.suspend(() => pending === undefined ? Effect.void : f(pending))))
  })
