/**
 * `sink`: a Sink writing a byte stream to consecutive sectors of a device,
 * with memory bounded by one staging buffer whatever the stream's length.
 * Its counterpart, reading a device as a stream, is `stream` (Stream.ts).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Schema from "effect/Schema"
import * as Sink from "effect/Sink"
import type { BlockDeviceShape } from "./BlockDevice.js"
import { InvalidRequest, type WriteError } from "./Errors.js"
import { checkRange, describeValue, uint8ArrayView } from "./Geometry.js"
import { connectedDevice } from "./internal/Devices.js"
import { decodeOptions, SectorNumber } from "./internal/Options.js"
import { defaultChunkSectors } from "./internal/Support.js"

const decodeStart = decodeOptions(Schema.UndefinedOr(SectorNumber), "start")

/**
 * A sink writing a byte stream to consecutive sectors of `device` from
 * `start` (default 0), ending with the number of sectors written.
 *
 * Input chunks may have any length: bytes are staged until they make whole
 * sectors (about 1 MiB at a time, so memory stays bounded), while large
 * chunks are written straight from the caller's buffer.
 *
 * On any failure, every whole sector of the chunks accepted before it is on
 * the device first (nothing acknowledged is lost); the failing chunk writes
 * nothing:
 *
 * - a chunk that would run past the end of the device fails `InvalidRequest`;
 * - a chunk that is not a `Uint8Array` (an `Int16Array`, a `DataView`, a
 *   string, anything) fails `InvalidRequest` naming it;
 * - a stream whose length is not a whole number of sectors fails
 *   `InvalidRequest` at its end: the trailing partial sector is not padded,
 *   since silently adding zeros would change the image. Pad the stream
 *   yourself if that is what you want;
 * - the device's own errors pass through.
 *
 * A bad `start` fails `InvalidRequest`, and a disconnected or destroyed
 * device `Disconnected`, before anything is written.
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
export const sink = (device: BlockDeviceShape, start?: number): Sink.Sink<number, Uint8Array, never, WriteError> =>
  Sink.fromTransform((upstream) =>
    Effect.gen(function*() {
      const first = decodeStart("sink", start)
      if (first instanceof InvalidRequest) return yield* Effect.fail(first)
      const target = yield* connectedDevice("sink", "device", device)
      const info = yield* target.info
      const origin = first ?? 0
      const badStart = checkRange("sink", origin, 0, info.sizeSectors)
      if (badStart !== undefined) return yield* Effect.fail(badStart)
      const { sectorSize, sizeSectors } = info
      const staging = new Uint8Array(
        Math.min(defaultChunkSectors(sectorSize), Math.max(1, sizeSectors - origin)) * sectorSize
      )
      let staged = 0
      let position = origin
      let index = 0

      const pastEnd = (bytes: number) =>
        new InvalidRequest({
          operation: "sink",
          message: `sink: the stream runs past the end of the device: ${bytes} more bytes at sector ${position}, ` +
            `but the device ends at sector ${sizeSectors} (${sectorSize}-byte sectors)`
        })

      /** Writes whole sectors of `data`, which holds `data.byteLength / sectorSize` sectors. */
      const writeSectors = (data: Uint8Array): Effect.Effect<void, WriteError> => {
        const sectors = data.byteLength / sectorSize
        if (sectors === 0) return Effect.void
        if (position + sectors > sizeSectors) return Effect.fail(pastEnd(data.byteLength))
        const at = position
        position += sectors
        return target.write(at, data)
      }

      /** Writes the whole sectors staged so far (keeping the partial one staged), then fails with `error`. */
      const failAfterStaged = (error: InvalidRequest): Effect.Effect<never, WriteError> =>
        Effect.suspend(() => {
          const whole = Math.floor(staged / sectorSize) * sectorSize
          const partial = staging.slice(whole, staged)
          return writeSectors(staging.subarray(0, whole)).pipe(
            Effect.andThen(Effect.sync(() => {
              staging.set(partial, 0)
              staged = partial.byteLength
            })),
            Effect.andThen(Effect.fail(error))
          )
        })

      /** Writes the whole sectors of `chunk` from `offset` straight from it, and stages the rest. */
      const writeDirect = (chunk: Uint8Array, offset: number): Effect.Effect<void, WriteError> => {
        const whole = Math.floor((chunk.byteLength - offset) / sectorSize) * sectorSize
        // Staging is empty here: the remainder (less than a sector) starts it again.
        staging.set(chunk.subarray(offset + whole), 0)
        staged = chunk.byteLength - offset - whole
        return writeSectors(chunk.subarray(offset, offset + whole))
      }

      /** Adds a chunk to what is staged, writing whole sectors as soon as there is a buffer's worth. */
      const consume = (value: unknown): Effect.Effect<void, WriteError> =>
        Effect.suspend(() => {
          const chunkIndex = index++
          const chunk = uint8ArrayView(value)
          if (chunk === undefined) {
            return failAfterStaged(
              new InvalidRequest({
                operation: "sink",
                message: `sink: chunk ${chunkIndex} is ${describeValue(value)}, not a Uint8Array`
              })
            )
          }
          // Fail before writing anything of a chunk that cannot fit.
          if (position * sectorSize + staged + chunk.byteLength > sizeSectors * sectorSize) {
            return failAfterStaged(pastEnd(staged + chunk.byteLength))
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
            partial === 0 ? Effect.succeed([position - origin] as const) : Effect.fail(
              new InvalidRequest({
                operation: "sink",
                message: `sink: the stream ended with ${partial} bytes, not a whole ${sectorSize}-byte sector, ` +
                  `at sector ${position}; the ${position - origin} whole sectors before them were written`
              })
            )
          ))
        )
      })

      return yield* upstream.pipe(
        Effect.flatMap((chunks) => Effect.forEach(chunks, consume, { discard: true })),
        Effect.forever({ disableYield: true }),
        Pull.catchDone(() => finish)
      )
    })
  )
