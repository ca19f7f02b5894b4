/**
 * The SQLite crash-testing workload and its oracle, as docs/sqlite-crash-testing.md
 * walks through them: a run of small transactions, each acknowledged with a
 * mark, and a check of what a database recovered after a crash still holds
 * against what SQLite documents it may lose in each configuration. The
 * exploration loop (crash into every state, recover, check) is the crash
 * simulator's `explore`; this module is the SQLite-specific part a user
 * writes, and {@link checkRecovery} is the `check` to hand it.
 *
 * @since 0.1.0
 */
import type { InvalidRequest } from "@effect-block/block"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SqliteError } from "./Errors.js"
import type { Database, SqliteShape, Storage } from "./Sqlite.js"

/**
 * One cell of the crash-testing matrix: a journal mode, a synchronous level,
 * and whether `xSync` really flushes (`"skip"`: the deliberately broken VFS).
 *
 * @since 0.1.0
 */
export interface Configuration {
  readonly journalMode: "DELETE" | "WAL"
  readonly synchronous: "OFF" | "NORMAL" | "FULL" | "EXTRA"
  readonly sync: "flush" | "skip"
  /** Device characteristics claimed falsely (see `OpenOptions`); SQLite's promises assume they hold. */
  readonly falseClaims?: ReadonlyArray<"powersafe-overwrite" | "safe-append" | "sequential"> | undefined
}

/**
 * The configuration's name in tables: `WAL+FULL`, `broken VFS (WAL+FULL)`,
 * `WAL+FULL claiming powersafe-overwrite`.
 *
 * @since 0.1.0
 */
export const nameOf = (configuration: Configuration): string => {
  const base = `${configuration.journalMode}+${configuration.synchronous}`
  const claims = configuration.falseClaims ?? []
  const name = claims.length === 0 ? base : `${base} claiming ${claims.join(", ")}`
  return configuration.sync === "skip" ? `broken VFS (${name})` : name
}

/**
 * What SQLite documents a configuration may lose in a power failure:
 * `"nothing"`; `"last commit"` (rollback journal below EXTRA: the journal's
 * deletion is not synced, so the last acknowledged commit may roll back);
 * `"since checkpoint"` (WAL with NORMAL: commits since the last checkpoint
 * may roll back); `"anything"` (synchronous OFF, or a VFS whose sync does
 * nothing: no promise at all, corruption included).
 *
 * @since 0.1.0
 */
export type Allowance = "nothing" | "last commit" | "since checkpoint" | "anything"

/**
 * The {@link Allowance} of a configuration.
 *
 * @since 0.1.0
 */
export const allowanceOf = (configuration: Configuration): Allowance => {
  if (configuration.sync === "skip" || configuration.synchronous === "OFF") return "anything"
  if (configuration.synchronous === "EXTRA") return "nothing"
  if (configuration.journalMode === "WAL") return configuration.synchronous === "FULL" ? "nothing" : "since checkpoint"
  return "last commit"
}

/**
 * The size of a workload: `commits` transactions, each inserting one row of
 * `payloadBytes` bytes and bumping a counter, with a WAL checkpoint after
 * every `checkpointEvery` commits (in WAL mode).
 *
 * @since 0.1.0
 */
export interface Workload {
  readonly commits: number
  readonly payloadBytes: number
  readonly checkpointEvery: number
}

/** The bytes commit `index` stores: derived from the index, so recovery can check them. */
const payloadOf = (index: number, bytes: number): Uint8Array => {
  const payload = new Uint8Array(bytes)
  for (let j = 0; j < bytes; j++) payload[j] = (index * 31 + j * 7) & 255
  return payload
}

/** The mark recorded after the schema is created. */
const setupMark = "setup"
const commitMark = (index: number) => `commit ${index}`
const checkpointMark = (index: number) => `checkpoint after commit ${index}`

/**
 * Runs the workload on `database`, calling `mark` after each acknowledged
 * step (`"setup"`, `"commit i"`, `"checkpoint after commit i"`): hand it the
 * crash simulator's `mark`, so every crash state knows what was acknowledged.
 *
 * @since 0.1.0
 */
export const runWorkload = (
  database: Database,
  configuration: Configuration,
  workload: Workload,
  mark: (label: string) => Effect.Effect<void>
): Effect.Effect<void, SqliteError | InvalidRequest> =>
  Effect.gen(function*() {
    yield* database.exec(
      "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB NOT NULL); " +
        "CREATE TABLE meta(commits INTEGER NOT NULL); INSERT INTO meta VALUES (0); COMMIT"
    )
    yield* mark(setupMark)
    for (let i = 0; i < workload.commits; i++) {
      yield* database.exec(
        "BEGIN; INSERT INTO t VALUES (?, ?); UPDATE meta SET commits = commits + 1; COMMIT",
        [i, payloadOf(i, workload.payloadBytes)]
      )
      yield* mark(commitMark(i))
      if (configuration.journalMode === "WAL" && (i + 1) % workload.checkpointEvery === 0) {
        yield* database.exec("PRAGMA wal_checkpoint(FULL)")
        yield* mark(checkpointMark(i))
      }
    }
  })

/**
 * What a recovered database holds, measured against what had been
 * acknowledged before the crash. Counts are in transactions of the workload,
 * the schema's creation being the first: a database holding the schema and
 * commits 0 and 1 has kept 3.
 *
 * @since 0.1.0
 */
export interface Recovery {
  /** Transactions acknowledged before the crash. */
  readonly acknowledged: number
  /** Transactions acknowledged before the last acknowledged checkpoint (WAL). */
  readonly checkpointed: number
  /** Transactions the recovered database holds (a prefix of the workload), when it is consistent. */
  readonly kept: number
  /** Why the database is not a consistent prefix of the workload, if it is not. */
  readonly corruption: string | undefined
}

/**
 * How a recovery compares with an allowance: `"ok"`, `"lost"` (acknowledged
 * commits missing beyond what the allowance permits) or `"corrupt"`.
 *
 * @since 0.1.0
 */
export type Outcome = "ok" | "lost" | "corrupt"

/**
 * Judges a recovery: corruption is always a violation except under
 * `"anything"`; missing acknowledged commits are one beyond the allowance.
 * With `"anything"` the strict judgement (`"nothing"`) is still reported,
 * which is what shows the configuration is caught.
 *
 * @since 0.1.0
 */
export const judge = (recovery: Recovery, allowance: Allowance): Outcome => {
  if (recovery.corruption !== undefined) return "corrupt"
  const floor = allowance === "last commit" ?
    recovery.acknowledged - 1 :
    allowance === "since checkpoint" ?
    recovery.checkpointed :
    recovery.acknowledged
  return recovery.kept >= floor ? "ok" : "lost"
}

/**
 * Opens the database on `storage` as the application would after a restart
 * (which recovers it), runs `PRAGMA integrity_check`, and reads back what it
 * holds; `marks` are the crash state's marks. Never fails: a database that
 * cannot be opened or read is reported as corrupt.
 *
 * @since 0.1.0
 */
export const recover = (
  sqlite: SqliteShape,
  storage: Storage,
  configuration: Configuration,
  workload: Workload,
  marks: ReadonlyArray<string>
): Effect.Effect<Recovery> => {
  let acknowledged = 0
  let checkpointed = 0
  for (const label of marks) {
    if (label === setupMark || label.startsWith("commit ")) acknowledged++
    else if (label.startsWith("checkpoint after commit ")) checkpointed = acknowledged
  }
  const result = (kept: number, corruption?: string): Recovery => ({ acknowledged, checkpointed, kept, corruption })
  return Effect.scoped(Effect.gen(function*() {
    const database = yield* sqlite.open(storage, {
      journalMode: configuration.journalMode,
      synchronous: configuration.synchronous,
      sync: configuration.sync,
      ...(configuration.falseClaims === undefined ? {} : { falseClaims: configuration.falseClaims })
    })
    const integrity = yield* database.query("PRAGMA integrity_check")
    const verdict = integrity.map((row) => String(row["integrity_check"])).join("; ")
    if (verdict !== "ok") return result(0, `integrity_check: ${verdict}`)
    const tables = yield* database.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    const names = tables.map((row) => row["name"]).join(",")
    if (names === "") return result(0)
    if (names !== "meta,t") return result(0, `unexpected tables ${names}`)
    const rows = yield* database.query("SELECT id, payload FROM t ORDER BY id")
    const meta = yield* database.query("SELECT commits FROM meta")
    const counted = meta.length === 1 ? meta[0]?.["commits"] : undefined
    if (counted !== rows.length) return result(0, `meta says ${String(counted)} commits, t holds ${rows.length} rows`)
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]
      if (row?.["id"] !== i) return result(0, `row ${i} has id ${String(row?.["id"])}: not a prefix of the commits`)
      const payload = row["payload"]
      const expected = payloadOf(i, workload.payloadBytes)
      if (!(payload instanceof Uint8Array) || payload.byteLength !== expected.byteLength ||
        payload.some((byte, j) => byte !== expected[j])) {
        return result(0, `row ${i} holds the wrong payload`)
      }
    }
    const kept = rows.length + 1
    if (kept > acknowledged + 1) {
      return result(0, `${kept} transactions present, but only ${acknowledged + 1} had started`)
    }
    return result(kept)
  })).pipe(
    Effect.catch((error) => Effect.succeed(result(0, `recovery failed: ${error.message}`)))
  )
}

/**
 * A recovered database lacks acknowledged transactions beyond what the
 * allowance permits.
 *
 * @since 0.1.0
 */
export class LostCommits extends Schema.TaggedError<LostCommits>()("LostCommits", {
  message: Schema.String,
  acknowledged: Schema.Number,
  kept: Schema.Number
}) {}

/**
 * A recovered database failed `PRAGMA integrity_check`, could not be opened
 * or read, or is not a prefix of the workload.
 *
 * @since 0.1.0
 */
export class CorruptDatabase extends Schema.TaggedError<CorruptDatabase>()("CorruptDatabase", {
  message: Schema.String
}) {}

/**
 * The `check` of a crash exploration: {@link recover}s the database and
 * fails `CorruptDatabase` or `LostCommits` when the recovery breaks
 * `allowance` (default: what SQLite documents for the configuration; pass
 * `"nothing"` to see every lost acknowledged commit).
 *
 * @since 0.1.0
 */
export const checkRecovery = (
  sqlite: SqliteShape,
  storage: Storage,
  configuration: Configuration,
  workload: Workload,
  allowance: Allowance = allowanceOf(configuration)
) =>
(state: { readonly marks: ReadonlyArray<string> }): Effect.Effect<void, LostCommits | CorruptDatabase> =>
  Effect.flatMap(recover(sqlite, storage, configuration, workload, state.marks), (recovery): Effect.Effect<
    void,
    LostCommits | CorruptDatabase
  > => {
    const outcome = judge(recovery, allowance)
    if (outcome === "ok") return Effect.void
    if (outcome === "corrupt") {
      return Effect.fail(new CorruptDatabase({ message: recovery.corruption ?? "corrupt" }))
    }
    return Effect.fail(
      new LostCommits({
        message: `kept ${recovery.kept} of ${recovery.acknowledged} acknowledged transactions (allowance: ${allowance})`,
        acknowledged: recovery.acknowledged,
        kept: recovery.kept
      })
    )
  })
