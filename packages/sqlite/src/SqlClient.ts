/**
 * Effect's own SQL client (`effect/sql`'s `SqlClient`: tagged-template
 * statements, transactions, schemas, migrations) over a database on block
 * devices. `@effect/sql-sqlite-wasm` cannot be used for this (its Effect 4
 * release targets `effect/unstable/sql`, and it opens databases only on its
 * own VFSs), so this module builds the client from `SqlClient.make` over a
 * {@link Database} of this package.
 *
 * @since 0.1.0
 */
import { BlockDevice } from "@effect-block/block"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import { classifySqliteError, SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"
import {
  type Database,
  type OpenError,
  type OpenOptions,
  Sqlite,
  SqliteLive,
  type SqlValue,
  type Storage
} from "./Sqlite.js"

const toSqlError = (operation: string) => (error: { readonly message: string }) =>
  new SqlError({ reason: classifySqliteError(error, { message: error.message, operation }) })

/** A connection of `effect/sql` over one open database. */
const connectionOf = (database: Database): SqlConnection.Connection => {
  const rows = (operation: string, sql: string, params: ReadonlyArray<unknown>) =>
    database.query(sql, params as ReadonlyArray<SqlValue>).pipe(Effect.mapError(toSqlError(operation)))
  const execute = (
    sql: string,
    params: ReadonlyArray<unknown>,
    transformRows: (<A extends object>(row: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
  ) => Effect.map(rows("execute", sql, params), (result) => transformRows === undefined ? result : transformRows(result))
  const values = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.map(rows("executeValues", sql, params), (result) => result.map((row) => Object.values(row)))
  return {
    execute,
    executeUnprepared: execute,
    executeRaw: (sql, params) => rows("executeRaw", sql, params),
    executeValues: values,
    executeValuesUnprepared: values,
    executeStream: (sql, params, transformRows) =>
      Stream.fromIterableEffect(execute(sql, params, transformRows))
  }
}

/**
 * Opens the database on `storage` and returns an `effect/sql` client for it,
 * closed with the scope. The client serializes statements on its one
 * connection; `withTransaction` runs `BEGIN`/`COMMIT` on it. Requires
 * {@link Sqlite} and `Reactivity` (which `SqlClientLive` provides).
 *
 * @since 0.1.0
 */
export const makeSqlClient = (
  storage: Storage,
  options?: OpenOptions
): Effect.Effect<SqlClient.SqlClient, OpenError, Sqlite | Reactivity.Reactivity | Scope.Scope> =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const database = yield* sqlite.open(storage, options)
    const connection = connectionOf(database)
    const semaphore = yield* Semaphore.make(1)
    const acquirers = SqlClient.makeSqliteAcquirers({ connection: Effect.succeed(connection), semaphore })
    return yield* SqlClient.make({
      acquirer: acquirers.acquirer,
      borrower: acquirers.borrower,
      transactionAcquirer: acquirers.transactionAcquirer,
      onCommitFailure: acquirers.onCommitFailure,
      compiler: Statement.makeCompilerSqlite(),
      driver: "effect-block-sqlite",
      spanAttributes: [["db.system.name", "sqlite"]]
    })
  })

/**
 * A layer providing `effect/sql`'s `SqlClient` for a database on the
 * `BlockDevice` in the context (split into the three files' regions), with
 * `Sqlite` and `Reactivity` built in.
 *
 * @example
 * ```ts
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { SqlClientLive } from "@effect-block/sqlite"
 * import { Effect, Layer } from "effect"
 * import { SqlClient } from "effect/sql/SqlClient"
 *
 * const program = Effect.gen(function*() {
 *   const sql = yield* SqlClient
 *   yield* sql`CREATE TABLE people (name TEXT)`
 *   yield* sql`INSERT INTO people ${sql.insert({ name: "Ada" })}`
 *   return yield* sql<{ name: string }>`SELECT name FROM people`
 * })
 *
 * const Disk = RamdiskLive({ name: "sql", sizeSectors: 4096 }).pipe(Layer.provide(RegistryLive))
 * Effect.runPromise(program.pipe(Effect.provide(SqlClientLive({ journalMode: "WAL" }).pipe(Layer.provide(Disk)))))
 * ```
 *
 * @since 0.1.0
 */
export const SqlClientLive = (
  options?: OpenOptions
): Layer.Layer<SqlClient.SqlClient, OpenError, BlockDevice> =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.gen(function*() {
      return yield* makeSqlClient(yield* BlockDevice, options)
    })
  ).pipe(Layer.provide(Layer.mergeAll(SqliteLive, Reactivity.layer)))
