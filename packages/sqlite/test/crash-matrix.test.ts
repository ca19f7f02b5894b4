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
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

/** Small enough for `npm test`; `npm run bench` runs the full 30-commit workload. */
const workload: Workload = { commits: 3, payloadBytes: 600, checkpointEvery: 2 }
const statesPerEpoch = 24

interface Tally {
  readonly states: number
  readonly corrupt: number
  readonly lost: number
  /** States judged against the strictest allowance ("nothing"): what shows a configuration is caught. */
  readonly strictViolations: number
  readonly firstViolation: string | undefined
}

/**
 * A test-local exploration loop (until the simulator's own helper lands):
 * run the workload, then crash into the states of every recorded epoch,
 * recover and judge each.
 */
const explore = (configuration: Configuration, torn: boolean, seed: number) =>
  Effect.gen(function*() {
    const sqlite = yield* Sqlite
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    const options = { journalMode: configuration.journalMode, synchronous: configuration.synchronous, sync: configuration.sync }
    yield* Effect.scoped(Effect.flatMap(
      sqlite.open(device, options),
      (database) => runWorkload(database, configuration, workload, simulator.mark)
    ))
    const allowance = allowanceOf(configuration)
    const epochs = yield* simulator.epochs
    let states = 0
    let corrupt = 0
    let lost = 0
    let strictViolations = 0
    let firstViolation: string | undefined
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const state of yield* simulator.states({ epoch, torn, limit: statesPerEpoch, seed })) {
        yield* simulator.crash(state)
        const recovery = yield* recover(sqlite, device, configuration, workload, state.marks)
        states++
        const outcome = judge(recovery, allowance)
        if (outcome === "corrupt") corrupt++
        if (outcome === "lost") lost++
        if (judge(recovery, "nothing") !== "ok") {
          strictViolations++
          firstViolation ??= `${state} (seed ${seed}): kept ${recovery.kept} of ${recovery.acknowledged} ` +
            `acknowledged commits${recovery.corruption === undefined ? "" : `; ${recovery.corruption}`}`
        }
      }
    }
    return { states, corrupt, lost, strictViolations, firstViolation } satisfies Tally
  }).pipe(
    Effect.provide(Layer.mergeAll(
      SqliteLive,
      CrashSimulatorLive({ seed }).pipe(
        Layer.provide(RamdiskLive({ name: "db", sizeSectors: 2048 }).pipe(Layer.provide(RegistryLive)))
      )
    ))
  )

const cell = (journalMode: Configuration["journalMode"], synchronous: Configuration["synchronous"], sync: Configuration["sync"] = "flush") =>
  ({ journalMode, synchronous, sync }) satisfies Configuration

describe("crash matrix", () => {
  for (const torn of [false, true]) {
    const suffix = torn ? "with torn writes" : "without torn writes"

    it.effect.each([cell("DELETE", "OFF"), cell("WAL", "OFF")])(`catches synchronous=OFF: %s ${suffix}`, (configuration) =>
      Effect.gen(function*() {
        const tally = yield* explore(configuration, torn, 11)
        expect(tally.states).toBeGreaterThan(0)
        expect(tally.strictViolations, nameOf(configuration)).toBeGreaterThan(0)
      }))

    it.effect.each([cell("DELETE", "EXTRA", "skip"), cell("WAL", "FULL", "skip")])(
      `catches a VFS whose xSync does nothing: %s ${suffix}`,
      (configuration) =>
        Effect.gen(function*() {
          const tally = yield* explore(configuration, torn, 12)
          expect(tally.strictViolations, nameOf(configuration)).toBeGreaterThan(0)
        })
    )

    it.effect.each([cell("WAL", "FULL"), cell("WAL", "EXTRA"), cell("DELETE", "EXTRA")])(
      `passes every state: %s ${suffix}`,
      (configuration) =>
        Effect.gen(function*() {
          const tally = yield* explore(configuration, torn, 13)
          expect(tally.states).toBeGreaterThan(0)
          expect(tally.firstViolation, nameOf(configuration)).toBeUndefined()
        })
    )

    it.effect(`DELETE+FULL loses at most the last acknowledged commit, and does lose it ${suffix}`, () =>
      Effect.gen(function*() {
        const tally = yield* explore(cell("DELETE", "FULL"), torn, 14)
        expect(tally.corrupt).toBe(0)
        expect(tally.lost).toBe(0)
        expect(tally.strictViolations).toBeGreaterThan(0)
      }))

    it.effect(`DELETE+NORMAL loses at most the last acknowledged commit ${suffix}`, () =>
      Effect.gen(function*() {
        const tally = yield* explore(cell("DELETE", "NORMAL"), torn, 16)
        expect(tally.corrupt).toBe(0)
        expect(tally.lost).toBe(0)
      }))

    it.effect(`WAL+NORMAL loses only commits since the last checkpoint, never corrupts ${suffix}`, () =>
      Effect.gen(function*() {
        const tally = yield* explore(cell("WAL", "NORMAL"), torn, 15)
        expect(tally.corrupt).toBe(0)
        expect(tally.lost).toBe(0)
        expect(tally.strictViolations).toBeGreaterThan(0)
      }))
  }
})
