/**
 * What `states()` lists and says about it: coverage, the in-order prefixes,
 * its random generator, the description of each pending write, damaged tear
 * points, and bounded history (`forget`, `keepEpochs`).
 */
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulator, CrashSimulatorLive, type CrashSimulatorShape } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const sectorSize = 512
const size = 256
const filled = (value: number, sectors = 1) => new Uint8Array(sectors * sectorSize).fill(value)

const Disk = () => RamdiskLive({ name: "disk", sizeSectors: size }).pipe(Layer.provide(RegistryLive))

for (const backend of ["journal", "snapshot"] as const) {
  const layer = (keepEpochs?: number) =>
    backend === "snapshot" ?
      CrashSimulatorLive({ backend, seed: 9, ...(keepEpochs === undefined ? {} : { keepEpochs }) }).pipe(Layer.provide(Disk())) :
      CrashSimulatorLive({ backend, seed: 9, ...(keepEpochs === undefined ? {} : { keepEpochs }) }).pipe(Layer.provide(Disk()))
  const simulate = <A, E>(
    body: (device: typeof BlockDevice.Service, simulator: CrashSimulatorShape) => Effect.Effect<A, E>,
    keepEpochs?: number
  ) =>
    Effect.flatMap(Effect.all([BlockDevice, CrashSimulator]), ([device, simulator]) => body(device, simulator)).pipe(
      Effect.provide(layer(keepEpochs))
    )
  const readByte = (device: typeof BlockDevice.Service, sector: number) =>
    Effect.gen(function*() {
      const buffer = new Uint8Array(sectorSize)
      yield* device.read(sector, buffer)
      return buffer
    })

  describe(`CrashSimulator (${backend} backend)`, () => {
    describe("states coverage", () => {
      it.effect("is exhaustive when every state fits the limit, with the size of the space", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            for (let i = 0; i < 5; i++) yield* device.write(i, filled(i + 1))
            const states = yield* simulator.states()
            expect(states.coverage).toMatchObject({ exhaustive: true, space: 32, listed: 32, prefixes: 6 })
          })))

      it.effect("is a sample past the limit, and says how large the space was", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            for (let i = 0; i < 30; i++) yield* device.write(i, filled(i + 1))
            const states = yield* simulator.states({ limit: 64 })
            expect(states.coverage).toMatchObject({ exhaustive: false, space: 2 ** 30, listed: 64, prefixes: 31 })
            expect(states.length).toBe(64)
          })))
    })

    describe("states prefixes", () => {
      it.effect("lists every in-order prefix (the first k writes landed), even in a small sample", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            const writes = 116
            for (let i = 0; i < writes; i++) yield* device.write(i, filled(i % 250 + 1))
            const states = yield* simulator.states({ limit: 32 })
            const landed = new Set(states.map((state) => state.torn.length === 0 ? state.landed.join(",") : "torn"))
            for (let k = 0; k <= writes; k++) {
              expect(landed.has(Array.from({ length: k }, (_, i) => i).join(","))).toBe(true)
            }
          })))
    })

    describe("states sampling", () => {
      it.effect("does not restart from the same seed on every call; coverage.seed replays a sample", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            for (let i = 0; i < 20; i++) yield* device.write(i, filled(i + 1))
            const describe = (states: ReadonlyArray<{ readonly landed: ReadonlyArray<number> }>) =>
              states.map((state) => state.landed.join(",")).join(" | ")
            const first = yield* simulator.states({ limit: 60 })
            const second = yield* simulator.states({ limit: 60 })
            expect(first.coverage.seed).not.toBe(second.coverage.seed)
            expect(describe(first)).not.toBe(describe(second))
            const again = yield* simulator.states({ limit: 60, seed: first.coverage.seed })
            expect(describe(again)).toBe(describe(first))
          })))
    })

    describe("pending writes", () => {
      it.effect("are each described: operation, sectors, size, extent and the mark before it", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            yield* simulator.mark("opened")
            yield* device.write(8, filled(1, 4))
            yield* simulator.mark("acked 1")
            yield* device.discard(2, 3)
            yield* device.resize(size - 16)
            const [state] = yield* simulator.states()
            expect(state?.pending).toEqual([
              { index: 0, device: 0, operation: "write", sectorStart: 8, sectors: 4, sizeSectors: size, extent: "whole", after: "opened" },
              { index: 1, device: 0, operation: "discard", sectorStart: 2, sectors: 3, sizeSectors: size, extent: "whole", after: "acked 1" },
              {
                index: 2,
                device: 0,
                operation: "resize",
                sectorStart: size - 16,
                sectors: 16,
                sizeSectors: size - 16,
                extent: "whole",
                after: "acked 1"
              }
            ])
            const text = state?.describe() ?? ""
            expect(text).toContain("write device 0 sectors 8..11 (after \"opened\")")
            expect(text).toContain(`resize device 0 to ${size - 16} sectors`)
          })))
    })

    describe("states damage", () => {
      it.effect("is off by default: a torn write's sectors hold old or new data only", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            yield* device.write(0, filled(9, 3))
            for (const state of yield* simulator.states({ torn: true })) {
              expect(state.damaged).toEqual([])
              yield* simulator.crash(state)
              for (let s = 0; s < 3; s++) expect([0, 9]).toContain((yield* readByte(device, s))[0])
            }
          })))

      for (const damage of ["zeros", "garbage"] as const) {
        it.effect(`${damage}: the first sector a torn write did not land holds ${damage}, seeded`, () =>
          simulate((device, simulator) =>
            Effect.gen(function*() {
              yield* device.write(0, filled(7, 3))
              yield* device.flush
              yield* device.write(0, filled(9, 3))
              const states = yield* simulator.states({ torn: true, damage, seed: 4 })
              const torn = states.filter((state) => state.torn.length === 1)
              expect(torn.length).toBeGreaterThan(0)
              const pictures: Array<string> = []
              for (const state of torn) {
                expect(state.damaged).toEqual([0])
                yield* simulator.crash(state)
                const sectors = [yield* readByte(device, 0), yield* readByte(device, 1), yield* readByte(device, 2)]
                const kinds = sectors.map((bytes) =>
                  bytes.every((b) => b === 9) ? "new" : bytes.every((b) => b === 7) ? "old" : "damaged"
                )
                // Exactly one damaged sector: the tear point, the first that did not land.
                expect(kinds.filter((kind) => kind === "damaged").length).toBe(1)
                expect(kinds.indexOf("damaged")).toBe(kinds.findIndex((kind) => kind !== "new"))
                const damaged = sectors[kinds.indexOf("damaged")]
                if (damage === "zeros") expect(damaged?.every((b) => b === 0)).toBe(true)
                pictures.push(sectors.map((bytes) => bytes.join(",")).join("|"))
              }
              // The same seed gives the same damage.
              const again = yield* simulator.states({ torn: true, damage, seed: 4, epoch: 1 })
              const repeat: Array<string> = []
              for (const state of again.filter((s) => s.torn.length === 1)) {
                yield* simulator.crash(state)
                const sectors = [yield* readByte(device, 0), yield* readByte(device, 1), yield* readByte(device, 2)]
                repeat.push(sectors.map((bytes) => bytes.join(",")).join("|"))
              }
              expect(repeat).toEqual(pictures)
            })))
      }
    })

    describe("forget", () => {
      it.effect("drops the closed epochs: their states can no longer be listed, listed states still crash", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            yield* device.write(0, filled(1))
            yield* device.flush
            yield* device.write(1, filled(2))
            const kept = yield* simulator.states({ epoch: 0 })
            yield* simulator.forget
            expect(yield* simulator.epochs).toBe(2)
            expect(yield* simulator.firstEpoch).toBe(1)
            const error = yield* Effect.flip(simulator.states({ epoch: 0 }))
            expect(error.message).toMatch(/epoch 0 was forgotten/)
            expect(yield* simulator.pending).toBe(1)
            const none = kept.find((state) => state.landed.length === 0)
            yield* simulator.crash(none)
            expect((yield* readByte(device, 0))[0]).toBe(0)
          })))

      it.effect("keepEpochs bounds the closed epochs kept", () =>
        simulate((device, simulator) =>
          Effect.gen(function*() {
            for (let i = 0; i < 10; i++) {
              yield* device.write(i, filled(i + 1))
              yield* device.flush
            }
            expect(yield* simulator.epochs).toBe(11)
            expect(yield* simulator.firstEpoch).toBe(7)
            expect((yield* simulator.states({ epoch: 7 })).length).toBe(2)
            expect((yield* Effect.flip(simulator.states({ epoch: 6 })))._tag).toBe("InvalidRequest")
          }), 3))
    })
  })
}
