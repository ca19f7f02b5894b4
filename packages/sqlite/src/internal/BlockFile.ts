/**
 * One SQLite file kept in a region of a block device: the two record copies
 * of `FileRecord` at the region's start, the file's bytes after them. Every
 * operation runs synchronously (through `drive`) and answers a SQLite result
 * code, keeping the device error behind a failure in `failure`.
 *
 * The file-system model it implements is that of a journaling file system
 * that orders data before metadata (ext4's `data=ordered`), which is what
 * SQLite's rollback journal and WAL are designed against:
 * - a write reaches the device at once but is durable only after a sync of
 *   this file (`xSync`: a device flush);
 * - growth is recorded at the next sync (or close), after a flush of the
 *   data it covers, so a crash never shows a grown file over bytes that had
 *   not landed; until then a crash leaves the file at its recorded length;
 * - creation, deletion and shrinking are recorded at once, and are durable
 *   after the next sync of any file of the database (a journaling file
 *   system commits all pending metadata at an fsync; the VFS flushes the
 *   devices holding such records), or at once for a delete that asks for a
 *   directory sync;
 * - bytes freed by a deletion or a shrink are not written again until the
 *   freeing is durable (a flush first), as a file system does not reuse
 *   freed blocks before the free is on disk: otherwise a crash could bring
 *   back a deleted rollback journal, still hot, with another file's bytes;
 * - bytes between the old end and a write past it read as zeros;
 * - overwriting bytes in place has no ordering at all: after a crash each
 *   sector of an unsynced overwrite holds the old or the new data (or, on a
 *   simulator that tears writes, part of it).
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
  close(): number
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
  /** Whether the file exists now. */
  exists: boolean
  /** The file's length now, in bytes. */
  length: number
  private readonly recordSectors: number
  private readonly dataStart: number
  /** Whether a record was written since the last flush. */
  private recordPending = false
  /** Bytes the last durable record gives the file: a crash may bring them back until a newer record is durable. */
  private durableExtent: number

  private constructor(
    private readonly region: Region,
    private readonly syncMode: SyncMode,
    /** The newest record written to the device. */
    private record: Record.FileRecord,
    /** The copy holding the last durable record; never overwritten until a newer one is durable. */
    private durableCopy: 0 | 1
  ) {
    this.sectorSize = region.sectorSize
    this.recordSectors = recordSectorsOf(region.sectorSize)
    this.dataStart = region.start + 2 * this.recordSectors
    this.capacity = (region.sectors - 2 * this.recordSectors) * region.sectorSize
    this.exists = record.exists
    this.length = record.exists ? Math.min(record.length, this.capacity) : 0
    this.durableExtent = this.length
  }

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

  /** Reads data-area sectors from `sector` into `buffer` (`operation` names the SQLite call for errors). */
  private readSectors(operation: string, sector: number, buffer: Uint8Array): DeviceFailure | undefined {
    const done = drive(operation, this.region.device.read(this.dataStart + sector, buffer))
    return done instanceof DeviceFailure ? done : undefined
  }

  /** Writes `buffer` to data-area sectors from `sector`. */
  private writeSectors(sector: number, buffer: Uint8Array): DeviceFailure | undefined {
    const done = drive("write", this.region.device.write(this.dataStart + sector, buffer))
    return done instanceof DeviceFailure ? done : undefined
  }

  /**
   * The whole sectors `[first, end)` holding bytes `[offset, offset + bytes)` of the data area, a buffer
   * of that many sectors, and where byte `offset` sits in it; undefined when the bytes are whole sectors.
   */
  private partial(offset: number, bytes: number) {
    const size = this.sectorSize
    if (offset % size === 0 && bytes % size === 0) return undefined
    const first = Math.floor(offset / size)
    const end = Math.ceil((offset + bytes) / size)
    return { first, end, buffer: new Uint8Array((end - first) * size), skip: offset - first * size }
  }

  /** Reads device bytes `[offset, offset + target.length)` of the data area. */
  private readBytes(target: Uint8Array, offset: number): DeviceFailure | undefined {
    const span = this.partial(offset, target.byteLength)
    if (span === undefined) return this.readSectors("read", offset / this.sectorSize, target)
    const { buffer, first, skip } = span
    const failed = this.readSectors("read", first, buffer)
    if (failed !== undefined) return failed
    target.set(buffer.subarray(skip, skip + target.byteLength))
    return undefined
  }

  /** Writes device bytes of the data area, reading and merging partly covered sectors. */
  private writeBytes(source: Uint8Array, offset: number): DeviceFailure | undefined {
    const span = this.partial(offset, source.byteLength)
    if (span === undefined) return this.writeSectors(offset / this.sectorSize, source)
    const size = this.sectorSize
    const { buffer, end, first, skip } = span
    if (skip !== 0) {
      const failed = this.readSectors("write", first, buffer.subarray(0, size))
      if (failed !== undefined) return failed
    }
    if ((offset + source.byteLength) % size !== 0 && (end - 1 > first || skip === 0)) {
      const failed = this.readSectors("write", end - 1, buffer.subarray(buffer.byteLength - size))
      if (failed !== undefined) return failed
    }
    buffer.set(source, skip)
    return this.writeSectors(first, buffer)
  }

  /** Writes the record of the current existence and length to the copy nobody relies on. */
  private writeRecord(): DeviceFailure | undefined {
    if (this.record.exists === this.exists && this.record.length === this.length) return undefined
    const next: Record.FileRecord = { sequence: this.record.sequence + 1, exists: this.exists, length: this.length }
    const bytes = new Uint8Array(this.recordSectors * this.sectorSize)
    Record.encode(next, bytes)
    const copy = this.durableCopy === 0 ? 1 : 0
    const done = drive("write", this.region.device.write(this.region.start + copy * this.recordSectors, bytes))
    if (done instanceof DeviceFailure) return done
    this.record = next
    this.recordPending = true
    return undefined
  }

  /** Flushes the device: everything written so far, the newest record included, is durable. */
  private flush(): DeviceFailure | undefined {
    const flushed = drive("sync", this.region.device.flush)
    if (flushed instanceof DeviceFailure) return flushed
    if (this.recordPending) {
      this.durableCopy = this.durableCopy === 0 ? 1 : 0
      this.recordPending = false
    }
    this.durableExtent = this.record.exists ? this.record.length : 0
    return undefined
  }

  /**
   * Brings the record up to date: growth only after a flush of the data it
   * covers; creation, deletion and shrinking at once. With `durable`, a
   * flush afterwards makes the record durable too.
   */
  private persist(durable: boolean): DeviceFailure | undefined {
    const grows = this.exists && this.record.exists && this.length > this.record.length ||
      this.exists && !this.record.exists && this.length > 0
    const flushed = grows ? this.flush() : undefined
    if (flushed !== undefined) return flushed
    const recorded = this.writeRecord()
    if (recorded !== undefined) return recorded
    return durable ? this.flush() : undefined
  }

  /** Before bytes freed by a deletion or a shrink are written again, makes the freeing durable. */
  private beforeReuse(offset: number, end: number): DeviceFailure | undefined {
    const freedFrom = this.exists ? this.length : 0
    return end > freedFrom && offset < this.durableExtent ? this.persist(true) : undefined
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
    const failure = this.beforeReuse(Math.min(offset, this.length), end) ?? this.zero(this.length, offset) ??
      this.writeBytes(source, offset)
    if (failure !== undefined) return this.fail(failure, SQLite.SQLITE_IOERR_WRITE)
    this.length = Math.max(this.length, end)
    return SQLite.SQLITE_OK
  }

  truncate(size: number): number {
    if (size > this.capacity) return SQLite.SQLITE_FULL
    if (size > this.length) {
      const failure = this.beforeReuse(this.length, size) ?? this.zero(this.length, size)
      if (failure !== undefined) return this.fail(failure, SQLite.SQLITE_IOERR_TRUNCATE)
      this.length = size
      return SQLite.SQLITE_OK
    }
    this.length = size
    const failure = this.persist(false)
    return failure === undefined ? SQLite.SQLITE_OK : this.fail(failure, SQLite.SQLITE_IOERR_TRUNCATE)
  }

  /** Makes the file's data and length durable (in `"skip"` mode, the broken VFS: does nothing). */
  sync(): number {
    if (this.syncMode === "skip") return SQLite.SQLITE_OK
    const failure = this.persist(true)
    return failure === undefined ? SQLite.SQLITE_OK : this.fail(failure, SQLite.SQLITE_IOERR_FSYNC)
  }

  /**
   * Makes this file's recorded creation, deletion or shrink durable if one
   * is pending: called when another file of the database is synced, since a
   * journaling file system commits every pending metadata change at an
   * fsync (in `"skip"` mode, nothing).
   */
  syncMetadata(): number {
    if (!this.recordPending || this.syncMode === "skip") return SQLite.SQLITE_OK
    const failure = this.flush()
    return failure === undefined ? SQLite.SQLITE_OK : this.fail(failure, SQLite.SQLITE_IOERR_FSYNC)
  }

  /** Records the file's length for the next open (not durably: closing a file syncs nothing). */
  close(): number {
    const failure = this.persist(false)
    return failure === undefined ? SQLite.SQLITE_OK : this.fail(failure, SQLite.SQLITE_IOERR_CLOSE)
  }

  /** Creates the file empty (recorded at once, durable with the next sync). */
  create(): number {
    this.exists = true
    this.length = 0
    const failure = this.persist(false)
    return failure === undefined ? SQLite.SQLITE_OK : this.fail(failure, SQLite.SQLITE_IOERR_WRITE)
  }

  /** Deletes the file; with `syncDirectory`, durably (unless in `"skip"` mode). */
  remove(syncDirectory: boolean): number {
    this.exists = false
    this.length = 0
    const failure = this.persist(syncDirectory && this.syncMode === "flush")
    return failure === undefined ? SQLite.SQLITE_OK : this.fail(failure, SQLite.SQLITE_IOERR_DELETE)
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

  close(): number {
    return SQLite.SQLITE_OK
  }
}
