/**
 * The on-device record of a file's existence and length: a valid record
 * reads back as written, and any damage to it (a garbage or torn sector)
 * makes it invalid rather than a different record. White-box: the record is
 * internal to the VFS.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { decode, encode, type FileRecord, newest, recordBytes } from "../src/internal/FileRecord.js"

const Record = Schema.Struct({
  sequence: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  exists: Schema.Boolean,
  length: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }))
})

const Damage = Schema.Struct({
  byte: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: recordBytes - 1 })),
  flip: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 255 }))
})

const encoded = (record: FileRecord, size = 512) => {
  const bytes = new Uint8Array(size)
  encode(record, bytes)
  return bytes
}

describe("decode", () => {
  it.prop("reads back what encode wrote", [Record], ([record]) => {
    expect(decode(encoded(record))).toEqual(record)
  })

  it.prop("rejects a record with any byte changed", [Record, Damage], ([record, damage]) => {
    const bytes = encoded(record)
    bytes[damage.byte] = (bytes[damage.byte] ?? 0) ^ damage.flip
    expect(decode(bytes)).toBeUndefined()
  })

  it("rejects a never-written (zeroed) sector and one shorter than a record", () => {
    expect(decode(new Uint8Array(512))).toBeUndefined()
    expect(decode(encoded({ sequence: 1, exists: true, length: 1 }).subarray(0, recordBytes - 1))).toBeUndefined()
  })
})

describe("newest", () => {
  const a: FileRecord = { sequence: 4, exists: true, length: 100 }
  const b: FileRecord = { sequence: 5, exists: false, length: 0 }

  it("takes the valid copy with the higher sequence", () => {
    expect(newest(a, b)).toEqual({ record: b, copy: 1 })
    expect(newest(b, a)).toEqual({ record: b, copy: 0 })
  })

  it("takes the only valid copy when the other is damaged", () => {
    expect(newest(undefined, a)).toEqual({ record: a, copy: 1 })
    expect(newest(a, undefined)).toEqual({ record: a, copy: 0 })
  })

  it("says the file does not exist when neither copy is valid", () => {
    expect(newest(undefined, undefined).record).toEqual({ sequence: 0, exists: false, length: 0 })
  })
})
