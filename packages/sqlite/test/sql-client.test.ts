import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { SqlClientLive } from "@effect-block/sqlite"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql/SqlClient"

const Disk = () => RamdiskLive({ name: "sql", sizeSectors: 4096 }).pipe(Layer.provide(RegistryLive))

describe("SqlClientLive", () => {
  it.effect("runs effect/sql statements on a database kept on the BlockDevice", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient
      yield* sql`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`
      yield* sql`INSERT INTO people ${sql.insert([{ id: 1, name: "Ada" }, { id: 2, name: "Grace" }])}`
      const rows = yield* sql<{ name: string }>`SELECT name FROM people WHERE id > ${1}`
      expect(rows).toEqual([{ name: "Grace" }])
    }).pipe(Effect.provide(SqlClientLive({ journalMode: "WAL" }).pipe(Layer.provide(Disk())))))

  it.effect("commits withTransaction durably, and rolls a failed one back", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      const session = <A, E>(body: Effect.Effect<A, E, SqlClient>) =>
        Effect.provide(body, SqlClientLive().pipe(Layer.provide(Layer.succeed(BlockDevice, device))))
      yield* session(Effect.gen(function*() {
        const sql = yield* SqlClient
        yield* sql`CREATE TABLE t (x INTEGER)`
        yield* sql.withTransaction(sql`INSERT INTO t VALUES (1)`)
        const failed = yield* Effect.flip(sql.withTransaction(
          Effect.andThen(sql`INSERT INTO t VALUES (2)`, Effect.fail("abort" as const))
        ))
        expect(failed).toBe("abort")
      }))
      const rows = yield* session(Effect.gen(function*() {
        const sql = yield* SqlClient
        return yield* sql<{ x: number }>`SELECT x FROM t`
      }))
      expect(rows).toEqual([{ x: 1 }])
    }).pipe(Effect.provide(Disk())))

  it.effect("fails SqlError for bad SQL", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient
      const error = yield* Effect.flip(sql`SELEC 1`)
      expect(error._tag).toBe("SqlError")
      expect(error.message).toContain("syntax error")
    }).pipe(Effect.provide(SqlClientLive().pipe(Layer.provide(Disk())))))
})
