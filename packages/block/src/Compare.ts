/**
 * `compare`: orders two devices by content, like byte strings, skipping the
 * ranges both report unmapped, so comparing sparse devices costs time
 * proportional to their data.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type { BlockDeviceShape } from "./BlockDevice.js"
import { ChunkOptions } from "./ChunkOptions.js"
import { InvalidRequest, type ReadError } from "./Errors.js"
import type { Info } from "./Geometry.js"
import { isOptionsArgument } from "./internal/Broken.js"
import { connectedDevice } from "./internal/Devices.js"
import { decodeOptions } from "./internal/Options.js"
import { chunkSectorsFor, relabel } from "./internal/Support.js"

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

const decode = decodeOptions(Schema.UndefinedOr(ChunkOptions), "options")

const compareImpl = (
  firstArgument: unknown,
  secondArgument: unknown,
  options?: unknown
): Effect.Effect<-1 | 0 | 1, ReadError> =>
  Effect.gen(function*() {
    const decoded = decode("compare", options)
    if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
    const a = yield* connectedDevice("compare", "first device", firstArgument)
    const b = yield* connectedDevice("compare", "second device", secondArgument)
    const infoA = yield* a.info
    const infoB = yield* b.info
    const unit = Math.max(infoA.sectorSize, infoB.sectorSize)
    const chunkBytes = chunkSectorsFor(unit, decoded?.chunkSectors) * unit
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
    return yield* Effect.whileLoop({
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
} = dual((args) => args.length >= 3 || !isOptionsArgument(args[1]), compareImpl)
