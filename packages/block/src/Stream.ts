/**
 * `stream`: a device's bytes as an Effect `Stream`, read on demand with
 * memory bounded by the chunks the consumer holds. Its counterpart, writing
 * a byte stream to a device, is `sink` (Sink.ts).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { BlockDeviceShape } from "./BlockDevice.js"
import { InvalidRequest, type ReadError } from "./Errors.js"
import { checkRange } from "./Geometry.js"
import { connectedDevice } from "./internal/Devices.js"
import { decodeOptions, PositiveInteger, SectorNumber } from "./internal/Options.js"
import { chunkSectorsFor } from "./internal/Support.js"

/**
 * Which part of a device {@link stream} reads, and in what pieces; decoded
 * with this schema.
 *
 * @since 0.2.0
 */
export const StreamOptions = Schema.Struct({
  /** The first sector to read (default 0). */
  start: Schema.optional(SectorNumber),
  /** How many sectors to read (default: to the end of the device, as it is when the stream starts). */
  sectors: Schema.optional(SectorNumber),
  /** Sectors per emitted chunk (default: 1 MiB worth; at most 64 MiB worth, whatever is asked). */
  chunkSectors: Schema.optional(PositiveInteger)
})

/**
 * @since 0.1.0
 */
export type StreamOptions = typeof StreamOptions.Type

const decode = decodeOptions(Schema.UndefinedOr(StreamOptions), "options")

/**
 * The bytes of `sectors` sectors of `device` from `start` (default: the
 * whole device), as a stream of `Uint8Array` chunks of `chunkSectors`
 * sectors (the last may be shorter; no chunk is over 64 MiB). Each chunk is
 * a fresh buffer the consumer may keep. Nothing is read ahead of demand, so
 * memory is bounded by the chunks the consumer holds.
 *
 * Bad options fail the stream `InvalidRequest`, and a disconnected or
 * destroyed device `Disconnected`, before anything is read.
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
  Stream.unwrap(Effect.gen(function*() {
    const decoded = decode("stream", options)
    if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
    const source = yield* connectedDevice("stream", "device", device)
    const info = yield* source.info
    const start = decoded?.start ?? 0
    const bad = checkRange("stream", start, 0, info.sizeSectors)
    if (bad !== undefined) return yield* Effect.fail(bad)
    const sectors = decoded?.sectors ?? info.sizeSectors - start
    const badRange = checkRange("stream", start, sectors, info.sizeSectors)
    if (badRange !== undefined) return yield* Effect.fail(badRange)
    const chunkSectors = chunkSectorsFor(info.sectorSize, decoded?.chunkSectors)
    const end = start + sectors
    return Stream.unfold(start, (position): Effect.Effect<readonly [Uint8Array, number] | undefined, ReadError> => {
      if (position >= end) return Effect.succeed(undefined)
      const n = Math.min(chunkSectors, end - position)
      const chunk = new Uint8Array(n * info.sectorSize)
      return Effect.as(source.read(position, chunk), [chunk, position + n] as const)
    })
  }))
