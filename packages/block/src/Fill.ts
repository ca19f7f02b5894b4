/**
 * `fill`: writes a repeated byte pattern or deterministic seeded random
 * bytes over a range of a device, to give a test device recognisable or
 * realistic contents.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import type { BlockDeviceShape } from "./BlockDevice.js"
import { type CopyOptions, CopyOptions as CopyOptionsSchema } from "./ChunkOptions.js"
import { InvalidRequest, IsReadOnly, type WriteError } from "./Errors.js"
import { checkRange, uint8ArrayView } from "./Geometry.js"
import { bufferPool, concurrencyFor, fail } from "./internal/CopyPlan.js"
import { connectedDevice } from "./internal/Devices.js"
import { decodeOptions, SectorNumber } from "./internal/Options.js"
import { hashSeed, seededBytes } from "./internal/SeededBytes.js"
import { chunkSectorsFor, forEachChunk } from "./internal/Support.js"

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

const Pattern = Schema.declare((value: unknown): value is Uint8Array => {
  const view = uint8ArrayView(value)
  return view !== undefined && view.byteLength > 0
}, { expected: "a non-empty Uint8Array" })

const Seed = Schema.Union([
  Schema.String,
  Schema.Number.check(Schema.makeFilter((n: number) => Number.isFinite(n), { expected: "a finite number" }))
])

/**
 * The schema {@link fill}'s options are decoded with: exactly one of
 * `pattern` (a non-empty `Uint8Array`) and `seed` (a finite number or a
 * string), with the range and chunking of {@link FillOptions}.
 *
 * @since 0.2.0
 */
export const FillOptionsSchema = Schema.Struct({
  ...CopyOptionsSchema.fields,
  pattern: Schema.optional(Pattern),
  seed: Schema.optional(Seed),
  start: Schema.optional(SectorNumber),
  sectors: Schema.optional(SectorNumber)
})

const decode = decodeOptions(FillOptionsSchema, "options")

const fillImpl = (device: unknown, options: unknown): Effect.Effect<void, WriteError> =>
  Effect.gen(function*() {
    const decoded = decode("fill", options)
    if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
    const target = yield* connectedDevice("fill", "device", device)
    const info = yield* target.info
    const { seed } = decoded
    const pattern = decoded.pattern === undefined ? undefined : uint8ArrayView(decoded.pattern)
    if (pattern !== undefined && seed !== undefined) return yield* fail("fill", "give a pattern or a seed, not both")
    if (pattern === undefined && seed === undefined) return yield* fail("fill", "give a pattern or a seed")
    const start = decoded.start ?? 0
    const badStart = checkRange("fill", start, 0, info.sizeSectors)
    if (badStart !== undefined) return yield* Effect.fail(badStart)
    const sectors = decoded.sectors ?? info.sizeSectors - start
    const bad = checkRange("fill", start, sectors, info.sizeSectors)
    if (bad !== undefined) return yield* Effect.fail(bad)
    if (!info.readWrite) {
      return yield* Effect.fail(
        new IsReadOnly({ operation: "fill", message: "fill: the device is read-only; nothing was written" })
      )
    }
    const { sectorSize } = info
    const chunkSectors = chunkSectorsFor(sectorSize, decoded.chunkSectors)
    const concurrency = concurrencyFor(decoded.concurrency, sectors, chunkSectors)
    const buffer = bufferPool({ sectorSize, sizeSectors: sectors, chunkSectors })
    const seedHash = seed === undefined ? 0 : hashSeed(seed)
    return yield* forEachChunk(start, start + sectors, chunkSectors, concurrency, (at, n, worker) =>
      Effect.suspend(() => {
        const data = buffer(worker, n)
        if (pattern !== undefined) repeatPattern(pattern, ((at - start) * sectorSize) % pattern.byteLength, data)
        else seededBytes(seedHash, at * sectorSize, data)
        return target.write(at, data)
      }))
  })

/**
 * Writes a byte pattern, repeated, or deterministic seeded random bytes over
 * a range of the device (default: all of it). Use it to give a test device
 * recognisable or realistic contents; the same seed always produces the same
 * bytes. Options are decoded with {@link FillOptionsSchema}: bad options fail
 * `InvalidRequest` before anything is written, and a disconnected or
 * destroyed device `Disconnected`.
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
