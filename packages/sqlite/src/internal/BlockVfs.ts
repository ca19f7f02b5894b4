/**
 * The SQLite VFS whose files live on block devices, as the WebAssembly build
 * calls it: raw `x*` methods over pointers into the module's memory, all
 * synchronous, none throwing (an exception escaping into WebAssembly would
 * abort SQLite mid-operation).
 *
 * One VFS is registered per SQLite module; each open database is a mount
 * (`/<key>/db`, `/<key>/db-journal`, `/<key>/db-wal`) of three
 * `BlockFile`s. Temporary files (statement journals, temp tables) live in
 * memory. Device characteristics are 0: no atomic writes of any size, no
 * safe append, no sequential ordering, no power-safe overwrite, because a
 * `BlockDevice` promises none of them (unless the caller asks for false
 * claims, to show that a crash test catches them). Locks always succeed: a mount is used
 * by one connection, opened in exclusive locking mode.
 */
import * as SQLite from "@effect/wa-sqlite"
import { type BlockFile, MemoryFile, type VfsFile } from "./BlockFile.js"
import type { DeviceFailure } from "./Drive.js"

/** The parts of the Emscripten module the VFS touches. */
export interface WasmModule {
  readonly HEAPU8: Uint8Array
  readonly UTF8ToString: (pointer: number) => string
  readonly stringToUTF8: (text: string, pointer: number, maxBytes: number) => void
  readonly lengthBytesUTF8: (text: string) => number
  readonly setValue: (pointer: number, value: number, type: string) => void
}

/** The three files of one database. */
export interface Mount {
  readonly database: BlockFile
  readonly journal: BlockFile
  readonly wal: BlockFile
  /** The device characteristics reported to SQLite: 0 unless the caller made deliberately false claims. */
  readonly characteristics: number
  /** The device failure behind the last failing VFS call of this mount. */
  failure: DeviceFailure | undefined
}

interface OpenFile {
  readonly file: VfsFile
  readonly mount: Mount | undefined
}

const temporaryFlags = SQLite.SQLITE_OPEN_TEMP_DB | SQLite.SQLITE_OPEN_TEMP_JOURNAL |
  SQLite.SQLITE_OPEN_SUBJOURNAL | SQLite.SQLITE_OPEN_TRANSIENT_DB

/** Emscripten passes a 64-bit offset as two signed 32-bit halves. */
const offsetOf = (low: number, high: number) => high * 0x100000000 + (low >>> 0)

/** The VFS object handed to `sqlite3.vfs_register`. */
export class BlockVfs implements SQLiteVFS {
  readonly mxPathname = 128
  readonly mxPathName = 128
  private readonly mounts = new Map<string, Mount>()
  private readonly files = new Map<number, OpenFile>()
  private nextKey = 0

  constructor(readonly name: string, private readonly module: WasmModule) {}

  /** Adds a database's files; returns the path to open. */
  mount(mount: Mount): { readonly path: string; readonly key: string } {
    const key = `m${this.nextKey++}`
    this.mounts.set(key, mount)
    return { path: `/${key}/db`, key }
  }

  /** Removes a mount (after its database was closed). */
  unmount(key: string): void {
    this.mounts.delete(key)
  }

  close(): void {}
  isReady(): boolean {
    return true
  }
  hasAsyncMethod(): boolean {
    return false
  }

  private resolve(path: string): { readonly mount: Mount; readonly file: BlockFile } | undefined {
    const match = /^\/(m\d+)\/(db|db-journal|db-wal)$/.exec(path)
    if (match === null) return undefined
    const mount = this.mounts.get(match[1] ?? "")
    if (mount === undefined) return undefined
    const file = match[2] === "db" ? mount.database : match[2] === "db-journal" ? mount.journal : mount.wal
    return { mount, file }
  }

  /** Runs a VFS method body, answering `SQLITE_IOERR` for anything it throws. */
  private guard(body: () => number): number {
    try {
      return body()
    } catch {
      return SQLite.SQLITE_IOERR
    }
  }

  /** Records the device failure behind a failing code on the file's mount. */
  private settle(open: OpenFile, code: number): number {
    if (code !== SQLite.SQLITE_OK && code !== SQLite.SQLITE_IOERR_SHORT_READ && open.mount !== undefined) {
      if (open.file.failure !== undefined) open.mount.failure = open.file.failure
    }
    return code
  }

  private withFile(pFile: number, body: (open: OpenFile) => number): number {
    return this.guard(() => {
      const open = this.files.get(pFile)
      return open === undefined ? SQLite.SQLITE_IOERR : this.settle(open, body(open))
    })
  }

  xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number): number {
    return this.guard(() => {
      const path = zName === 0 ? undefined : this.module.UTF8ToString(zName)
      const target = path === undefined ? undefined : this.resolve(path)
      if (target === undefined) {
        if (path !== undefined && (flags & temporaryFlags) === 0) return SQLite.SQLITE_CANTOPEN
        this.files.set(pFile, { file: new MemoryFile(512), mount: undefined })
      } else {
        if (!target.file.exists) {
          if ((flags & SQLite.SQLITE_OPEN_CREATE) === 0) return SQLite.SQLITE_CANTOPEN
          const code = target.file.create()
          if (code !== SQLite.SQLITE_OK) {
            target.mount.failure = target.file.failure
            return SQLite.SQLITE_CANTOPEN
          }
        }
        this.files.set(pFile, { file: target.file, mount: target.mount })
      }
      if (pOutFlags !== 0) this.module.setValue(pOutFlags, flags, "i32")
      return SQLite.SQLITE_OK
    })
  }

  xDelete(_pVfs: number, zName: number, syncDir: number): number {
    return this.guard(() => {
      const target = this.resolve(this.module.UTF8ToString(zName))
      if (target === undefined || !target.file.exists) return SQLite.SQLITE_OK
      const code = target.file.remove(syncDir !== 0)
      if (code !== SQLite.SQLITE_OK) target.mount.failure = target.file.failure
      return code
    })
  }

  xAccess(_pVfs: number, zName: number, _flags: number, pResOut: number): number {
    return this.guard(() => {
      const target = this.resolve(this.module.UTF8ToString(zName))
      this.module.setValue(pResOut, target !== undefined && target.file.exists ? 1 : 0, "i32")
      return SQLite.SQLITE_OK
    })
  }

  xFullPathname(_pVfs: number, zName: number, nOut: number, zOut: number): number {
    return this.guard(() => {
      const path = this.module.UTF8ToString(zName)
      if (this.module.lengthBytesUTF8(path) >= nOut) return SQLite.SQLITE_CANTOPEN
      this.module.stringToUTF8(path, zOut, nOut)
      return SQLite.SQLITE_OK
    })
  }

  xGetLastError(): number {
    return SQLite.SQLITE_OK
  }

  xClose(pFile: number): number {
    return this.guard(() => {
      const open = this.files.get(pFile)
      this.files.delete(pFile)
      return open === undefined ? SQLite.SQLITE_OK : this.settle(open, open.file.close())
    })
  }

  xRead(pFile: number, pData: number, iAmt: number, iOffsetLo: number, iOffsetHi: number): number {
    return this.withFile(pFile, (open) =>
      open.file.read(this.module.HEAPU8.subarray(pData, pData + iAmt), offsetOf(iOffsetLo, iOffsetHi)))
  }

  xWrite(pFile: number, pData: number, iAmt: number, iOffsetLo: number, iOffsetHi: number): number {
    return this.withFile(pFile, (open) =>
      open.file.write(this.module.HEAPU8.subarray(pData, pData + iAmt), offsetOf(iOffsetLo, iOffsetHi)))
  }

  xTruncate(pFile: number, iSizeLo: number, iSizeHi: number): number {
    return this.withFile(pFile, (open) => open.file.truncate(offsetOf(iSizeLo, iSizeHi)))
  }

  xSync(pFile: number): number {
    return this.withFile(pFile, (open) => {
      const mount = open.mount
      if (mount === undefined) return open.file.sync()
      // One file system over the database's devices: a sync commits every file's pending metadata.
      for (const other of [mount.database, mount.journal, mount.wal]) {
        if (other === open.file) continue
        const code = other.syncMetadata()
        if (code !== SQLite.SQLITE_OK) {
          mount.failure = other.failure
          return code
        }
      }
      return open.file.sync()
    })
  }

  xFileSize(pFile: number, pSize64: number): number {
    return this.withFile(pFile, (open) => {
      new DataView(this.module.HEAPU8.buffer).setBigInt64(pSize64, BigInt(open.file.size()), true)
      return SQLite.SQLITE_OK
    })
  }

  xLock(): number {
    return SQLite.SQLITE_OK
  }

  xUnlock(): number {
    return SQLite.SQLITE_OK
  }

  xCheckReservedLock(_pFile: number, pResOut: number): number {
    return this.guard(() => {
      this.module.setValue(pResOut, 0, "i32")
      return SQLite.SQLITE_OK
    })
  }

  xFileControl(): number {
    return SQLite.SQLITE_NOTFOUND
  }

  xSectorSize(pFile: number): number {
    return this.files.get(pFile)?.file.sectorSize ?? 512
  }

  xDeviceCharacteristics(pFile: number): number {
    return this.files.get(pFile)?.mount?.characteristics ?? 0
  }
}
