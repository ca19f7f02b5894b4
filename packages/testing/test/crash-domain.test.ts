/**
 * A power domain: one simulator over several devices, so a power failure
 * takes them all at once (a database on one device, its journal on another).
 */
import type { BlockDeviceShape } from "@effect-block/block"
import { makeRegistry } from "@effect-block/ramdisk"
import { CrashSimulator, type CrashSimulatorShape, explore } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

const sectorSize = 512
const filled = (value: number, sectors = 1) => new Uint8Array(sectors * sectorSize).fill(value)

const firstByte = (device: BlockDeviceShape, sector: number) =>
  Effect.gen(function*() {
    const buffer = new Uint8Array(sectorSize)
    yield* device.read(sector, buffer)
    return buffer[0]
  })

type Mix = "journal" | "snapshot" | "mixed"

/** Two ramdisks ("data", "log") in one power domain, with the backends `mix` says. */
const domain = (mix: Mix) =>
  Effect.gen(function*() {
    const registry = yield* makeRegistry
    const data = yield* Effect.orDie(registry.connect({ name: "data", sizeSectors: 32 }))
    const log = yield* Effect.orDie(registry.connect({ name: "log", sizeSectors: 32 }))
    const built = yield* Effect.orDie(CrashSimulator.make({
      devices: [
        mix === "journal" ? { device: data } : { device: data, snapshots: data },
        mix === "snapshot" ? { device: log, snapshots: log } : { device: log }
      ],
      seed: 5
    }))
    const [dataDisk, logDisk] = built.devices
    if (dataDisk === undefined || logDisk === undefined) return yield* Effect.die("two devices expected")
    return { simulator: built.simulator, data: dataDisk, log: logDisk }
  })

const run = <A, E>(
  mix: Mix,
  body: (d: { simulator: CrashSimulatorShape; data: BlockDeviceShape; log: BlockDeviceShape }) => Effect.Effect<A, E>
) => Effect.flatMap(domain(mix), body)

for (const mix of ["journal", "snapshot", "mixed"] as const) {
  describe(`CrashSimulator.make, a power domain of two devices (${mix} backends)`, () => {
    describe("backends", () => {
      it.effect("are the ones asked for, by device", () =>
        run(mix, ({ simulator }) =>
          Effect.sync(() => {
            expect(simulator.backends).toEqual(
              mix === "journal" ? ["journal", "journal"] : mix === "snapshot" ? ["snapshot", "snapshot"] : ["snapshot", "journal"]
            )
          })))
    })

    describe("flush", () => {
      it.effect("makes durable only the writes of its own device", () =>
        run(mix, ({ data, log, simulator }) =>
          Effect.gen(function*() {
            yield* log.write(0, filled(1))
            yield* data.write(0, filled(2))
            yield* log.flush
            expect(yield* simulator.pending).toBe(1)
            const states = yield* simulator.states()
            expect(states.length).toBe(2)
            expect(states[0]?.pending[0]).toMatchObject({ device: 0, operation: "write", sectorStart: 0, sectors: 1 })
            for (const state of states) {
              yield* simulator.crash(state)
              expect(yield* firstByte(log, 0)).toBe(1)
              expect(yield* firstByte(data, 0)).toBe(state.landed.length === 1 ? 2 : 0)
            }
          })))
    })

    describe("crash", () => {
      it.effect("takes every device at once: each state is one joint outcome of all pending writes", () =>
        run(mix, ({ data, log, simulator }) =>
          Effect.gen(function*() {
            yield* log.write(3, filled(1))
            yield* data.write(4, filled(2))
            yield* log.write(5, filled(3))
            const states = yield* simulator.states()
            expect(states.length).toBe(8)
            const seen = new Set<string>()
            for (const state of states) {
              yield* simulator.crash(state)
              const picture = [yield* firstByte(log, 3), yield* firstByte(data, 4), yield* firstByte(log, 5)]
              expect(picture).toEqual([
                state.landed.includes(0) ? 1 : 0,
                state.landed.includes(1) ? 2 : 0,
                state.landed.includes(2) ? 3 : 0
              ])
              seen.add(picture.join(","))
              expect(yield* simulator.pending).toBe(0)
            }
            // Including the data write landing while the log write before it did not.
            expect(seen.has("0,2,0")).toBe(true)
            expect(seen.size).toBe(8)
          })))

      it.effect("gives every device its exact size after resizes on either device", () =>
        run(mix, ({ data, log, simulator }) =>
          Effect.gen(function*() {
            yield* data.write(31, filled(9))
            yield* data.flush
            yield* data.resize(16)
            yield* log.resize(48)
            for (const state of yield* simulator.states()) {
              yield* simulator.crash(state)
              expect((yield* data.info).sizeSectors).toBe(state.landed.includes(0) ? 16 : 32)
              expect((yield* log.info).sizeSectors).toBe(state.landed.includes(1) ? 48 : 32)
              if (!state.landed.includes(0)) expect(yield* firstByte(data, 31)).toBe(9)
            }
          })))
    })

    describe("epochs", () => {
      it.effect("end at a flush of any device; an earlier epoch's states keep the other device's pending writes", () =>
        run(mix, ({ data, log, simulator }) =>
          Effect.gen(function*() {
            yield* data.write(0, filled(1))
            yield* log.write(0, filled(2))
            yield* log.flush
            yield* data.write(1, filled(3))
            yield* data.flush
            expect(yield* simulator.epochs).toBe(3)
            // Epoch 0: both writes in flight.
            expect((yield* simulator.states({ epoch: 0 })).length).toBe(4)
            // Epoch 1: the log write is durable; both data writes are still in flight.
            const middle = yield* simulator.states({ epoch: 1 })
            expect(middle[0]?.pending.map((write) => write.device)).toEqual([0, 0])
            for (const state of middle) {
              yield* simulator.crash(state)
              expect(yield* firstByte(log, 0)).toBe(2)
              expect(yield* firstByte(data, 0)).toBe(state.landed.includes(0) ? 1 : 0)
              expect(yield* firstByte(data, 1)).toBe(state.landed.includes(1) ? 3 : 0)
            }
          })))
    })
  })
}

describe("explore over a power domain", () => {
  /** Writes the data, then the commit record on the log; flushes the data first only when `ordered`. */
  const workload = (data: BlockDeviceShape, log: BlockDeviceShape, ordered: boolean) =>
    Effect.gen(function*() {
      yield* data.write(0, filled(7))
      if (ordered) yield* data.flush
      yield* log.write(0, filled(1))
      yield* log.flush
      if (!ordered) yield* data.flush
    })
  const check = (data: BlockDeviceShape, log: BlockDeviceShape) =>
    Effect.gen(function*() {
      if ((yield* firstByte(log, 0)) === 1 && (yield* firstByte(data, 0)) !== 7) {
        return yield* Effect.fail(new Error("the log commits data that is not on the data device"))
      }
    })

  for (const ordered of [false, true]) {
    it.effect(`${ordered ? "passes" : "catches"} a commit record that ${ordered ? "follows" : "may overtake"} its data on another device`, () =>
      run("mixed", ({ data, log, simulator }) =>
        Effect.gen(function*() {
          const summary = yield* explore({ workload: workload(data, log, ordered), check: () => check(data, log) }).pipe(
            Effect.provideService(CrashSimulator, simulator)
          )
          expect(summary.violationCount > 0).toBe(!ordered)
          expect(summary.explored).toBeGreaterThan(2)
        })))
  }
})

describe("CrashSimulator.make", () => {
  it.effect("refuses an empty power domain with InvalidRequest", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(CrashSimulator.make({ devices: [] }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toMatch(/devices/)
    }))
})
