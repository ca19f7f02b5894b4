/**
 * A tiny write-ahead-logged key-value store on a `BlockDevice`: the storage
 * code the crash-testing guide (docs/crash-testing.md) tests.
 *
 * Layout, one record per sector:
 * - sector 0, the header: magic, the number of committed records, checksum;
 * - sectors 1.., the log: one `key = value` record each, with a checksum.
 *
 * A commit appends its records after the committed ones, then rewrites the
 * header with the new count. The header is a single sector, so it lands
 * whole or not at all; the order of the two steps is the whole story:
 * - `"correct"`: write the records, flush, write the header, flush. The header
 *   can only become durable after the records it counts.
 * - `"buggy"`: write the records, write the header, flush. A power failure
 *   during that one flush may persist the header without some of the
 *   records, and recovery then finds a committed record that is not there.
 *
 * @since 0.1.0
 */
import { BlockDevice, InvalidRequest, type ReadError, type WriteError } from "@effect-block/block"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * Which commit protocol the store uses.
 *
 * @since 0.1.0
 */
export type Variant = "correct" | "buggy"

/**
 * A key and its value.
 *
 * @since 0.1.0
 */
export type Entry = readonly [key: string, value: string]

/**
 * Recovery found a header or a committed record that does not check out:
 * data the store acknowledged is gone.
 *
 * @since 0.1.0
 */
export class WalCorrupt extends Schema.TaggedError<WalCorrupt>()("WalCorrupt", {
  sector: Schema.Number,
  message: Schema.String
}) {}

/**
 * The log has no room for the records of a commit. Nothing was written.
 *
 * @since 0.1.0
 */
export class WalFull extends Schema.TaggedError<WalFull>()("WalFull", {
  message: Schema.String
}) {}

/**
 * An open store.
 *
 * @since 0.1.0
 */
export interface WalKv {
  readonly variant: Variant
  /** The committed contents, as recovered at open plus every acknowledged commit since. */
  readonly entries: Effect.Effect<ReadonlyMap<string, string>>
  /**
   * Commits `entries` atomically: once this succeeds they survive any crash;
   * if a crash interrupts it, after recovery all of them or none are there
   * (in the correct variant). Later entries override earlier ones.
   */
  readonly commit: (entries: ReadonlyArray<Entry>) => Effect.Effect<void, WriteError | WalFull>
}

const headerMagic = 0x57414c48 // "WALH"
const recordMagic = 0x57524543 // "WREC"
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const checksum = (bytes: Uint8Array, length: number): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193)
  return hash >>> 0
}

const encodeHeader = (sectorSize: number, count: number): Uint8Array => {
  const sector = new Uint8Array(sectorSize)
  const view = new DataView(sector.buffer)
  view.setUint32(0, headerMagic)
  view.setUint32(4, count)
  view.setUint32(8, checksum(sector, 8))
  return sector
}

/** Encodes one record into a sector, or explains why it does not fit. */
const encodeRecord = (sectorSize: number, [key, value]: Entry): Uint8Array | InvalidRequest => {
  const keyBytes = encoder.encode(key)
  const valueBytes = encoder.encode(value)
  const used = 8 + keyBytes.length + valueBytes.length
  if (used + 4 > sectorSize || keyBytes.length > 0xffff || valueBytes.length > 0xffff) {
    return new InvalidRequest({
      operation: "commit",
      message: `commit: entry ${JSON.stringify(key)} needs ${used + 4} bytes, more than the ${sectorSize}-byte sector`
    })
  }
  const sector = new Uint8Array(sectorSize)
  const view = new DataView(sector.buffer)
  view.setUint32(0, recordMagic)
  view.setUint16(4, keyBytes.length)
  view.setUint16(6, valueBytes.length)
  sector.set(keyBytes, 8)
  sector.set(valueBytes, 8 + keyBytes.length)
  view.setUint32(used, checksum(sector, used))
  return sector
}

const decodeRecord = (sector: Uint8Array, at: number): Entry | WalCorrupt => {
  const view = new DataView(sector.buffer, sector.byteOffset, sector.byteLength)
  const corrupt = (why: string) => new WalCorrupt({ sector: at, message: `recover: record at sector ${at} ${why}` })
  if (view.getUint32(0) !== recordMagic) return corrupt("is missing (no record magic)")
  const keyLength = view.getUint16(4)
  const valueLength = view.getUint16(6)
  const used = 8 + keyLength + valueLength
  if (used + 4 > sector.byteLength) return corrupt(`claims ${used} bytes, more than a sector`)
  if (view.getUint32(used) !== checksum(sector, used)) return corrupt("fails its checksum")
  return [
    decoder.decode(sector.subarray(8, 8 + keyLength)),
    decoder.decode(sector.subarray(8 + keyLength, used))
  ]
}

/**
 * Reads the log and returns the committed contents. A device that was never
 * written (an all-zero header) holds an empty store.
 *
 * @since 0.1.0
 */
export const recover: Effect.Effect<
  { readonly entries: Map<string, string>; readonly count: number },
  ReadError | WalCorrupt,
  BlockDevice
> = Effect.gen(function*() {
  const device = yield* BlockDevice
  const { sectorSize, sizeSectors } = yield* device.info
  const header = new Uint8Array(sectorSize)
  yield* device.read(0, header)
  const entries = new Map<string, string>()
  if (header.every((byte) => byte === 0)) return { entries, count: 0 }
  const view = new DataView(header.buffer)
  const count = view.getUint32(4)
  if (view.getUint32(0) !== headerMagic || view.getUint32(8) !== checksum(header, 8) || count > sizeSectors - 1) {
    return yield* new WalCorrupt({ sector: 0, message: "recover: the header at sector 0 does not check out" })
  }
  const log = new Uint8Array(count * sectorSize)
  yield* device.read(1, log)
  for (let i = 0; i < count; i++) {
    const entry = decodeRecord(log.subarray(i * sectorSize, (i + 1) * sectorSize), i + 1)
    if (entry instanceof WalCorrupt) return yield* entry
    entries.set(entry[0], entry[1])
  }
  return { entries, count }
})

/**
 * Recovers the store from the device and opens it for commits.
 *
 * @since 0.1.0
 */
export const open = (variant: Variant): Effect.Effect<WalKv, ReadError | WalCorrupt, BlockDevice> =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const { sectorSize, sizeSectors } = yield* device.info
    const recovered = yield* recover
    const entries = recovered.entries
    let count = recovered.count

    const commit = (batch: ReadonlyArray<Entry>): Effect.Effect<void, WriteError | WalFull> =>
      Effect.gen(function*() {
        if (batch.length === 0) return
        const records: Array<Uint8Array> = []
        for (const entry of batch) {
          const record = encodeRecord(sectorSize, entry)
          if (record instanceof InvalidRequest) return yield* record
          records.push(record)
        }
        if (1 + count + records.length > sizeSectors) {
          return yield* new WalFull({
            message: `commit: ${records.length} records do not fit: ${count} of ${sizeSectors - 1} log sectors are used`
          })
        }
        yield* device.write(1 + count, records)
        // The one line that separates the two variants: the log must be durable before the header points at it.
        if (variant === "correct") yield* device.flush
        yield* device.write(0, encodeHeader(sectorSize, count + records.length))
        yield* device.flush
        count += records.length
        for (const [key, value] of batch) entries.set(key, value)
      })

    return {
      variant,
      entries: Effect.sync(() => new Map(entries)),
      commit
    }
  })
