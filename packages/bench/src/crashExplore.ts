/**
 * The crash-exploration benchmark of issue 11: `explore` over 10,000 crash
 * states of a small log-structured workload, reporting states explored per
 * second and how much the live heap grows while it runs (target < 64 MiB:
 * the simulator forgets the history it has explored). The same exploration
 * through a hand-written loop that never forgets is reported alongside, for
 * information: that is what long explorations cost before `forget`.
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulator, CrashSimulatorLive, explore } from "@effect-block/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { below, liveBytes, progress, Quick, type Row, type Suite } from "./harness.js"

const sectorSize = 512
const recordSectors = 2
const recordsPerCommit = 3

/** Commits of three two-sector records, then a header pointing past them; no flush between (many states per epoch). */
const workload = (commits: number) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    const record = new Uint8Array(recordSectors * sectorSize)
    const header = new Uint8Array(sectorSize)
    let count = 0
    for (let c = 0; c < commits; c++) {
      for (let r = 0; r < recordsPerCommit; r++) {
        record.fill((count + r) % 251 + 1)
        yield* device.write(1 + (count + r) * recordSectors, record)
      }
      count += recordsPerCommit
      header.fill(count % 251)
      yield* device.write(0, header)
      yield* device.flush
      yield* simulator.mark(`commit ${c}`)
    }
  })

/** What a recovery reads: the header and the last record it points at. */
const check = Effect.gen(function*() {
  const device = yield* BlockDevice
  const header = new Uint8Array(sectorSize)
  yield* device.read(0, header)
  const record = new Uint8Array(recordSectors * sectorSize)
  yield* device.read(1, record)
})

const layer = (sizeSectors: number) =>
  CrashSimulatorLive({ backend: "snapshot" }).pipe(
    Layer.provide(RamdiskLive({ name: "explore-bench", sizeSectors }).pipe(Layer.provide(RegistryLive)))
  )

/** `explore` with a heap sample every 1,000 states; returns states, states/s and the peak growth in bytes. */
const measured = (commits: number, states: number) =>
  Effect.gen(function*() {
    const before = yield* liveBytes
    let peak = before
    const summary = yield* explore({
      workload: workload(commits),
      check: () => check,
      torn: true,
      maxStates: states,
      progressEvery: 1000,
      onProgress: () =>
        Effect.map(liveBytes, (bytes) => {
          peak = Math.max(peak, bytes)
        })
    })
    peak = Math.max(peak, yield* liveBytes)
    return {
      explored: summary.explored,
      statesPerSecond: summary.statesPerSecond,
      simulatorShare: summary.elapsedMillis > 0 ? summary.simulatorMillis / summary.elapsedMillis : 0,
      growth: peak - before
    }
  })

/** The same states through a loop that never forgets the history; returns the heap growth in bytes. */
const unforgetting = (commits: number, states: number) =>
  Effect.gen(function*() {
    const simulator = yield* CrashSimulator
    const before = yield* liveBytes
    yield* workload(commits)
    const epochs = yield* simulator.epochs
    let explored = 0
    for (let epoch = 0; epoch < epochs && explored < states; epoch++) {
      for (const state of yield* simulator.states({ epoch, torn: true, seed: epoch })) {
        if (explored >= states) break
        yield* simulator.crash(state)
        yield* check
        yield* (yield* BlockDevice).flush
        explored++
      }
    }
    return (yield* liveBytes) - before
  })

const mib = (bytes: number) => bytes / (1024 * 1024)

/** Measures exploration speed and memory, and returns the benchmark rows. */
export const crashExploreBench: Effect.Effect<ReadonlyArray<Row>, unknown> = Effect.gen(function*() {
  const quick = yield* Quick
  const states = quick ? 300 : 10_000
  // 3 records of 2 sectors plus the header: 7 landing bits, 128 states per commit epoch.
  const commits = Math.ceil(states / 100)
  const sizeSectors = 1 + commits * recordsPerCommit * recordSectors + 16
  yield* progress(`crash-explore: explore ${states} crash states of a ${commits}-commit workload`)
  const result = yield* measured(commits, states).pipe(Effect.provide(layer(sizeSectors)))
  yield* progress(`crash-explore: the same states without forgetting history (info)`)
  const kept = yield* unforgetting(commits, states).pipe(Effect.provide(layer(sizeSectors)))
  return [
    {
      name: `crash-explore: explore ${result.explored} states (snapshot backend, torn), states/s`,
      value: result.statesPerSecond,
      unit: "states/s"
    },
    {
      name: `crash-explore: the simulator's share of the exploration time (states + crash), info`,
      value: result.simulatorShare * 100,
      unit: "%"
    },
    {
      name: `crash-explore: peak live-heap growth over ${result.explored} states`,
      value: mib(result.growth),
      unit: "MiB",
      target: quick ? undefined : below(64)
    },
    {
      name: `crash-explore: heap growth of the same states never forgetting history (info)`,
      value: mib(kept),
      unit: "MiB"
    }
  ]
})

/** The crash-explore suite for `npm run bench`. */
export const suite: Suite = { name: "crash-explore", run: crashExploreBench }
