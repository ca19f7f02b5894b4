/**
 * The SQLite crash-testing benchmark of issue 11: the full workload (30
 * commits) of docs/sqlite-crash-testing.md, explored crash state by crash
 * state on the crash simulator over a ramdisk.
 *
 * - The matrix: every configuration (DELETE, WAL × OFF, NORMAL, FULL,
 *   EXTRA, and the broken VFS) with and without torn writes, at most
 *   `statesPerEpoch` states per epoch: states explored, violations of what
 *   SQLite documents, and strict violations (any acknowledged commit lost).
 * - The long run: 10,000 states of WAL+FULL with torn writes through the
 *   simulator's `explore` (which forgets explored history): states explored
 *   per second, the simulator's own share of the time (everything but
 *   SQLite's recovery and checks: `states`, `crash`, `forget`; target
 *   < 10%), and the peak growth of live memory over the run (target
 *   < 64 MB), sampled after a full collection every 500 states.
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import {
  type Allowance,
  allowanceOf,
  checkRecovery,
  type Configuration,
  nameOf,
  runWorkload,
  Sqlite,
  SqliteLive,
  type Workload
} from "@effect-block/sqlite"
import { CrashSimulator, CrashSimulatorLive, explore } from "@effect-block/testing"
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
    CrashSimulatorLive({ seed, backend: "snapshot" }).pipe(
      Layer.provide(RamdiskLive({ name: "sqlite-bench", sizeSectors: 8192 }).pipe(Layer.provide(RegistryLive)))
    )
  )

interface Exploration {
  readonly states: number
  readonly violations: number
  /** Milliseconds of the exploration after the workload (`states`, `crash`, `forget`, recovery, checks), sampling excluded. */
  readonly totalMs: number
  /** Milliseconds from the end of the workload to the first check: listing every epoch's states. */
  readonly listingMs: number
  /** Milliseconds in recovery and checks (SQLite's part). */
  readonly checkMs: number
  /** Peak live bytes above the level before the exploration (0 when not sampled). */
  readonly peakGrowth: number
}

/**
 * Runs the workload, then the simulator's `explore` over every epoch it
 * recorded, judging each recovery against `allowance`. Times the checks,
 * and samples live memory every `sampleEvery` states (the sampling's own
 * time is taken out of the total).
 */
const exploreCell = (
  configuration: Configuration,
  workload: Workload,
  options: {
    readonly torn: boolean
    readonly damage?: "garbage" | undefined
    readonly statesPerEpoch: number
    readonly allowance?: Allowance | undefined
    readonly maxStates?: number | undefined
    readonly sampleEvery?: number | undefined
  }
) =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    const check = checkRecovery(sqlite, device, configuration, workload, options.allowance)
    let checkMs = 0
    let samplingMs = 0
    const baseline = options.sampleEvery === undefined ? 0 : yield* liveBytes
    let peak = baseline
    let workloadEnd = 0
    let firstCheck = 0
    const summary = yield* explore({
      workload: Effect.scoped(Effect.flatMap(
        sqlite.open(device, configuration),
        (database) => runWorkload(database, configuration, workload, simulator.mark)
      )).pipe(Effect.ensuring(Effect.sync(() => workloadEnd = performance.now()))),
      check: (state) =>
        Effect.suspend(() => {
          const before = performance.now()
          if (firstCheck === 0) firstCheck = before
          return Effect.ensuring(check(state), Effect.sync(() => checkMs += performance.now() - before))
        }),
      seed: 21,
      limit: options.statesPerEpoch,
      torn: options.torn,
      damage: options.damage,
      maxStates: options.maxStates,
      ...(options.sampleEvery === undefined ? {} : {
        progressEvery: options.sampleEvery,
        onProgress: () =>
          Effect.gen(function*() {
            const before = performance.now()
            peak = Math.max(peak, yield* liveBytes)
            samplingMs += performance.now() - before
          })
      })
    })
    return {
      states: summary.explored,
      violations: summary.violationCount,
      totalMs: performance.now() - workloadEnd - samplingMs,
      listingMs: firstCheck === 0 ? 0 : firstCheck - workloadEnd,
      checkMs,
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
      const documented = yield* exploreCell(configuration, workload, { torn, statesPerEpoch }).pipe(
        Effect.provide(environment(21))
      )
      // Judged against "nothing" only where the allowance is looser; elsewhere both judgements agree.
      const loose = allowanceOf(configuration) === "last commit" || allowanceOf(configuration) === "since checkpoint"
      const strict = loose ?
        yield* exploreCell(configuration, workload, { torn, statesPerEpoch, allowance: "nothing" }).pipe(
          Effect.provide(environment(21))
        ) :
        documented
      rows.push(
        { name: `sqlite ${name}: states explored`, value: documented.states, unit: "states" },
        { name: `sqlite ${name}: beyond documented loss`, value: documented.violations, unit: "states" },
        { name: `sqlite ${name}: any acknowledged commit lost`, value: strict.violations, unit: "states" }
      )
    }
  }
  for (const falseClaims of [[], ["powersafe-overwrite"] as const]) {
    const configuration: Configuration = { journalMode: "WAL", synchronous: "FULL", sync: "flush", falseClaims }
    const name = `${nameOf(configuration)}, torn with garbage`
    yield* progress(`sqlite: ${name}`)
    const result = yield* exploreCell(configuration, workload, { torn: true, damage: "garbage", statesPerEpoch, allowance: "nothing" }).pipe(
      Effect.provide(environment(21))
    )
    rows.push(
      { name: `sqlite ${name}: states explored`, value: result.states, unit: "states" },
      { name: `sqlite ${name}: any acknowledged commit lost`, value: result.violations, unit: "states" }
    )
  }
  const longStates = quick ? 300 : 10_000
  yield* progress(`sqlite: ${longStates} states of WAL+FULL with torn writes`)
  const long = yield* exploreCell(
    { journalMode: "WAL", synchronous: "FULL", sync: "flush" },
    workload,
    { torn: true, statesPerEpoch: 300, maxStates: longStates, sampleEvery: quick ? 100 : 500 }
  ).pipe(Effect.provide(environment(22)))
  rows.push(
    {
      name: `sqlite WAL+FULL torn, ${long.states} states: explored per second`,
      value: long.states / (long.totalMs / 1000),
      unit: "states/s"
    },
    {
      name: `sqlite WAL+FULL torn: simulator's share (states + crash + forget) of exploration time`,
      value: 100 * (long.totalMs - long.checkMs) / long.totalMs,
      unit: "%",
      target: quick ? undefined : below(10)
    },
    {
      name: `sqlite WAL+FULL torn: peak live-memory growth over ${long.states} states`,
      value: long.peakGrowth / (1024 * 1024),
      unit: "MB",
      target: quick ? undefined : below(64)
    },
    {
      name: `sqlite WAL+FULL torn: of which listing the states (states(), before the first crash)`,
      value: 100 * long.listingMs / long.totalMs,
      unit: "%"
    },
    { name: `sqlite WAL+FULL torn: SQLite recovery + check per state`, value: 1000 * long.checkMs / long.states, unit: "µs" },
    { name: `sqlite WAL+FULL torn: violations (expected 0)`, value: long.violations, unit: "states" }
  )
  return rows
})

/** The SQLite suite for `npm run bench`. */
export const suite: Suite = { name: "sqlite", run: sqliteBench }
