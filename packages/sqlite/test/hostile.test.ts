/**
 * No input may crash the SQLite package, leak a defect or throw synchronously
 * (docs/semantics.md, "Bad input"): `open`'s storage and options and a
 * database's `query`/`exec` SQL and params are each given every family of
 * @effect-block/testing's `hostileValues`, and must answer with a typed
 * failure (or success, for a value the argument accepts), leaving the
 * database working.
 */
import { BlockDevice, type BlockDeviceShape } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { type Database, type OpenOptions, Sqlite, SqliteLive, type SqlValue } from "@effect-block/sqlite"
import { hostileValues } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"

const Env = Layer.mergeAll(SqliteLive, RamdiskLive({ name: "db", sizeSectors: 4096 }).pipe(Layer.provide(RegistryLive)))

interface Target {
  readonly name: string
  readonly run: (
    sqlite: typeof Sqlite.Service,
    device: BlockDeviceShape,
    db: Database,
    value: unknown
  ) => Effect.Effect<unknown, unknown, import("effect/Scope").Scope>
  /** The families this argument accepts, because they are valid values. */
  readonly accepts: ReadonlyArray<string>
}

const targets: ReadonlyArray<Target> = [
  { name: "open(storage)", run: (sqlite, _device, _db, value) => sqlite.open(value as BlockDeviceShape), accepts: [] },
  {
    name: "open(device, options)",
    run: (sqlite, device, _db, value) => Effect.scoped(sqlite.open(device, value as OpenOptions)),
    // Objects with no own keys read as {}: every option absent, the defaults.
    accepts: [
      "undefined",
      "a Proxy of {}",
      "Object.create(Uint8Array.prototype)",
      "a detached Uint8Array",
      "a DataView",
      "an ArrayBuffer"
    ]
  },
  // The empty string is SQL with no statements.
  { name: "query(sql)", run: (_sqlite, _device, db, value) => db.query(value as string), accepts: ["an empty string"] },
  { name: "exec(sql)", run: (_sqlite, _device, db, value) => db.exec(value as string), accepts: ["an empty string"] },
  {
    name: "query(sql, params)",
    run: (_sqlite, _device, db, value) => db.query("SELECT 1", value as ReadonlyArray<SqlValue>),
    accepts: ["undefined"]
  },
  {
    name: "exec(sql, params)",
    run: (_sqlite, _device, db, value) => db.exec("SELECT 1", value as ReadonlyArray<SqlValue>),
    accepts: ["undefined"]
  }
]

const typed = new Set(["InvalidRequest", "SqliteError"])

describe("every public function", () => {
  it.effect("answers every hostile family in every argument with a typed failure, and the database keeps working", () =>
    Effect.gen(function*() {
      const sqlite = yield* Sqlite
      const device = yield* BlockDevice
      const db = yield* sqlite.open(device)
      yield* db.exec("CREATE TABLE t(x INTEGER)")
      const problems: Array<string> = []
      for (const target of targets) {
        for (const [family, make] of hostileValues) {
          const what = `${target.name} with ${family}`
          let effect: Effect.Effect<unknown, unknown, import("effect/Scope").Scope>
          try {
            effect = target.run(sqlite, device, db, make())
          } catch (thrown) {
            problems.push(`${what} threw synchronously`)
            continue
          }
          const exit = yield* Effect.exit(Effect.scoped(effect))
          if (Exit.isSuccess(exit)) {
            if (!target.accepts.includes(family)) problems.push(`${what} was accepted`)
            continue
          }
          const error = Cause.findErrorOption(exit.cause)
          if (error._tag === "None") {
            problems.push(`${what} died`)
            continue
          }
          const tag = (error.value as { readonly _tag?: unknown })._tag
          if (typeof tag !== "string" || !typed.has(tag)) problems.push(`${what} failed with an untyped ${typeof tag === "string" ? tag : typeof tag}`)
        }
      }
      expect(problems).toEqual([])
      yield* db.exec("INSERT INTO t VALUES (?)", [7])
      expect(yield* db.query("SELECT x FROM t")).toEqual([{ x: 7 }])
    }).pipe(Effect.scoped, Effect.provide(Env)), { timeout: 60_000 })
})
