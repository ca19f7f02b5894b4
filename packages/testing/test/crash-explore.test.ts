/**
 * `explore` and `exploreWorkloads`: the crash-test loop as a library
 * function, over a tiny log-structured store (a header sector that counts
 * records, and one record per sector after it).
 */
import { BlockDevice, type BlockDeviceShape } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import {
  CrashSimulator,
  CrashSimulatorLive,
  explore,
  type ExploreProgress,
  exploreWorkloads,
  formatSummary
} from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Data, Effect, Layer, Schema } from "effect"

const sectorSize = 512

class Corrupt extends Data.TaggedError("Corrupt")<{ readonly message: string }> {}
class Lost extends Data.TaggedError("Lost")<{ readonly message: string }> {}

/** Appends `values` as records after `count` committed ones, then points the header at them. */
const commit = (device: BlockDeviceShape, count: number, values: ReadonlyArray<number>, flushBetween: boolean) =>
  Effect.gen(function*() {
    for (const [i, value] of values.entries()) yield* device.write(1 + count + i, new Uint8Array(sectorSize).fill(value))
    if (flushBetween) yield* device.flush
    yield* device.write(0, new Uint8Array(sectorSize).fill(count + values.length))
    yield* device.flush
  })

/** Commits every batch, marking each acknowledgement with the record count it made durable. */
const workload = (batches: ReadonlyArray<ReadonlyArray<number>>, flushBetween: boolean) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    let count = 0
    for (const batch of batches) {
      yield* commit(device, count, batch, flushBetween)
      count += batch.length
      yield* simulator.mark(String(count))
    }
  })

/** Recovery check: every record the header counts is there, and at least what was acknowledged. */
const check = (marks: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const header = new Uint8Array(sectorSize)
    yield* device.read(0, header)
    const count = header[0] ?? 0
    const acknowledged = Number(marks[marks.length - 1] ?? "0")
    if (count < acknowledged) return yield* new Lost({ message: `${acknowledged} records acknowledged, ${count} recovered` })
    for (let s = 1; s <= count; s++) {
      const record = new Uint8Array(sectorSize)
      yield* device.read(s, record)
      if (record[0] === 0) return yield* new Corrupt({ message: `header counts ${count} records, record ${s} is missing` })
    }
  })

const Disk = () => RamdiskLive({ name: "store", sizeSectors: 64 }).pipe(Layer.provide(RegistryLive))
const CrashDisk = () => CrashSimulatorLive({ backend: "snapshot" }).pipe(Layer.provide(Disk()))

describe("explore", () => {
  it.effect("finds the ordering bug, counts the states and violations by kind, and prints a replay", () =>
    Effect.gen(function*() {
      const summary = yield* explore({ workload: workload([[5], [6, 7]], false), check: (state) => check(state.marks) })
      expect(summary.explored).toBeGreaterThan(0)
      expect(summary.exhaustive).toBe(true)
      expect(summary.violationCount).toBeGreaterThan(0)
      expect(Object.keys(summary.violationsByKind)).toEqual(["Corrupt"])
      expect(summary.violations[0]?.state.landed).not.toContain(0)
      expect(summary.statesPerSecond).toBeGreaterThan(0)
      expect(summary.simulatorMillis).toBeGreaterThanOrEqual(0)
      expect(summary.simulatorMillis).toBeLessThanOrEqual(summary.elapsedMillis)
      const text = formatSummary(summary)
      expect(text).toContain("violations (Corrupt:")
      expect(text).toContain("replay: explore({ seed: 0, only: { epoch:")
      expect(text).toContain("lost   write device 0 sector 1")
    }).pipe(Effect.provide(CrashDisk())))

  it.effect("passes every state of the correct store, and forgets the history it explored", () =>
    Effect.gen(function*() {
      const simulator = yield* CrashSimulator
      const summary = yield* explore({ workload: workload([[5], [6, 7], [8]], true), check: (state) => check(state.marks) })
      expect(summary.violationCount).toBe(0)
      expect(summary.explored).toBeGreaterThan(10)
      expect(summary.epochs).toBe(7)
      expect(yield* simulator.firstEpoch).toBe((yield* simulator.epochs) - 1)
    }).pipe(Effect.provide(CrashDisk())))

  it.effect("replays exactly one state with `only`", () =>
    Effect.gen(function*() {
      // Each exploration gets its own simulator and disk (provided one after the other, never nested).
      const first = yield* explore({ workload: workload([[5], [6, 7]], false), check: (state) => check(state.marks) }).pipe(
        Effect.provide(CrashDisk())
      )
      const violation = first.violations[0]
      if (violation === undefined) return expect.unreachable("a violation was expected")
      const replayed = yield* explore({
        workload: workload([[5], [6, 7]], false),
        check: (state) => check(state.marks),
        seed: first.seed,
        only: { epoch: violation.state.epoch, index: violation.index }
      }).pipe(Effect.provide(CrashDisk()))
      expect(replayed.explored).toBe(1)
      expect(replayed.violations[0]?.state.toString()).toBe(violation.state.toString())
    }))

  it.effect("reports progress and stops after `stopAfter` violations", () =>
    Effect.gen(function*() {
      const reports: Array<ExploreProgress> = []
      const summary = yield* explore({
        workload: workload([[1], [2], [3], [4]], false),
        check: (state) => check(state.marks),
        stopAfter: 2,
        progressEvery: 1,
        onProgress: (progress) => Effect.sync(() => reports.push(progress))
      })
      expect(summary.violationCount).toBe(2)
      expect(summary.stoppedEarly).toBe(true)
      expect(reports.length).toBeGreaterThan(0)
      expect(reports[reports.length - 1]?.explored).toBe(summary.explored)
    }).pipe(Effect.provide(CrashDisk())))
})

describe("explore's budget and clock", () => {
  it.effect("lists no epoch's states once `maxStates` states are listed", () =>
    Effect.gen(function*() {
      const simulator = yield* CrashSimulator
      let listings = 0
      // The same simulator, counting the epochs explore asks states() for.
      const counting = CrashSimulator.of({ ...simulator, states: (options) => Effect.tap(simulator.states(options), () => Effect.sync(() => listings++)) })
      const summary = yield* explore({
        workload: workload([[1], [2], [3], [4], [5], [6], [7], [8]], true),
        check: (state) => check(state.marks),
        maxStates: 2
      }).pipe(Effect.provideService(CrashSimulator, counting))
      expect(summary.epochs).toBeGreaterThan(8)
      expect(summary.explored).toBe(2)
      expect(summary.stoppedEarly).toBe(true)
      expect(summary.exhaustive).toBe(false)
      expect(listings).toBe(1)
    }).pipe(Effect.provide(CrashDisk())))

  it.effect("reports real elapsed time and rate, whatever Effect's Clock says (it.effect's TestClock stands still)", () =>
    Effect.gen(function*() {
      const summary = yield* explore({ workload: workload([[5], [6, 7], [8]], true), check: (state) => check(state.marks) })
      expect(summary.elapsedMillis).toBeGreaterThan(0)
      expect(Number.isFinite(summary.statesPerSecond)).toBe(true)
      expect(summary.statesPerSecond).toBeGreaterThan(0)
    }).pipe(Effect.provide(CrashDisk())))
})

describe("exploreWorkloads", () => {
  const Value = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 200 }))
  const Batches = Arbitrary.array(Arbitrary.array(Arbitrary.schema(Value), { minLength: 1, maxLength: 4 }), {
    minLength: 1,
    maxLength: 5
  })

  it.effect("shrinks a failing workload to a single commit of a single record, with a replay token", () =>
    Effect.gen(function*() {
      const { report, result } = yield* exploreWorkloads({
        arbitrary: Batches,
        layer: CrashDisk(),
        workload: (batches) => workload(batches, false),
        check: (_batches, state) => check(state.marks),
        runs: 10,
        seed: 3
      })
      expect(result._tag).toBe("Falsified")
      if (result._tag === "Falsified") expect(result.shrunkInput).toEqual([[1]])
      expect(report).toContain("Replay:")
      expect(report).toContain("violations (Corrupt:")
    }), { timeout: 30_000 })

  it.effect("passes the correct store on every generated workload", () =>
    Effect.gen(function*() {
      const { result } = yield* exploreWorkloads({
        arbitrary: Batches,
        layer: CrashDisk(),
        workload: (batches) => workload(batches, true),
        check: (_batches, state) => check(state.marks),
        torn: true,
        runs: 10,
        seed: 4
      })
      expect(result._tag).toBe("Passed")
    }), { timeout: 30_000 })
})
