/**
 * A database whose three files live on three devices in one power domain:
 * a power failure takes the database file, the journal and the WAL at once,
 * and each file's xSync flushes its own device only.
 */
import { makeRegistry } from "@effect-block/ramdisk"
import {
  type Allowance,
  checkRecovery,
  type Configuration,
  runWorkload,
  Sqlite,
  SqliteLive,
  type Workload
} from "@effect-block/sqlite"
import { CrashSimulator, explore, formatSummary } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

const workload: Workload = { commits: 3, payloadBytes: 600, checkpointEvery: 2 }

const exploreOnThreeDevices = (configuration: Configuration, allowance?: Allowance) =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const registry = yield* makeRegistry
    const disks = yield* Effect.forEach(
      ["database", "journal", "wal"],
      (name) => registry.connect({ name, sizeSectors: 1024 })
    )
    const { devices, simulator } = yield* CrashSimulator.make({
      devices: disks.map((disk) => ({ device: disk, snapshots: disk })),
      seed: 3
    })
    const [database, journal, wal] = devices
    if (database === undefined || journal === undefined || wal === undefined) return yield* Effect.die("three devices")
    const storage = { database, journal, wal }
    const summary = yield* explore({
      workload: Effect.scoped(Effect.flatMap(
        sqlite.open(storage, configuration),
        (db) => runWorkload(db, configuration, workload, simulator.mark)
      )),
      check: checkRecovery(sqlite, storage, configuration, workload, allowance),
      limit: 24,
      torn: true
    }).pipe(Effect.provideService(CrashSimulator, simulator))
    return { summary, backends: simulator.backends }
  }).pipe(Effect.provide(SqliteLive))

describe("a database on three devices in one power domain", () => {
  it.effect.each([
    { journalMode: "WAL", synchronous: "FULL", sync: "flush" },
    { journalMode: "DELETE", synchronous: "EXTRA", sync: "flush" }
  ] as const)("$journalMode+$synchronous passes every state, torn writes included", (configuration) =>
    Effect.gen(function*() {
      const { backends, summary } = yield* exploreOnThreeDevices(configuration, "nothing")
      expect(backends).toEqual(["snapshot", "snapshot", "snapshot"])
      expect(summary.explored).toBeGreaterThan(0)
      expect(summary.violationCount, formatSummary(summary)).toBe(0)
    }))

  it.effect("DELETE+FULL loses at most the last acknowledged commit, and does lose it", () =>
    Effect.gen(function*() {
      const configuration = { journalMode: "DELETE", synchronous: "FULL", sync: "flush" } as const
      const documented = yield* exploreOnThreeDevices(configuration)
      expect(documented.summary.violationCount, formatSummary(documented.summary)).toBe(0)
      const strict = yield* exploreOnThreeDevices(configuration, "nothing")
      expect(strict.summary.violationsByKind).toEqual({ LostCommits: strict.summary.violationCount })
      expect(strict.summary.violationCount).toBeGreaterThan(0)
    }))

  it.effect("catches a VFS whose xSync does nothing", () =>
    Effect.gen(function*() {
      const { summary } = yield* exploreOnThreeDevices({ journalMode: "WAL", synchronous: "FULL", sync: "skip" }, "nothing")
      expect(summary.violationCount).toBeGreaterThan(0)
    }))
})
