/**
 * The SQLite crash-testing benchmark of issue 11: the full workload (30
 * commits) of docs/sqlite-crash-testing.md, explored crash state by crash
 * state on the crash simulator over a ramdisk.
 *
 * - The matrix: every configuration (DELETE, WAL × OFF, NORMAL, FULL,
 *   EXTRA, and the broken VFS) with and without torn writes, at most
 *   `statesPerEpoch` states per epoch: states explored, violations of what
 *   SQLite documents, and strict violations (any acknowledged commit lost).
 * - The long run: 10,000 states of WAL+FULL with torn writes, timed in
 *   parts: states explored per second, the simulator's own share of the
 *   time (`states` + `crash`, target < 10%), and the peak growth of live
 *   memory over the run (target < 64 MB), sampled after a full collection.
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import {
  allowanceOf,
  type Configuration,
  judge,
  nameOf,
  recover,
  runWorkload,
  Sqlite,
  SqliteLive,
  type Workload
} from "@effect-block/sqlite"
import { CrashSimulator, CrashSimulatorLive } from "@effect-block/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { below, liveBytes, progress, Quick, type Row, type Suite } from "./harness.js"

const fullWorkload: Workload = { commits: 30, payloadBytes: 600, checkpointEvery: 10 }
const quickWorkload: Workload = { commits: 3, payloadBytes: 600, checkpointEvery: 2 }

const configurations: ReadonlyArray<Configuration> = [
  ...(["DELETE", "WAL"] as const).flatMap((journalMode) =>
    (["OFF", "NORMAL", "FULL", "EXTRA"] as const).map((synchronous) => ({ journalMode, synchronous, sync: "flush" as const }))
  ),
  { journalMode: "DELETE", synchronous: "EXTRA", sync: "skip" },
  { journalMode: "WAL", synchronous: "FULL", sync: "skip" }
]

const environment = (seed: number) =>
  Layer.mergeAll(
    SqliteLive,
    CrashSimulatorLive({ seed }).pipe(
      Layer.provide(RamdiskLive({ name: "sqlite-bench", sizeSectors: 8192 }).pipe(Layer.provide(RegistryLive)))
    )
  )

interface Exploration {
  readonly states: number
  readonly violations: number
  readonly strictViolations: number
  /** Milliseconds in the simulator's `states` and `crash`. */
  readonly simulatorMs: number
  /** Milliseconds of the whole exploration (simulator, recovery, checks). */
  readonly totalMs: number
  /** Peak live bytes above the level before the exploration (0 when not sampled). */
  readonly peakGrowth: number
}

/**
 * Runs the workload, then crashes into states epoch by epoch (cycling over
 * the epochs of the workload with a new seed each round) until `maxStates`
 * are explored or, when `maxStates` is undefined, every epoch was explored
 * once. Samples live memory every `sampleEvery` states (outside the timing).
 */
const explore = (
  configuration: Configuration,
  workload: Workload,
  options: {
    readonly torn: boolean
    readonly statesPerEpoch: number
    readonly maxStates?: number | undefined
    readonly sampleEvery?: number | undefined
  }
) =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    const openOptions = {
      journalMode: configuration.journalMode,
      synchronous: configuration.synchronous,
      sync: configuration.sync
    }
    yield* Effect.scoped(Effect.flatMap(
      sqlite.open(device, openOptions),
      (database) => runWorkload(database, configuration, workload, simulator.mark)
    ))
    const allowance = allowanceOf(configuration)
    const epochs = yield* simulator.epochs
    const baseline = options.sampleEvery === undefined ? 0 : yield* liveBytes
    let peak = baseline
    let states = 0
    let violations = 0
    let strictViolations = 0
    let simulatorMs = 0
    let totalMs = 0
    const limit = options.maxStates ?? Number.POSITIVE_INFINITY
    for (let round = 0; states < limit; round++) {
      for (let epoch = 0; epoch < epochs && states < limit; epoch++) {
        const started = performance.now()
        const found = yield* simulator.states({ epoch, torn: options.torn, limit: options.statesPerEpoch, seed: round + 1 })
        simulatorMs += performance.now() - started
        totalMs += performance.now() - started
        for (const state of found) {
          if (states >= limit) break
          const before = performance.now()
          yield* simulator.crash(state)
          const crashed = performance.now()
          const recovery = yield* recover(sqlite, device, configuration, workload, state.marks)
          if (judge(recovery, allowance) !== "ok") violations++
          if (judge(recovery, "nothing") !== "ok") strictViolations++
          simulatorMs += crashed - before
          totalMs += performance.now() - before
          states++
          if (options.sampleEvery !== undefined && states % options.sampleEvery === 0) {
            peak = Math.max(peak, yield* liveBytes)
          }
        }
      }
      if (options.maxStates === undefined) break
    }
    return {
      states,
      violations,
      strictViolations,
      simulatorMs,
      totalMs,
      peakGrowth: peak - baseline
    } satisfies Exploration
  })

/** The matrix and the long run, as benchmark rows. */
export const sqliteBench: Effect.Effect<ReadonlyArray<Row>, unknown> = Effect.gen(function*() {
  const quick = yield* Quick
  const workload = quick ? quickWorkload : fullWorkload
  const statesPerEpoch = quick ? 8 : 16
  const rows: Array<Row> = []
  for (const configuration of configurations) {
    for (const torn of [false, true]) {
      const name = `${nameOf(configuration)}${torn ? ", torn" : ""}`
      yield* progress(`sqlite: ${name}`)
      const result = yield* explore(configuration, workload, { torn, statesPerEpoch }).pipe(
        Effect.provide(environment(21))
      )
      rows.push(
        { name: `sqlite ${name}: states explored`, value: result.states, unit: "states" },
        { name: `sqlite ${name}: beyond documented loss`, value: result.violations, unit: "states" },
        { name: `sqlite ${name}: any acknowledged commit lost`, value: result.strictViolations, unit: "states" }
      )
    }
  }
  const longStates = quick ? 300 : 10_000
  yield* progress(`sqlite: ${longStates} states of WAL+FULL with torn writes`)
  const long = yield* explore(
    { journalMode: "WAL", synchronous: "FULL", sync: "flush" },
    workload,
    { torn: true, statesPerEpoch: 128, maxStates: longStates, sampleEvery: quick ? 100 : 500 }
  ).pipe(Effect.provide(environment(22)))
  rows.push(
    { name: `sqlite WAL+FULL torn, ${long.states} states: explored per second`, value: long.states / (long.totalMs / 1000), unit: "states/s" },
    {
      name: `sqlite WAL+FULL torn: simulator's share (states + crash) of exploration time`,
      value: 100 * long.simulatorMs / long.totalMs,
      unit: "%",
      target: quick ? undefined : below(10)
    },
    {
      name: `sqlite WAL+FULL torn: peak live-memory growth over ${long.states} states`,
      value: long.peakGrowth / (1024 * 1024),
      unit: "MB",
      target: quick ? undefined : below(64)
    },
    { name: `sqlite WAL+FULL torn: violations (expected 0)`, value: long.violations, unit: "states" }
  )
  return rows
})

/** The SQLite suite for `npm run bench`. */
export const suite: Suite = { name: "sqlite", run: sqliteBench }
