/**
 * One SQLite file kept in a region of a block device: the two record copies
 * of `FileRecord` at the region's start, the file's bytes after them. Every
 * operation runs synchronously (through `drive`) and answers a SQLite result
 * code, keeping the device error behind a failure in `failure`.
 *
 * The file-system model it implements (what a crash may leave, and what
 * SQLite may rely on):
 * - a write reaches the device at once but is durable only after a sync of
 *   this file (`xSync`: a device flush);
 * - a change of length (growth by a write, a truncate, creation, deletion)
 *   writes the file's record at once; like the data, it is durable after
 *   the next sync, or after a delete that asks for a directory sync;
 * - bytes between the old end and a write past it read as zeros;
 * - after a crash a file may hold, past its last synced length, whatever
 *   its recorded length covers (zeros, stale or new data), as on a file
 *   system that orders no data against metadata.
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as SQLite from "@effect/wa-sqlite"
import { DeviceFailure, drive } from "./Drive.js"
import * as Record from "./FileRecord.js"

/** A window of a device that holds one file. */
export interface Region {
  readonly device: BlockDeviceShape
  /** First sector of the window on the device. */
  readonly start: number
  /** Sectors in the window. */
  readonly sectors: number
  readonly sectorSize: number
}

/** What an `xSync` does: flush the device, or (a deliberately broken VFS, for testing) nothing. */
export type SyncMode = "flush" | "skip"

/** The operations the VFS needs of any open file. */
export interface VfsFile {
  readonly sectorSize: number
  /** The device failure behind the last non-OK code, if a device caused it. */
  readonly failure: DeviceFailure | undefined
  size(): number
  read(target: Uint8Array, offset: number): number
  write(source: Uint8Array, offset: number): number
  truncate(size: number): number
  sync(): number
}

/** Sectors each record copy takes (a record is 32 bytes; a sector may be smaller). */
const recordSectorsOf = (sectorSize: number) => Math.ceil(Record.recordBytes / sectorSize)

/** The smallest region that can hold a file (both record copies and one sector of data). */
export const minimumSectors = (sectorSize: number) => 2 * recordSectorsOf(sectorSize) + 1

/** A file on a region of a block device. Build it with {@link load}. */
export class BlockFile implements VfsFile {
  /** The last device failure behind a non-OK code. */
  failure: DeviceFailure | undefined = undefined
  readonly sectorSize: number
  /** Bytes the file may grow to. */
  readonly capacity: number
  private readonly recordSectors: number
  private readonly dataStart: number

  private constructor(
    private readonly region: Region,
    private readonly syncMode: SyncMode,
    /** The newest record written to the device. */
    private record: Record.FileRecord,
    /** The copy holding the last record made durable; never overwritten until a newer one is durable. */
    private durableCopy: 0 | 1
  ) {
    this.sectorSize = region.sectorSize
    this.recordSectors = recordSectorsOf(region.sectorSize)
    this.dataStart = region.start + 2 * this.recordSectors
    this.capacity = (region.sectors - 2 * this.recordSectors) * region.sectorSize
    this.exists = record.exists
    this.length = record.exists ? Math.min(record.length, this.capacity) : 0
  }

  /** Whether the file exists now. */
  exists: boolean
  /** The file's length now, in bytes. */
  length: number
  /** Whether a record was written since the last sync. */
  private recordPending = false

  /** Reads both record copies of `region` and recovers the file from the newer valid one. */
  static load(region: Region, syncMode: SyncMode): BlockFile | DeviceFailure {
    const recordSectors = recordSectorsOf(region.sectorSize)
    const copies = new Uint8Array(2 * recordSectors * region.sectorSize)
    const read = drive("open", region.device.read(region.start, copies))
    if (read instanceof DeviceFailure) return read
    const half = recordSectors * region.sectorSize
    const { copy, record } = Record.newest(
      Record.decode(copies.subarray(0, half)),
      Record.decode(copies.subarray(half))
    )
    return new BlockFile(region, syncMode, record, copy)
  }

  size(): number {
    return this.length
  }

  private fail(failure: DeviceFailure, code: number): number {
    this.failure = failure
    return code
  }

  /** Reads device bytes `[offset, offset + target.length)` of the data area. */
  private readBytes(target: Uint8Array, offset: number): DeviceFailure | undefined {
    const size = this.sectorSize
    if (offset % size === 0 && target.byteLength % size === 0) {
      const done = drive("read", this.region.device.read(this.dataStart + offset / size, target))
      return done instanceof DeviceFailure ? done : undefined
    }
    const first = Math.floor(offset / size)
    const end = Math.ceil((offset + target.byteLength) / size)
    const buffer = new Uint8Array((end - first) * size)
    const done = drive("read", this.region.device.read(this.dataStart + first, buffer))
    if (done instanceof DeviceFailure) return done
    const skip = offset - first * size
    target.set(buffer.subarray(skip, skip + target.byteLength))
    return undefined
  }

  /** Writes device bytes of the data area, reading and merging partly covered sectors. */
  private writeBytes(source: Uint8Array, offset: number): DeviceFailure | undefined {
    const size = this.sectorSize
    if (offset % size === 0 && source.byteLength % size === 0) {
      const done = drive("write", this.region.device.write(this.dataStart + offset / size, source))
      return done instanceof DeviceFailure ? done : undefined
    }
    const first = Math.floor(offset / size)
    const end = Math.ceil((offset + source.byteLength) / size)
    const buffer = new Uint8Array((end - first) * size)
    const skip = offset - first * size
    if (skip !== 0) {
      const done = drive("write", this.region.device.read(this.dataStart + first, buffer.subarray(0, size)))
      if (done instanceof DeviceFailure) return done
    }
    if ((offset + source.byteLength) % size !== 0 && (end - 1 > first || skip === 0)) {
      const done = drive("write", this.region.device.read(this.dataStart + end - 1, buffer.subarray(buffer.byteLength - size)))
      if (done instanceof DeviceFailure) return done
    }
    buffer.set(source, skip)
    const done = drive("write", this.region.device.write(this.dataStart + first, buffer))
    return done instanceof DeviceFailure ? done : undefined
  }

  /** Writes the record of the current existence and length to the copy nobody relies on. */
  private writeRecord(): DeviceFailure | undefined {
    if (this.record.exists === this.exists && this.record.length === this.length) return undefined
    const next: Record.FileRecord = {
      sequence: this.record.sequence + 1,
      exists: this.exists,
      length: this.length
    }
    const bytes = new Uint8Array(this.recordSectors * this.sectorSize)
    Record.encode(next, bytes)
    const copy = this.durableCopy === 0 ? 1 : 0
    const done = drive("write", this.region.device.write(this.region.start + copy * this.recordSectors, bytes))
    if (done instanceof DeviceFailure) return done
    this.record = next
    this.recordPending = true
    return undefined
  }

  /** Zeroes `[from, to)` of the data area, so a hole or a grown tail reads as zeros. */
  private zero(from: number, to: number): DeviceFailure | undefined {
    return to > from ? this.writeBytes(new Uint8Array(to - from), from) : undefined
  }

  read(target: Uint8Array, offset: number): number {
    const available = Math.max(0, Math.min(target.byteLength, this.length - offset))
    if (available > 0) {
      const failure = this.readBytes(target.subarray(0, available), offset)
      if (failure !== undefined) return this.fail(failure, SQLite.SQLITE_IOERR_READ)
    }
    if (available === target.byteLength) return SQLite.SQLITE_OK
    target.fill(0, available)
    return SQLite.SQLITE_IOERR_SHORT_READ
  }

  write(source: Uint8Array, offset: number): number {
    const end = offset + source.byteLength
    if (end > this.capacity) return SQLite.SQLITE_FULL
    const failure = this.zero(this.length, offset) ?? this.writeBytes(source, offset)
    if (failure !== undefined) return this.fail(failure, SQLite.SQLITE_IOERR_WRITE)
    if (end > this.length) {
      this.length = end
      const recorded = this.writeRecord()
      if (recorded !== undefined) return this.fail(recorded, SQLite.SQLITE_IOERR_WRITE)
    }
    return SQLite.SQLITE_OK
  }

  truncate(size: number): number {
    if (size > this.capacity) return SQLite.SQLITE_FULL
    const failure = this.zero(this.length, size)
    if (failure !== undefined) return this.fail(failure, SQLite.SQLITE_IOERR_TRUNCATE)
    this.length = size
    const recorded = this.writeRecord()
    return recorded === undefined ? SQLite.SQLITE_OK : this.fail(recorded, SQLite.SQLITE_IOERR_TRUNCATE)
  }

  /** Makes the file's data and record durable: one device flush (nothing in `"skip"` mode). */
  sync(): number {
    const recorded = this.writeRecord()
    if (recorded !== undefined) return this.fail(recorded, SQLite.SQLITE_IOERR_FSYNC)
    if (this.syncMode === "skip") return SQLite.SQLITE_OK
    const flushed = drive("sync", this.region.device.flush)
    if (flushed instanceof DeviceFailure) return this.fail(flushed, SQLite.SQLITE_IOERR_FSYNC)
    if (this.recordPending) {
      this.durableCopy = this.durableCopy === 0 ? 1 : 0
      this.recordPending = false
    }
    return SQLite.SQLITE_OK
  }

  /** Creates the file empty (its record is written, durable with the next sync). */
  create(): number {
    this.exists = true
    this.length = 0
    const recorded = this.writeRecord()
    return recorded === undefined ? SQLite.SQLITE_OK : this.fail(recorded, SQLite.SQLITE_IOERR_WRITE)
  }

  /** Deletes the file; with `syncDirectory`, durably (a flush, unless in `"skip"` mode). */
  remove(syncDirectory: boolean): number {
    this.exists = false
    this.length = 0
    const recorded = this.writeRecord()
    if (recorded !== undefined) return this.fail(recorded, SQLite.SQLITE_IOERR_DELETE)
    return syncDirectory ? this.sync() : SQLite.SQLITE_OK
  }
}

/** A file that lives in memory only: SQLite's temporary files, which no crash needs to keep. */
export class MemoryFile implements VfsFile {
  readonly failure = undefined
  private data = new Uint8Array(0)
  private length = 0
  constructor(readonly sectorSize: number) {}

  size(): number {
    return this.length
  }

  private reserve(size: number) {
    if (size <= this.data.byteLength) return
    const grown = new Uint8Array(Math.max(size, this.data.byteLength * 2))
    grown.set(this.data.subarray(0, this.length))
    this.data = grown
  }

  read(target: Uint8Array, offset: number): number {
    const available = Math.max(0, Math.min(target.byteLength, this.length - offset))
    if (available > 0) target.set(this.data.subarray(offset, offset + available))
    if (available === target.byteLength) return SQLite.SQLITE_OK
    target.fill(0, available)
    return SQLite.SQLITE_IOERR_SHORT_READ
  }

  write(source: Uint8Array, offset: number): number {
    const end = offset + source.byteLength
    this.reserve(end)
    if (offset > this.length) this.data.fill(0, this.length, offset)
    this.data.set(source, offset)
    this.length = Math.max(this.length, end)
    return SQLite.SQLITE_OK
  }

  truncate(size: number): number {
    this.reserve(size)
    if (size > this.length) this.data.fill(0, this.length, size)
    this.length = size
    return SQLite.SQLITE_OK
  }

  sync(): number {
    return SQLite.SQLITE_OK
  }
}
