/**
 * The on-device record of one file's existence and length: what survives a
 * crash of the "directory". Each file's region starts with two copies of
 * the record; a write goes to the copy that does not hold the last record
 * made durable by the file's own sync, so a torn or garbage write can only
 * damage a copy nobody has been promised. Recovery takes the valid copy with
 * the higher sequence number; none valid means the file does not exist.
 *
 * Layout of a copy (little-endian, padded with zeros to whole sectors):
 *   0  magic "EBSQ" (u32)   4  version 1 (u16)   6  flags, bit 0 = exists (u16)
 *   8  sequence (f64)       16 length in bytes (f64)
 *   24 reserved 0 (u32)     28 FNV-1a checksum of bytes 0..27 (u32)
 */

/** Bytes of a record before padding. */
export const recordBytes = 32

const magic = 0x51534245 // "EBSQ" read as a little-endian u32
const version = 1

/** What a record says. */
export interface FileRecord {
  readonly sequence: number
  readonly exists: boolean
  readonly length: number
}

/** The record of a device that never held the file. */
export const absent: FileRecord = { sequence: 0, exists: false, length: 0 }

const fnv1a = (bytes: Uint8Array, end: number): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < end; i++) {
    hash ^= bytes[i] ?? 0
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** Writes `record` at the start of `target` (at least {@link recordBytes} long, the rest zeroed). */
export const encode = (record: FileRecord, target: Uint8Array): void => {
  target.fill(0)
  const view = new DataView(target.buffer, target.byteOffset, recordBytes)
  view.setUint32(0, magic, true)
  view.setUint16(4, version, true)
  view.setUint16(6, record.exists ? 1 : 0, true)
  view.setFloat64(8, record.sequence, true)
  view.setFloat64(16, record.length, true)
  view.setUint32(28, fnv1a(target, 28), true)
}

/** The record in `source`, or `undefined` when it is not a valid record (never written, torn, garbage). */
export const decode = (source: Uint8Array): FileRecord | undefined => {
  if (source.byteLength < recordBytes) return undefined
  const view = new DataView(source.buffer, source.byteOffset, recordBytes)
  if (view.getUint32(0, true) !== magic || view.getUint16(4, true) !== version) return undefined
  if (view.getUint32(28, true) !== fnv1a(source, 28)) return undefined
  const flags = view.getUint16(6, true)
  const sequence = view.getFloat64(8, true)
  const length = view.getFloat64(16, true)
  if (flags > 1 || !Number.isSafeInteger(sequence) || sequence < 1) return undefined
  if (!Number.isSafeInteger(length) || length < 0) return undefined
  return { sequence, exists: flags === 1, length }
}

/** The newer of two decoded copies (`absent` when neither is valid), and which copy it was. */
export const newest = (
  first: FileRecord | undefined,
  second: FileRecord | undefined
): { readonly record: FileRecord; readonly copy: 0 | 1 } => {
  if (first === undefined && second === undefined) return { record: absent, copy: 1 }
  if (second === undefined || (first !== undefined && first.sequence >= second.sequence)) {
    return { record: first ?? absent, copy: 0 }
  }
  return { record: second, copy: 1 }
}
