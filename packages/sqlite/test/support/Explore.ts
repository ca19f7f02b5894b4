/**
 * The crash tests' one exploration: open the database on a 2048-sector
 * ramdisk under a snapshot-backed crash simulator, run the workload, and
 * explore every epoch it recorded, judging each recovery with
 * `checkRecovery` against `allowance` (the configuration's own when absent).
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { type Allowance, checkRecovery, type Configuration, runWorkload, Sqlite, SqliteLive, type Workload } from "@effect-block/sqlite"
import { CrashSimulator, CrashSimulatorLive, explore } from "@effect-block/testing"
import { Effect, Layer } from "effect"

/** What one exploration runs and how widely it looks. */
export interface ExploreSqlite {
  readonly configuration: Configuration
  readonly workload: Workload
  /** Seeds both the simulator and the exploration. */
  readonly seed: number
  /** States listed per epoch. */
  readonly limit: number
  readonly torn: boolean
  readonly damage?: "zeros" | "garbage"
  readonly allowance?: Allowance
}

/** Runs `options.workload` and explores its crash states; the summary says what was found. */
export const exploreSqlite = (options: ExploreSqlite) =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    const { configuration, workload } = options
    return yield* explore({
      workload: Effect.scoped(Effect.flatMap(
        sqlite.open(device, configuration),
        (database) => runWorkload(database, configuration, workload, simulator.mark)
      )),
      check: checkRecovery(sqlite, device, configuration, workload, options.allowance),
      seed: options.seed,
      limit: options.limit,
      torn: options.torn,
      ...(options.damage === undefined ? {} : { damage: options.damage })
    })
  }).pipe(Effect.provide(Layer.mergeAll(
    SqliteLive,
    CrashSimulatorLive({ seed: options.seed, backend: "snapshot" }).pipe(
      Layer.provide(RamdiskLive({ name: "db", sizeSectors: 2048 }).pipe(Layer.provide(RegistryLive)))
    )
  )))
