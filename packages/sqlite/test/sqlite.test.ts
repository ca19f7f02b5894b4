import { BlockDevice, type BlockDeviceShape, IOError, slice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { Sqlite, SqliteError, SqliteLive, SynchronousDeviceRequired } from "@effect-block/sqlite"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { decode } from "../src/internal/FileRecord.js"

const Disk = (sizeSectors = 4096, sectorSize = 512) =>
  RamdiskLive({ name: "db", sizeSectors, sectorSize }).pipe(Layer.provide(RegistryLive))

const Env = (sizeSectors = 4096, sectorSize = 512) => Layer.mergeAll(SqliteLive, Disk(sizeSectors, sectorSize))

/** Runs a body with the SQLite service and the device at hand. */
const withDisk = <A, E>(
  body: (sqlite: typeof Sqlite.Service, device: BlockDeviceShape) => Effect.Effect<A, E, import("effect/Scope").Scope>,
  sizeSectors?: number,
  sectorSize?: number
) =>
  Effect.gen(function*() {
    return yield* body(yield* Sqlite, yield* BlockDevice)
  }).pipe(Effect.scoped, Effect.provide(Env(sizeSectors, sectorSize)))

const countRows = (sqlite: typeof Sqlite.Service, device: BlockDeviceShape, journalMode: "DELETE" | "WAL") =>
  Effect.scoped(Effect.gen(function*() {
    const db = yield* sqlite.open(device, { journalMode })
    const rows = yield* db.query("SELECT count(*) AS n, sum(x) AS total FROM t")
    return rows[0]
  }))

describe("open", () => {
  it.effect.each(["DELETE", "WAL"] as const)("keeps what was committed across close and reopen (%s)", (journalMode) =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const db = yield* sqlite.open(device, { journalMode })
          yield* db.exec("CREATE TABLE t(x INTEGER)")
          for (let i = 1; i <= 10; i++) yield* db.exec("INSERT INTO t VALUES (?)", [i])
        }))
        expect(yield* countRows(sqlite, device, journalMode)).toEqual({ n: 10, total: 55 })
      })
    ))

  it.effect("keeps a database whose files are on three devices", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const storage = {
          database: slice(device, { start: 0, sectors: 2048 }),
          journal: slice(device, { start: 2048, sectors: 1024 }),
          wal: slice(device, { start: 3072, sectors: 1024 })
        }
        yield* Effect.scoped(Effect.gen(function*() {
          const db = yield* sqlite.open(storage, { journalMode: "WAL" })
          yield* db.exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (4), (5)")
        }))
        const rows = yield* Effect.scoped(Effect.flatMap(
          sqlite.open(storage, { journalMode: "WAL" }),
          (db) => db.query("SELECT sum(x) AS total FROM t")
        ))
        expect(rows).toEqual([{ total: 9 }])
      })
    ))

  it.effect.each([64, 512, 4096])("keeps a database on a device of %i-byte sectors", (sectorSize) =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const db = yield* sqlite.open(device, { journalMode: "DELETE" })
          yield* db.exec("CREATE TABLE t(x INTEGER)")
          for (let i = 1; i <= 5; i++) yield* db.exec("INSERT INTO t VALUES (?)", [i])
        }))
        expect(yield* countRows(sqlite, device, "DELETE")).toEqual({ n: 5, total: 15 })
      }), (4096 * 512) / sectorSize, sectorSize))

  it.effect("keeps a file's length when the record copy not holding it is garbage (a torn record write)", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const db = yield* sqlite.open(device)
          yield* db.exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2)")
        }))
        // The database file's two record copies are sectors 0 and 1.
        const copies = new Uint8Array(1024)
        yield* device.read(0, copies)
        const [first, second] = [decode(copies.subarray(0, 512)), decode(copies.subarray(512))]
        const spare = (first?.sequence ?? 0) > (second?.sequence ?? 0) ? 1 : 0
        yield* device.write(spare, new Uint8Array(512).fill(0xa5))
        expect(yield* countRows(sqlite, device, "DELETE")).toEqual({ n: 2, total: 3 })
      })
    ))

  it.effect("rejects a malformed option, naming it", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sqlite.open(device, { journalMode: "wal" as "WAL" }))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("journalMode")
      })
    ))

  it.effect.each([
    ["null for an option", { synchronous: null }, "synchronous"],
    ["an unknown key", { journal_mode: "WAL" }, "journal_mode"],
    ["a page size that is not a power of two", { pageSize: 1000 }, "pageSize"],
    ["a sync mode that does not exist", { sync: "sometimes" }, "sync"]
  ])("rejects %s, naming it", ([, options, name]) =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sqlite.open(device, options as never))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(name)
      })
    ))

  it.effect.each(["TRUNCATE", "PERSIST"] as const)("keeps what was committed in journal mode %s", (journalMode) =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const db = yield* sqlite.open(device, { journalMode })
          yield* db.exec("CREATE TABLE t(x INTEGER)")
          for (let i = 1; i <= 4; i++) yield* db.exec("INSERT INTO t VALUES (?)", [i])
        }))
        const rows = yield* Effect.scoped(Effect.flatMap(
          sqlite.open(device, { journalMode }),
          (db) => db.query("SELECT sum(x) AS total FROM t")
        ))
        expect(rows).toEqual([{ total: 10 }])
      })
    ))

  it.effect("creates the database with the given page size", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const db = yield* sqlite.open(device, { pageSize: 1024 })
        yield* db.exec("CREATE TABLE t(x)")
        expect(yield* db.query("PRAGMA page_size")).toEqual([{ page_size: 1024 }])
      })
    ))

  it.effect("rejects a device too small for the three files", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sqlite.open(slice(device, { start: 0, sectors: 8 })))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("at least")
      })
    ))

  it.effect("refuses a device that cannot be driven synchronously, writing nothing", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const asynchronous: BlockDeviceShape = { ...device, info: Effect.delay(device.info, "1 millis") }
        const error = yield* Effect.flip(sqlite.open(asynchronous))
        expect(error).toBeInstanceOf(SynchronousDeviceRequired)
        const start = new Uint8Array(4 * 512)
        yield* device.read(0, start)
        expect(start.every((byte) => byte === 0)).toBe(true)
      })
    ))

  it.effect.each([
    ["null", null],
    ["a revoked Proxy", (() => {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return proxy
    })()],
    ["an object with throwing getters", { get database(): never { throw new Error("hostile") }, journal: 1, wal: 2 }],
    ["a plain object", { info: 1 }]
  ])("fails InvalidRequest for storage that is %s", ([, storage]) =>
    withDisk((sqlite) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sqlite.open(storage as unknown as BlockDeviceShape))
        expect(error._tag).toBe("InvalidRequest")
      })
    ))
})

describe("query", () => {
  it.effect("binds parameters and returns rows by column name", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const db = yield* sqlite.open(device)
        yield* db.exec("CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB, n INTEGER)")
        yield* db.exec("INSERT INTO kv VALUES (?, ?, ?)", ["a", new Uint8Array([1, 2, 3]), 2n ** 60n])
        const rows = yield* db.query("SELECT k, v, n FROM kv WHERE k = ?", ["a"])
        expect(rows).toEqual([{ k: "a", v: new Uint8Array([1, 2, 3]), n: 2n ** 60n }])
      })
    ))

  it.effect("fails SqliteError with SQLite's message for bad SQL", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const db = yield* sqlite.open(device)
        const error = yield* Effect.flip(db.query("SELEC 1"))
        expect(error).toBeInstanceOf(SqliteError)
        expect(error.message).toContain("syntax error")
      })
    ))

  it.effect("rejects params that are not SQL values", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const db = yield* sqlite.open(device)
        const error = yield* Effect.flip(db.query("SELECT ?", [{} as unknown as string]))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("params[0]")
      })
    ))

  it.effect("fails SQLITE_FULL when the database outgrows its region, and stays usable", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const db = yield* sqlite.open(device)
        yield* db.exec("CREATE TABLE t(x BLOB)")
        const error = yield* Effect.flip(db.exec("INSERT INTO t VALUES (zeroblob(600000))"))
        expect(error._tag).toBe("SqliteError")
        if (error._tag === "SqliteError") expect(error.code & 0xff).toBe(13)
        yield* db.exec("INSERT INTO t VALUES (zeroblob(1000))")
        expect(yield* db.query("SELECT count(*) AS n FROM t")).toEqual([{ n: 1 }])
      }), 1024))

  it.effect("rejects params that are a revoked Proxy", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        const db = yield* sqlite.open(device)
        const { proxy, revoke } = Proxy.revocable<Array<number>>([], {})
        revoke()
        const error = yield* Effect.flip(db.query("SELECT ?", proxy))
        expect(error._tag).toBe("InvalidRequest")
      })
    ))

  it.effect("reports the device error behind an I/O failure", () =>
    withDisk((sqlite, device) =>
      Effect.gen(function*() {
        let failing = false
        const flaky: BlockDeviceShape = {
          ...device,
          write: (sectorStart, buffers) =>
            failing ?
              Effect.fail(new IOError({ operation: "write", message: "write: injected failure" })) :
              device.write(sectorStart, buffers)
        }
        const db = yield* sqlite.open(flaky)
        yield* db.exec("CREATE TABLE t(x)")
        failing = true
        const error = yield* Effect.flip(db.exec("INSERT INTO t VALUES (1)"))
        expect(error).toBeInstanceOf(SqliteError)
        expect(error.message).toContain("injected failure")
        if (error._tag === "SqliteError") expect(error.cause).toBeInstanceOf(IOError)
      })
    ))
})
