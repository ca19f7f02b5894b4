/**
 * The crash-simulation benchmark of issue 3: exploring 1,000 crash states of
 * a workload with 10 pending writes on a 64 MiB ramdisk must take < 1 s.
 *
 * The workload first fills part of the disk durably (so the snapshots have
 * something to share), then leaves 10 random 4 KiB writes pending. The
 * timed part is what a crash test does: ask for 1,000 states, then for each
 * one crash into it and read back the 10 written ranges, as a recovery would.
 * The same exploration over the journal backend (any device that is not a
 * ramdisk) is reported alongside, for information.
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulator, CrashSimulatorLive } from "@effect-block/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { below, progress, Quick, randomBlocks, type Row, type Suite, timed } from "./harness.js"

const sectorSize = 512
const sizeSectors = 64 * 1024 * 1024 / sectorSize
const blockSectors = 8
const pendingWrites = 10

/** Durable fill, pending writes, then the timed exploration; returns the time in ms and the state count. */
const explore = (states: number, durableWrites: number) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const simulator = yield* CrashSimulator
    const block = new Uint8Array(blockSectors * sectorSize)
    const blocks = sizeSectors / blockSectors
    for (const [i, at] of randomBlocks(1, durableWrites, blocks).entries()) {
      block.fill(i % 251)
      yield* device.write(at * blockSectors, block)
    }
    yield* device.flush
    const targets = randomBlocks(2, pendingWrites, blocks)
    for (const [i, at] of targets.entries()) {
      block.fill(i + 1)
      yield* device.write(at * blockSectors, block)
    }
    const readBack = new Uint8Array(blockSectors * sectorSize)
    return yield* timed(Effect.gen(function*() {
      const found = yield* simulator.states({ limit: states, seed: 3 })
      for (const state of found) {
        yield* simulator.crash(state)
        for (const at of targets) yield* device.read(at * blockSectors, readBack)
      }
      return found.length
    }))
  })

const disk = () => RamdiskLive({ name: "crash-bench", sizeSectors }).pipe(Layer.provide(RegistryLive))

/**
 * Measures crash exploration on a 64 MiB ramdisk, through snapshots and
 * through the journal, and returns the benchmark rows.
 */
export const crashBench: Effect.Effect<ReadonlyArray<Row>, unknown> = Effect.gen(function*() {
  const quick = yield* Quick
  const states = quick ? 50 : 1000
  const durableWrites = quick ? 100 : 4000
  yield* progress(`crash: exploring ${states} states of ${pendingWrites} pending writes (snapshot backend)`)
  const [snapshotMs, snapshotStates] = yield* explore(states, durableWrites).pipe(
    Effect.provide(CrashSimulatorLive({ backend: "snapshot" }).pipe(Layer.provide(disk())))
  )
  yield* progress(`crash: the same through the journal backend`)
  const [journalMs, journalStates] = yield* explore(states, durableWrites).pipe(
    Effect.provide(CrashSimulatorLive({ backend: "journal" }).pipe(Layer.provide(disk())))
  )
  return [
    {
      name: `crash: explore ${snapshotStates} states, ${pendingWrites} pending writes, 64 MiB ramdisk`,
      value: snapshotMs / 1000,
      unit: "s",
      target: quick ? undefined : below(1)
    },
    {
      name: `crash: per state (snapshot backend)`,
      value: snapshotMs * 1000 / snapshotStates,
      unit: "µs"
    },
    {
      name: `crash: explore ${journalStates} states, journal backend (info)`,
      value: journalMs / 1000,
      unit: "s"
    }
  ]
})

/** The crash suite for `npm run bench`. */
export const suite: Suite = { name: "crash", run: crashBench }
