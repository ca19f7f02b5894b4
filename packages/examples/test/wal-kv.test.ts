import { WalKv } from "@effect-block/examples"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulator, CrashSimulatorLive, FaultInjector, FaultInjectorLive } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Layer, Schema } from "effect"

const Disk = () => RamdiskLive({ name: "wal", sizeSectors: 128 }).pipe(Layer.provide(RegistryLive))
const CrashDisk = () => CrashSimulatorLive({ seed: 1 }).pipe(Layer.provide(Disk()))

const workload: WalKv.Workload = [
  [["apple", "1"], ["banana", "2"], ["cherry", "3"]],
  [["apple", "4"], ["date", "5"]],
  [["elderberry", "6"], ["fig", "7"], ["banana", "8"]]
]

/** Runs `workload` on a fresh crash-simulated disk, then explores every crash state it recorded. */
const explore = (variant: WalKv.Variant, work: WalKv.Workload, options: WalKv.ExploreOptions = {}) =>
  Effect.gen(function*() {
    yield* WalKv.runWorkload(variant, work)
    return yield* WalKv.exploreCrashes(work, options)
  }).pipe(Effect.provide(CrashDisk()))

const Key = Schema.Literals(["a", "b", "c", "d"])
const Value = Schema.Literals(["1", "2", "3"])
const Entry = Arbitrary.all([Arbitrary.schema(Key), Arbitrary.schema(Value)])
const Workloads = Arbitrary.array(Arbitrary.array(Entry, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 })

/** The property both variants are held to: every crash state of the workload recovers the committed keys. */
const survivesEveryCrash = (variant: WalKv.Variant) => (work: ReadonlyArray<ReadonlyArray<readonly [string, string]>>) =>
  Effect.map(explore(variant, work, { torn: true }), (result) => result.violation === undefined)

describe("WAL key-value store", () => {
  describe("commit", () => {
    it.effect("makes the entries visible and recoverable once acknowledged", () =>
      Effect.gen(function*() {
        const store = yield* WalKv.open("correct")
        yield* store.commit([["k", "v"], ["j", "w"]])
        expect([...(yield* store.entries)]).toEqual([["k", "v"], ["j", "w"]])
        expect([...(yield* WalKv.recover).entries]).toEqual([["k", "v"], ["j", "w"]])
      }).pipe(Effect.provide(Disk())))

    it.effect("fails InvalidRequest for an entry larger than a sector, writing nothing", () =>
      Effect.gen(function*() {
        const store = yield* WalKv.open("correct")
        const error = yield* Effect.flip(store.commit([["k", "x".repeat(600)]]))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("512-byte sector")
        expect((yield* WalKv.recover).count).toBe(0)
      }).pipe(Effect.provide(Disk())))
  })

  describe("correct variant under CrashSimulator", () => {
    it.effect("recovers exactly the committed keys in every crash state", () =>
      Effect.gen(function*() {
        const result = yield* explore("correct", workload)
        expect(result.violation?.message).toBeUndefined()
        // Each commit has two epochs (log, then header) of 2^k states each; all are checked.
        expect(result.explored).toBeGreaterThanOrEqual(12)
      }))

    it.effect("recovers exactly the committed keys with torn writes too", () =>
      Effect.gen(function*() {
        const result = yield* explore("correct", workload, { torn: true })
        expect(result.violation?.message).toBeUndefined()
        expect(result.explored).toBeGreaterThan(20)
      }))

    it.effect.prop("survives every crash state of any workload", [Workloads], ([work]) => survivesEveryCrash("correct")(work), {
      timeout: 60_000,
      arbitrary: { runs: 30, seed: 7 }
    })
  })

  describe("buggy variant under CrashSimulator", () => {
    it.effect("is caught within the first states explored", () =>
      Effect.gen(function*() {
        const result = yield* explore("buggy", workload)
        expect(result.violation).toBeDefined()
        // none, all, log-only, then header-only: the fourth state of the first epoch.
        expect(result.violation?.index).toBeLessThan(4)
        expect(result.violation?.state.landed).toEqual([1])
        expect(result.violation?.message).toMatch(/recovery failed: recover: record at sector \d+ is missing/)
      }))

    it.effect("shrinks to a one-entry reproduction that replays from its seed", () =>
      Effect.gen(function*() {
        const seed = 20240601
        // One run at a large size: the first failing workload is big, so the shrinking is visible.
        const result = yield* Arbitrary.checkEffect(Workloads, survivesEveryCrash("buggy"), { seed, runs: 1, size: 50 })
        expect(result._tag).toBe("Falsified")
        if (result._tag !== "Falsified") return
        const entries = (work: WalKv.Workload) => work.flat().length
        expect(entries(result.initialInput)).toBeGreaterThan(1)
        expect(result.shrinks).toBeGreaterThan(0)
        // A failure report a user would paste into a bug: the shrunk workload, the seed, the replay token.
        const report = `${Arbitrary.formatCheckFailure(result) ?? ""}\nSeed: ${seed}`
        expect(report).toContain("Shrunk input")
        expect(result.shrunkInput).toEqual([[result.shrunkInput[0]?.[0]]])
        const replayed = yield* Arbitrary.checkEffect(Workloads, survivesEveryCrash("buggy"), { replay: result.replay })
        expect(replayed._tag).toBe("Falsified")
        if (replayed._tag === "Falsified") expect(replayed.shrunkInput).toEqual(result.shrunkInput)
      }), 60_000)
  })

  describe("under FaultInjector read errors", () => {
    const FaultyCrashDisk = () =>
      FaultInjectorLive({ seed: 3, readErrorRate: 0.3 }).pipe(Layer.provideMerge(CrashDisk()))

    it.effect("recovery fails only with injected IOErrors, and recovers the committed keys once they stop", () =>
      Effect.gen(function*() {
        const injector = yield* FaultInjector
        const simulator = yield* CrashSimulator
        yield* injector.setEnabled(false)
        yield* WalKv.runWorkload("correct", workload)
        const epochs = yield* simulator.epochs
        let failures = 0
        let explored = 0
        for (let epoch = 0; epoch < epochs; epoch++) {
          for (const state of yield* simulator.states({ epoch })) {
            explored++
            yield* simulator.crash(state)
            const acked = state.marks.length
            yield* injector.clearLedger
            yield* injector.setEnabled(true)
            const outcome = yield* Effect.result(WalKv.recover)
            yield* injector.setEnabled(false)
            const ledger = yield* injector.ledger
            if (outcome._tag === "Failure") {
              failures++
              // A failed recovery is explained by an injected fault, never by lost data.
              expect(outcome.failure._tag).toBe("IOError")
              expect(ledger.some((fault) => fault.operation === "read")).toBe(true)
            }
            // With the faults off, the same state recovers the committed keys: the faults damaged nothing.
            const clean = (yield* WalKv.recover).entries
            const must = new Map(workload.slice(0, acked).flat())
            const may = new Map(workload.slice(0, acked + 1).flat())
            const matches = (m: Map<string, string>) => m.size === clean.size && [...m].every(([k, v]) => clean.get(k) === v)
            expect(matches(must) || matches(may)).toBe(true)
          }
        }
        expect(explored).toBeGreaterThanOrEqual(12)
        // At a 30% read error rate some recoveries must have failed, or the faults never reached the store.
        expect(failures).toBeGreaterThan(0)
      }).pipe(Effect.provide(FaultyCrashDisk())))
  })
})
