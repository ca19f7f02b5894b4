/**
 * Effect streams over block devices: `stream` reads a device's bytes as a
 * `Stream`, `sink` writes a byte stream to consecutive sectors. Together
 * they move data between devices (or between a device and anything else
 * that speaks `Stream`: files, sockets, compressors) with memory bounded by
 * one chunk, whatever the device size.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { BlockDeviceShape } from "./BlockDevice.js"
import { InvalidRequest, type ReadError, type WriteError } from "./Errors.js"
import { checkRange, checkSector } from "./Geometry.js"
import { defaultChunkSectors, positiveOption } from "./internal/Support.js"

/**
 * Which part of a device {@link stream} reads, and in what pieces.
 *
 * @since 0.1.0
 */
export interface StreamOptions {
  /** The first sector to read (default 0). */
  readonly start?: number | undefined
  /** How many sectors to read (default: to the end of the device, as it is when the stream starts). */
  readonly sectors?: number | undefined
  /** Sectors per emitted chunk; a positive integer. Default: 1 MiB worth of sectors. */
  readonly chunkSectors?: number | undefined
}

/**
 * The bytes of `sectors` sectors of `device` from `start` (default: the
 * whole device), as a stream of `Uint8Array` chunks of `chunkSectors`
 * sectors (the last may be shorter). Each chunk is a fresh buffer the
 * consumer may keep. Nothing is read ahead of demand, so memory is bounded
 * by the chunks the consumer holds.
 *
 * Bad options fail the stream `InvalidRequest` before anything is read.
 *
 * @example
 * ```ts
 * import { sink, stream } from "@effect-block/block"
 * import { Stream } from "effect"
 *
 * const clone = Stream.run(stream(source), sink(target)) // Effect<number> sectors written
 * ```
 *
 * @since 0.1.0
 */
export const stream = (device: BlockDeviceShape, options?: StreamOptions): Stream.Stream<Uint8Array, ReadError> =>
  Stream.unwrap(Effect.flatMap(device.info, (info) => {
    const start = options?.start ?? 0
    const badStart = checkSector("stream", "start", start)
    if (badStart !== undefined) return Effect.fail(badStart)
    const sectors = options?.sectors ?? Math.max(0, info.sizeSectors - start)
    const bad = checkSector("stream", "sectors", sectors) ?? checkRange("stream", start, sectors, info.sizeSectors)
    if (bad !== undefined) return Effect.fail(bad)
    const chunkSectors = positiveOption("stream", "chunkSectors", options?.chunkSectors, defaultChunkSectors(info.sectorSize))
    if (chunkSectors instanceof InvalidRequest) return Effect.fail(chunkSectors)
    const end = start + sectors
    return Effect.succeed(Stream.unfold(start, (position): Effect.Effect<readonly [Uint8Array, number] | undefined, ReadError> => {
      if (position >= end) return Effect.succeed(undefined)
      const n = Math.min(chunkSectors, end - position)
      const chunk = new Uint8Array(n * info.sectorSize)
      return Effect.as(device.read(position, chunk), [chunk, position + n] as const)
    }))
  }))

/** Bytes staged before a write: about 1 MiB, a whole number of sectors. */
const stagingSectors = defaultChunkSectors

/**
 * A sink writing a byte stream to consecutive sectors of `device` from
 * `start` (default 0), ending with the number of sectors written.
 *
 * Input chunks may have any length: bytes are staged until they make whole
 * sectors (about 1 MiB at a time, so memory stays bounded), while large
 * chunks are written straight from the caller's buffer.
 *
 * - A stream that would run past the end of the device fails
 *   `InvalidRequest` before the sectors that do not fit are written (those
 *   before them have been).
 * - A stream whose length is not a whole number of sectors fails
 *   `InvalidRequest` at its end, after writing every whole sector: the
 *   trailing partial sector is not padded, since silently adding zeros would
 *   change the image. Pad the stream yourself if that is what you want.
 * - A bad `start` fails `InvalidRequest` before anything is written.
 *
 * @example
 * ```ts
 * import { sink } from "@effect-block/block"
 * import { Stream } from "effect"
 *
 * const written = Stream.run(Stream.make(new Uint8Array(1024)), sink(disk, 8)) // 2 sectors at sector 8
 * ```
 *
 * @since 0.1.0
 */
export const sink = (device: BlockDeviceShape, start: number = 0): Sink.Sink<number, Uint8Array, never, WriteError> =>
  Sink.fromTransform((upstream) =>
    Effect.flatMap(device.info, (info): Effect.Effect<readonly [number], WriteError> => {
      const badStart = checkSector("sink", "start", start) ?? checkRange("sink", start, 0, info.sizeSectors)
      if (badStart !== undefined) return Effect.fail(badStart)
      const { sectorSize, sizeSectors } = info
      const staging = new Uint8Array(Math.min(stagingSectors(sectorSize), Math.max(1, sizeSectors - start)) * sectorSize)
      let staged = 0
      let position = start

      const pastEnd = (bytes: number) =>
        new InvalidRequest({
          operation: "sink",
          message: `sink: the stream runs past the end of the device: ${bytes} more bytes at sector ${position}, ` +
            `but the device ends at sector ${sizeSectors} (${sectorSize}-byte sectors)`
        })

      /** Writes whole sectors of `data`, which holds `data.byteLength / sectorSize` sectors. */
      const writeSectors = (data: Uint8Array): Effect.Effect<void, WriteError> => {
        const sectors = data.byteLength / sectorSize
        if (position + sectors > sizeSectors) return Effect.fail(pastEnd(data.byteLength))
        const at = position
        position += sectors
        return device.write(at, data)
      }

      /** Writes the whole sectors of `chunk` from `offset` straight from it, and stages the rest. */
      const writeDirect = (chunk: Uint8Array, offset: number): Effect.Effect<void, WriteError> => {
        const whole = Math.floor((chunk.byteLength - offset) / sectorSize) * sectorSize
        // Staging is empty here: the remainder (less than a sector) starts it again.
        staging.set(chunk.subarray(offset + whole), 0)
        staged = chunk.byteLength - offset - whole
        return whole > 0 ? writeSectors(chunk.subarray(offset, offset + whole)) : Effect.void
      }

      /** Adds `chunk` to what is staged, writing whole sectors as soon as there is a buffer's worth. */
      const consume = (chunk: Uint8Array): Effect.Effect<void, WriteError> =>
        Effect.suspend(() => {
          // Fail before writing anything of a chunk that cannot fit.
          if (position * sectorSize + staged + chunk.byteLength > sizeSectors * sectorSize) {
            return Effect.fail(pastEnd(staged + chunk.byteLength))
          }
          if (staged === 0) return writeDirect(chunk, 0)
          const take = Math.min(staging.byteLength - staged, chunk.byteLength)
          staging.set(chunk.subarray(0, take), staged)
          staged += take
          if (staged < staging.byteLength) return Effect.void
          return writeSectors(staging).pipe(
            Effect.andThen(Effect.suspend(() => {
              staged = 0
              return writeDirect(chunk, take)
            }))
          )
        })

      const finish = Effect.suspend((): Effect.Effect<readonly [number], WriteError> => {
        const whole = Math.floor(staged / sectorSize) * sectorSize
        const partial = staged - whole
        return writeSectors(staging.subarray(0, whole)).pipe(
          Effect.andThen(Effect.suspend(() =>
            partial === 0 ? Effect.succeed([position - start] as const) : Effect.fail(
              new InvalidRequest({
                operation: "sink",
                message: `sink: the stream ended with ${partial} bytes, not a whole ${sectorSize}-byte sector, ` +
                  `at sector ${position}; the ${position - start} whole sectors before them were written`
              })
            )
          ))
        )
      })

      return upstream.pipe(
        Effect.flatMap((chunks) => Effect.forEach(chunks, consume, { discard: true })),
        Effect.forever({ disableYield: true }),
        Pull.catchDone(() => finish)
      )
    })
  )
