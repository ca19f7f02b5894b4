/**
 * Damaged sectors (a torn write leaving its tear-point sector as garbage or
 * zeros) against the device characteristics the VFS reports: with the honest
 * report (none) WAL+FULL survives every state; a false claim of power-safe
 * overwrite lets SQLite write a new WAL frame into the sector holding the end
 * of the last synced one, and damage there loses acknowledged commits.
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { checkRecovery, type Configuration, runWorkload, Sqlite, SqliteLive, type Workload } from "@effect-block/sqlite"
import { CrashSimulator, CrashSimulatorLive, explore, formatSummary } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const workload: Workload = { commits: 4, payloadBytes: 600, checkpointEvery: 10 }

const exploreDamaged = (configuration: Configuration, damage: "zeros" | "garbage") =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    return yield* explore({
      workload: Effect.scoped(Effect.flatMap(
        sqlite.open(device, configuration),
        (db) => runWorkload(db, configuration, workload, simulator.mark)
      )),
      check: checkRecovery(sqlite, device, configuration, workload, "nothing"),
      seed: 9,
      limit: 32,
      torn: true,
      damage
    })
  }).pipe(Effect.provide(Layer.mergeAll(
    SqliteLive,
    CrashSimulatorLive({ seed: 9, backend: "snapshot" }).pipe(
      Layer.provide(RamdiskLive({ name: "db", sizeSectors: 2048 }).pipe(Layer.provide(RegistryLive)))
    )
  )))

describe("damaged torn writes", () => {
  it.effect.each(["garbage", "zeros"] as const)("WAL+FULL, claiming nothing, survives every state (%s)", (damage) =>
    Effect.gen(function*() {
      const summary = yield* exploreDamaged({ journalMode: "WAL", synchronous: "FULL", sync: "flush" }, damage)
      expect(summary.explored).toBeGreaterThan(0)
      expect(summary.violationCount, formatSummary(summary)).toBe(0)
    }))

  it.effect("catch a false claim of power-safe overwrite under WAL+FULL", () =>
    Effect.gen(function*() {
      const summary = yield* exploreDamaged(
        { journalMode: "WAL", synchronous: "FULL", sync: "flush", falseClaims: ["powersafe-overwrite"] },
        "garbage"
      )
      expect(summary.violationsByKind).toEqual({ LostCommits: summary.violationCount })
      expect(summary.violationCount).toBeGreaterThan(0)
    }))
})
