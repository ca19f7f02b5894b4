/**
 * SQLite on block devices: the `Sqlite` service (one SQLite WebAssembly
 * module with the block-device VFS registered in it), `SqliteLive` to build
 * it, and `open` to open a database whose files live on one device or on
 * three, scoped (the database closes when the scope does).
 *
 * The contract of the devices is docs/semantics.md; what the VFS promises
 * SQLite, and how to crash-test a database, is docs/sqlite-crash-testing.md.
 *
 * @since 0.1.0
 */
import { type BlockDeviceShape, InvalidRequest, type WriteError } from "@effect-block/block"
import * as SQLite from "@effect/wa-sqlite"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { SqliteError, type SynchronousDeviceRequired } from "./Errors.js"
import { BlockFile, minimumSectors, type Region } from "./internal/BlockFile.js"
import { BlockVfs, type Mount } from "./internal/BlockVfs.js"
import { DeviceFailure, drive } from "./internal/Drive.js"
import { loadModule, type SqliteApi } from "./internal/Module.js"

/**
 * A value SQLite stores or returns: an integer beyond 2^53 comes back as a
 * `bigint`, a blob as a fresh `Uint8Array`.
 *
 * @since 0.1.0
 */
export type SqlValue = number | bigint | string | Uint8Array | null

/**
 * One result row, by column name.
 *
 * @since 0.1.0
 */
export type Row = Readonly<Record<string, SqlValue>>

/**
 * Where a database's files live: one device, split into three regions (the
 * database file gets the first half, the rollback journal and the WAL a
 * quarter each), or a device for each file (to split one device your own
 * way, pass `slice`s of it).
 *
 * @since 0.1.0
 */
export type Storage =
  | BlockDeviceShape
  | {
    readonly database: BlockDeviceShape
    readonly journal: BlockDeviceShape
    readonly wal: BlockDeviceShape
  }

/**
 * The options of {@link SqliteShape.open}, decoded: a malformed one (or an
 * unknown key, or `null` for an absent one) fails `InvalidRequest` naming it.
 *
 * - `journalMode`: `"DELETE"` (the default), `"TRUNCATE"`, `"PERSIST"` or
 *   `"WAL"`. WAL runs in exclusive locking mode (as every connection here
 *   does), so it needs no shared-memory file.
 * - `synchronous`: `"OFF"`, `"NORMAL"`, `"FULL"` (the default) or `"EXTRA"`.
 * - `pageSize`: a power of two from 512 to 65536; applies when the database
 *   is created.
 * - `sync`: `"flush"` (the default) makes `xSync` flush the device;
 *   `"skip"` makes it do nothing: a deliberately broken VFS, for showing
 *   that a crash test catches one.
 * - `falseClaims`: device characteristics to report although a block
 *   device does not have them (`"powersafe-overwrite"`, `"safe-append"`,
 *   `"sequential"`): deliberately false, for showing that a crash test with
 *   torn, damaged writes catches SQLite relying on them. Default none.
 *
 * @since 0.1.0
 */
export const OpenOptions = Schema.Struct({
  journalMode: Schema.optional(Schema.Literals(["DELETE", "TRUNCATE", "PERSIST", "WAL"])),
  synchronous: Schema.optional(Schema.Literals(["OFF", "NORMAL", "FULL", "EXTRA"])),
  pageSize: Schema.optional(Schema.Literals([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536])),
  sync: Schema.optional(Schema.Literals(["flush", "skip"])),
  falseClaims: Schema.optional(Schema.Array(Schema.Literals(["powersafe-overwrite", "safe-append", "sequential"])))
})

const claimBits: Record<"powersafe-overwrite" | "safe-append" | "sequential", number> = {
  "powersafe-overwrite": SQLite.SQLITE_IOCAP_POWERSAFE_OVERWRITE,
  "safe-append": SQLite.SQLITE_IOCAP_SAFE_APPEND,
  "sequential": SQLite.SQLITE_IOCAP_SEQUENTIAL
}

/**
 * The options of {@link SqliteShape.open}.
 *
 * @since 0.1.0
 */
export type OpenOptions = typeof OpenOptions.Type

/**
 * Everything opening a database can fail with: bad options or storage
 * (`InvalidRequest`), a device that cannot be driven synchronously, the
 * device's own errors, or SQLite refusing the files.
 *
 * @since 0.1.0
 */
export type OpenError = InvalidRequest | SynchronousDeviceRequired | WriteError | SqliteError

/**
 * An open database.
 *
 * @since 0.1.0
 */
export interface Database {
  /**
   * Runs every statement in `sql`, in order, binding `params` (by position)
   * to each statement that has parameters, and returns the rows they
   * produced. Fails `SqliteError` (with the device error as `cause` when
   * the device failed), `InvalidRequest` for a `sql` that is not a string
   * or `params` that are not an array of {@link SqlValue}s.
   */
  readonly query: (
    sql: string,
    params?: ReadonlyArray<SqlValue>
  ) => Effect.Effect<ReadonlyArray<Row>, SqliteError | InvalidRequest>
  /** {@link query} without the rows. */
  readonly exec: (sql: string, params?: ReadonlyArray<SqlValue>) => Effect.Effect<void, SqliteError | InvalidRequest>
}

/**
 * The SQLite module and its block-device VFS.
 *
 * @since 0.1.0
 */
export interface SqliteShape {
  /** The SQLite library version, e.g. `"3.50.4"`. */
  readonly version: string
  /**
   * Opens (creating if needed) the database on `storage`, flushes the
   * devices once (so nothing written before the open is left pending), and
   * sets its locking mode (exclusive), journal mode and synchronous level.
   * Opening recovers the database after a crash: a hot rollback journal is
   * rolled back, a WAL is replayed. The database closes when the scope does.
   */
  readonly open: (storage: Storage, options?: OpenOptions) => Effect.Effect<Database, OpenError, Scope.Scope>
}

/**
 * The `Sqlite` service, provided by {@link SqliteLive}.
 *
 * @since 0.1.0
 */
export class Sqlite extends Context.Service<Sqlite, SqliteShape>()("@effect-block/sqlite/Sqlite") {}

const invalid = (operation: string, message: string) => new InvalidRequest({ operation, message: `${operation}: ${message}` })

/** The files' regions: three windows of one device, or the whole of three devices. */
const regionsOf = (storage: Storage): Effect.Effect<ReadonlyArray<Region>, InvalidRequest | SynchronousDeviceRequired> =>
  Effect.suspend(() => {
    let devices: ReadonlyArray<BlockDeviceShape>
    try {
      if (typeof storage !== "object" || storage === null) {
        return Effect.fail(invalid("open", `storage ${String(storage)} is not a device or { database, journal, wal }`))
      }
      devices = "database" in storage ? [storage.database, storage.journal, storage.wal] : [storage]
    } catch {
      return Effect.fail(invalid("open", "reading the storage threw"))
    }
    const infos: Array<{ readonly device: BlockDeviceShape; readonly sectorSize: number; readonly sizeSectors: number }> = []
    for (const device of devices) {
      let info: unknown
      try {
        info = drive("open", device.info)
      } catch {
        info = undefined
      }
      if (info instanceof DeviceFailure) {
        return Effect.fail(
          info.error instanceof InvalidRequest || (info.error as { _tag?: unknown })?._tag === "SynchronousDeviceRequired" ?
            info.error as InvalidRequest | SynchronousDeviceRequired :
            invalid("open", "a storage device's info failed")
        )
      }
      if (typeof info !== "object" || info === null || typeof (info as { sectorSize?: unknown }).sectorSize !== "number") {
        return Effect.fail(invalid("open", "a storage value is not a BlockDevice"))
      }
      const { sectorSize, sizeSectors } = info as { sectorSize: number; sizeSectors: number }
      infos.push({ device, sectorSize, sizeSectors })
    }
    const regions: Array<Region> = []
    const single = infos.length === 1 ? infos[0] : undefined
    if (single !== undefined) {
      const quarter = Math.floor(single.sizeSectors / 4)
      regions.push(
        { device: single.device, sectorSize: single.sectorSize, start: 0, sectors: single.sizeSectors - 2 * quarter },
        { device: single.device, sectorSize: single.sectorSize, start: single.sizeSectors - 2 * quarter, sectors: quarter },
        { device: single.device, sectorSize: single.sectorSize, start: single.sizeSectors - quarter, sectors: quarter }
      )
    } else {
      for (const { device, sectorSize, sizeSectors } of infos) regions.push({ device, sectorSize, start: 0, sectors: sizeSectors })
    }
    const names = ["database", "journal", "WAL"]
    for (let i = 0; i < regions.length; i++) {
      const region = regions[i]
      if (region === undefined) continue
      const needed = minimumSectors(region.sectorSize)
      if (region.sectors < needed) {
        return Effect.fail(invalid(
          "open",
          `the ${names[i]} region has ${region.sectors} sectors; a file needs at least ${needed}` +
            (single === undefined ? "" : ` (a single device needs at least ${4 * needed} sectors)`)
        ))
      }
    }
    return Effect.succeed(regions)
  })

const failureError = (failure: DeviceFailure) => Effect.fail(failure.error as WriteError | SynchronousDeviceRequired)

const toSqliteError = (operation: string, thrown: unknown, failure: DeviceFailure | undefined): SqliteError => {
  const code = thrown instanceof SQLite.SQLiteError && typeof thrown.code === "number" ? thrown.code : SQLite.SQLITE_ERROR
  const detail = thrown instanceof Error ? thrown.message : String(thrown)
  const device = failure === undefined ?
    "" :
    `; the device failed: ${(failure.error as { message?: unknown })?.message ?? String(failure.error)}`
  return new SqliteError({
    operation,
    code,
    message: `${operation}: ${detail} (SQLite code ${code})${device}`,
    ...(failure === undefined ? {} : { cause: failure.error })
  })
}

/** Copies `params` once into a plain array of SQL values, or says why it cannot. */
/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER: no statement can bind more parameters. */
const maxParams = 32766

const readParams = (operation: string, params: unknown): Array<SqlValue> | InvalidRequest => {
  if (params === undefined) return []
  try {
    if (!Array.isArray(params)) return invalid(operation, "params is not an array")
    const length: unknown = params.length
    if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0 || length > maxParams) {
      return invalid(operation, `params has ${String(length)} elements; at most ${maxParams} can be bound`)
    }
    const values: Array<SqlValue> = []
    for (let i = 0; i < length; i++) {
      const value: unknown = params[i]
      if (
        value === null || typeof value === "number" || typeof value === "bigint" || typeof value === "string"
      ) values.push(value)
      else if (value instanceof Uint8Array) values.push(value.slice())
      else return invalid(operation, `params[${i}] is not a number, bigint, string, Uint8Array or null`)
    }
    return values
  } catch {
    return invalid(operation, "reading params threw")
  }
}

const makeDatabase = (sqlite3: SqliteApi, db: number, mount: Mount): Database => {
  const query = (sql: string, params?: ReadonlyArray<SqlValue>) =>
    Effect.suspend((): Effect.Effect<ReadonlyArray<Row>, SqliteError | InvalidRequest> => {
      if (typeof sql !== "string") return Effect.fail(invalid("query", "sql is not a string"))
      const values = readParams("query", params)
      if (values instanceof InvalidRequest) return Effect.fail(values)
      mount.failure = undefined
      const rows: Array<Row> = []
      try {
        for (const statement of sqlite3.statements(db, sql)) {
          if (values.length > 0 && sqlite3.bind_parameter_count(statement) > 0) {
            sqlite3.bind_collection(statement, values)
          }
          let columns: Array<string> | undefined
          while (sqlite3.step(statement) === SQLite.SQLITE_ROW) {
            columns ??= sqlite3.column_names(statement)
            const cells = sqlite3.row(statement)
            const row: Record<string, SqlValue> = {}
            for (let c = 0; c < columns.length; c++) {
              const cell = cells[c] ?? null
              Object.defineProperty(row, columns[c] ?? String(c), {
                value: cell instanceof Uint8Array ? cell.slice() : Array.isArray(cell) ? Uint8Array.from(cell) : cell,
                enumerable: true,
                writable: false
              })
            }
            rows.push(row)
          }
        }
      } catch (thrown) {
        return Effect.fail(toSqliteError("query", thrown, mount.failure))
      }
      return Effect.succeed(rows)
    })
  return {
    query,
    exec: (sql, params) => Effect.asVoid(query(sql, params))
  }
}

const decodeOpenOptions = Schema.decodeUnknownExit(OpenOptions, { onExcessProperty: "error" })

/** `options` decoded, or InvalidRequest: a hostile value (a revoked Proxy, a throwing getter) included. */
const decodeOptions = (options: unknown): typeof OpenOptions.Type | InvalidRequest => {
  try {
    const exit = decodeOpenOptions(options)
    if (Exit.isSuccess(exit)) return exit.value
    const error = Cause.findErrorOption(exit.cause)
    return Option.isSome(error) ?
      invalid("open", `bad options: ${error.value.message}`) :
      invalid("open", "reading the options threw")
  } catch {
    return invalid("open", "reading the options threw")
  }
}

const make = (sqlite3: SqliteApi, vfs: BlockVfs, vfsName: string): SqliteShape => {
  const open = (storage: Storage, options: OpenOptions = {}) =>
    Effect.gen(function*() {
      const decoded = decodeOptions(options)
      if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
      const regions = yield* regionsOf(storage)
      const sync = decoded.sync ?? "flush"
      const flushed = new Set<BlockDeviceShape>()
      for (const region of regions) {
        if (flushed.has(region.device)) continue
        flushed.add(region.device)
        const done = drive("open", region.device.flush)
        if (done instanceof DeviceFailure) return yield* failureError(done)
      }
      const files: Array<BlockFile> = []
      for (const region of regions) {
        const file = BlockFile.load(region, sync)
        if (file instanceof DeviceFailure) return yield* failureError(file)
        files.push(file)
      }
      const [database, journal, wal] = files as [BlockFile, BlockFile, BlockFile]
      const characteristics = (decoded.falseClaims ?? []).reduce((bits, claim) => bits | claimBits[claim], 0)
      const mount: Mount = { database, journal, wal, characteristics, failure: undefined }
      const journalMode = decoded.journalMode ?? "DELETE"
      const { key, path } = vfs.mount(mount)
      const db = yield* Effect.acquireRelease(
        Effect.suspend(() => {
          try {
            return Effect.succeed(
              sqlite3.open_v2(path, SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE, vfsName)
            )
          } catch (thrown) {
            vfs.unmount(key)
            return Effect.fail(toSqliteError("open", thrown, mount.failure))
          }
        }),
        (db) =>
          Effect.sync(() => {
            try {
              sqlite3.close(db)
            } catch {
              // Closing only fails for a handle SQLite does not know; there is nothing left to release.
            }
            vfs.unmount(key)
          })
      )
      const database_ = makeDatabase(sqlite3, db, mount)
      const pragmas = [
        // WAL without a shared-memory file needs exclusive locking. Rollback modes keep normal locking:
        // in exclusive mode SQLite invalidates a committed journal by zeroing its header (as PERSIST
        // does) instead of deleting it, which would hide how DELETE really behaves.
        ...(journalMode === "WAL" ? ["PRAGMA locking_mode = EXCLUSIVE"] : []),
        ...(decoded.pageSize === undefined ? [] : [`PRAGMA page_size = ${decoded.pageSize}`]),
        `PRAGMA synchronous = ${decoded.synchronous ?? "FULL"}`
      ]
      for (const pragma of pragmas) yield* database_.exec(pragma).pipe(Effect.mapError(asOpenError))
      const mode = yield* database_.query(`PRAGMA journal_mode = ${journalMode}`).pipe(Effect.mapError(asOpenError))
      const got = mode[0]?.["journal_mode"]
      if (typeof got !== "string" || got.toUpperCase() !== journalMode) {
        return yield* Effect.fail(
          new SqliteError({
            operation: "open",
            code: SQLite.SQLITE_ERROR,
            message: `open: SQLite kept journal mode ${String(got)} instead of ${journalMode}`
          })
        )
      }
      return database_
    })
  return { version: sqlite3.libversion(), open }
}

const asOpenError = (error: SqliteError | InvalidRequest): SqliteError | InvalidRequest => error

/**
 * A layer that loads SQLite (the synchronous WebAssembly build of
 * `@effect/wa-sqlite`) and registers the block-device VFS in it. Each layer
 * instance is its own module: no state is shared between them. Fails
 * `SqliteError` when the module cannot be loaded.
 *
 * @example
 * ```ts
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { BlockDevice } from "@effect-block/block"
 * import { Sqlite, SqliteLive } from "@effect-block/sqlite"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const sqlite = yield* Sqlite
 *   const db = yield* sqlite.open(yield* BlockDevice, { journalMode: "WAL" })
 *   yield* db.exec("CREATE TABLE t(x)")
 *   return yield* db.query("SELECT count(*) AS n FROM t")
 * }).pipe(Effect.scoped)
 *
 * const Disk = RamdiskLive({ name: "db", sizeSectors: 4096 }).pipe(Layer.provide(RegistryLive))
 * Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(SqliteLive, Disk))))
 * ```
 *
 * @since 0.1.0
 */
export const SqliteLive: Layer.Layer<Sqlite, SqliteError> = Layer.effect(
  Sqlite,
  Effect.map(loadModule, ({ module, sqlite3 }) => {
    const vfsName = "effect-block"
    const vfs = new BlockVfs(vfsName, module)
    sqlite3.vfs_register(vfs, false)
    return make(sqlite3, vfs, vfsName)
  })
)
