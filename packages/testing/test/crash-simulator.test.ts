import { BlockDevice, type BlockDeviceShape, IOError, type WriteError } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import {
  CrashSimulator,
  CrashSimulatorLive,
  type CrashSimulatorShape,
  type CrashState
} from "@effect-block/testing"
import { conformance } from "@effect-block/testing/vitest"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Layer, Scheduler, Schema } from "effect"

const sectorSize = 512
const size = 64

const Disk = () => RamdiskLive({ name: "disk", sizeSectors: size }).pipe(Layer.provide(RegistryLive))

const backends = [
  ["snapshot", (seed: number) => CrashSimulatorLive({ seed, backend: "snapshot" }).pipe(Layer.provide(Disk()))],
  ["journal", (seed: number) => CrashSimulatorLive({ seed, backend: "journal" }).pipe(Layer.provide(Disk()))]
] as const

/** The same simulators, with the ramdisk's own handle beside them as `Ramdisk`. */
const besideRamdisk = [
  ["snapshot", () => CrashSimulatorLive({ backend: "snapshot" }).pipe(Layer.provideMerge(Disk()))],
  ["journal", () => CrashSimulatorLive({ backend: "journal" }).pipe(Layer.provideMerge(Disk()))]
] as const

/** One sector filled with `value`. */
const filled = (value: number, sectors = 1) => new Uint8Array(sectors * sectorSize).fill(value)

/** The first byte of every sector of the device: enough to tell the fills apart. */
const picture = Effect.gen(function*() {
  const device = yield* BlockDevice
  const { sizeSectors } = yield* device.info
  const buffer = new Uint8Array(sizeSectors * sectorSize)
  yield* device.read(0, buffer)
  return Array.from({ length: sizeSectors }, (_, s) => buffer[s * sectorSize] ?? -1)
})

const sectorValue = (sector: number) =>
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const buffer = new Uint8Array(sectorSize)
    yield* device.read(sector, buffer)
    return buffer[0]
  })

/** A device whose flush always fails, to check that a failed flush makes nothing durable. */
const FailingFlush = Layer.effect(
  BlockDevice,
  Effect.gen(function*() {
    const device = yield* BlockDevice
    const flush: Effect.Effect<void, WriteError> = Effect.fail(
      new IOError({ operation: "flush", message: "flush: injected failure" })
    )
    return { ...device, flush }
  })
)

for (const [backend, layer] of backends) {
  const run = <A, E>(effect: Effect.Effect<A, E, BlockDevice | CrashSimulator>, seed = 1) =>
    Effect.provide(effect, layer(seed))
  /** Runs a test body with the simulated device and its simulator at hand. */
  const simulate = <A, E>(
    body: (device: BlockDeviceShape, simulator: CrashSimulatorShape) => Effect.Effect<A, E, BlockDevice | CrashSimulator>,
    seed = 1
  ) => run(Effect.flatMap(Effect.all([BlockDevice, CrashSimulator]), ([device, simulator]) => body(device, simulator)), seed)

  describe(`CrashSimulator (${backend} backend)`, () => {
    describe("backend", () => {
      it.effect(`is ${backend}`, () =>
        run(Effect.gen(function*() {
          expect((yield* CrashSimulator).backend).toBe(backend)
        })))
    })

    describe("read", () => {
      it.effect("sees every write, durable or pending", () =>
        simulate((device) => Effect.gen(function*() {
          yield* device.write(1, filled(1))
          yield* device.flush
          yield* device.write(2, filled(2))
          expect(yield* sectorValue(1)).toBe(1)
          expect(yield* sectorValue(2)).toBe(2)
        })))
    })

    describe("writeVectored", () => {
      it.effect("records each request as a pending write; readVectored sees them", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.writeVectored([{ sectorStart: 2, buffers: filled(5) }, { sectorStart: 9, buffers: filled(6, 2) }])
          expect(yield* simulator.pending).toBe(2)
          const [a, b] = [new Uint8Array(sectorSize), new Uint8Array(2 * sectorSize)]
          yield* device.readVectored([{ sectorStart: 2, buffers: a }, { sectorStart: 9, buffers: b }])
          expect([a[0], b[0], b[sectorSize]]).toEqual([5, 6, 6])
          const states = yield* simulator.states()
          expect(states.length).toBe(4)
          for (const state of states) {
            yield* simulator.crash(state)
            expect(yield* sectorValue(2)).toBe(state.landed.includes(0) ? 5 : 0)
            expect(yield* sectorValue(10)).toBe(state.landed.includes(1) ? 6 : 0)
          }
        })))
    })

    describe("pending", () => {
      it.effect("counts the writes and discards since the last successful flush", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          expect(yield* simulator.pending).toBe(0)
          yield* device.write(0, filled(1))
          yield* device.discard(4, 2)
          expect(yield* simulator.pending).toBe(2)
          yield* device.flush
          expect(yield* simulator.pending).toBe(0)
        })))

      it.effect("does not count a write that failed validation", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* Effect.flip(device.write(size, filled(1)))
          expect(yield* simulator.pending).toBe(0)
        })))
    })

    describe("flush", () => {
      it.effect("makes every earlier write survive any crash", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(3, filled(3))
          yield* device.flush
          yield* device.write(3, filled(4))
          const none = (yield* simulator.states())[0]
          expect(none?.landed).toEqual([])
          yield* simulator.crash(none)
          expect(yield* sectorValue(3)).toBe(3)
        })))

      it.effect("that fails makes nothing durable", () =>
        Effect.gen(function*() {
          const device = yield* BlockDevice
          const simulator = yield* CrashSimulator
          yield* device.write(0, filled(1))
          yield* Effect.flip(device.flush)
          expect(yield* simulator.pending).toBe(1)
        }).pipe(Effect.provide(CrashSimulatorLive({ backend: "journal" }).pipe(Layer.provide(FailingFlush), Layer.provide(Disk())))))
    })

    describe("resize", () => {
      it.effect("is pending until the next flush: a crash that loses it keeps the old size and data", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(size - 1, filled(7))
          yield* device.flush
          yield* device.resize(size / 2)
          yield* device.write(0, filled(1))
          expect(yield* simulator.pending).toBe(2)
          const states = yield* simulator.states()
          const none = states.find((state) => state.landed.length === 0)
          yield* simulator.crash(none)
          expect((yield* device.info).sizeSectors).toBe(size)
          expect(yield* sectorValue(size - 1)).toBe(7)
          expect(yield* sectorValue(0)).toBe(0)
        })))

      it.effect("lands like any other write: a crash that keeps it has the new size", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(size - 1, filled(7))
          yield* device.flush
          yield* device.resize(size / 2)
          yield* device.write(0, filled(1))
          const all = (yield* simulator.states()).find((state) => state.landed.length === 2)
          yield* simulator.crash(all)
          expect((yield* device.info).sizeSectors).toBe(size / 2)
          expect(yield* sectorValue(0)).toBe(1)
          // Grown again, the sector the shrink dropped reads as zeros.
          yield* device.resize(size)
          expect(yield* sectorValue(size - 1)).toBe(0)
        })))

      it.effect("as the very first operation is pending too", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.resize(size / 2)
          expect(yield* simulator.pending).toBe(1)
          const states = yield* simulator.states()
          expect(states.length).toBe(2)
          const sizes: Array<number> = []
          for (const state of states) {
            yield* simulator.crash(state)
            sizes.push((yield* device.info).sizeSectors)
          }
          expect(sizes.sort((a, b) => a - b)).toEqual([size / 2, size])
        })))

      it.effect("grow then write past the old end: every state is exact, the write is lost without the grow", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.resize(size * 2)
          yield* device.write(size + 1, filled(5))
          const states = yield* simulator.states()
          // Neither; the grow alone; both. The write without the grow leaves what "neither" leaves.
          expect(states.length).toBe(3)
          for (const state of states) {
            yield* simulator.crash(state)
            const grown = state.landed.includes(0)
            expect((yield* device.info).sizeSectors).toBe(grown ? size * 2 : size)
            if (grown) expect(yield* sectorValue(size + 1)).toBe(state.landed.includes(1) ? 5 : 0)
          }
        })))

      it.effect("a shrink that lands drops data another state brings back", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(size - 2, filled(3, 2))
          yield* device.flush
          yield* device.resize(size / 2)
          const [none, shrunk] = yield* simulator.states()
          yield* simulator.crash(shrunk)
          expect((yield* device.info).sizeSectors).toBe(size / 2)
          yield* simulator.crash(none)
          expect((yield* device.info).sizeSectors).toBe(size)
          expect(yield* sectorValue(size - 2)).toBe(3)
          expect(yield* sectorValue(size - 1)).toBe(3)
        })))
    })

    describe("states", () => {
      it.effect("include none and all of the pending writes", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          for (let i = 0; i < 12; i++) yield* device.write(i, filled(i + 1))
          const states = yield* simulator.states({ limit: 16 })
          expect(states.length).toBe(16)
          expect(states.some((s) => s.landed.length === 0)).toBe(true)
          expect(states.some((s) => s.landed.length === 12)).toBe(true)
        })))

      it.effect("are all of them when the pending set is small", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          for (let i = 0; i < 4; i++) yield* device.write(i, filled(i + 1))
          const states = yield* simulator.states()
          expect(states.length).toBe(16)
          const subsets = new Set(states.map((s) => s.landed.join(",")))
          expect(subsets.size).toBe(16)
        })))

      it.effect("are distinct by the contents they leave", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          // The second write hides the first; the third rewrites what is already durable.
          yield* device.write(0, filled(1))
          yield* device.write(0, filled(2))
          yield* device.write(5, filled(0))
          const states = yield* simulator.states()
          // Sector 0 can be old, 1 or 2; sector 5 is zero either way.
          expect(states.length).toBe(3)
          const pictures = new Set<string>()
          for (const state of states) {
            yield* simulator.crash(state)
            pictures.add((yield* picture).join(","))
          }
          expect(pictures.size).toBe(3)
        })))

      it.effect("are a seeded sample when there are more than the limit", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          for (let i = 0; i < 20; i++) yield* device.write(i, filled(i + 1))
          const describe = (states: ReadonlyArray<CrashState>) => states.map((s) => s.landed.join(",")).join(" | ")
          const a = yield* simulator.states({ seed: 5, limit: 100 })
          const b = yield* simulator.states({ seed: 5, limit: 100 })
          const c = yield* simulator.states({ seed: 6, limit: 100 })
          expect(a.length).toBe(100)
          expect(describe(a)).toBe(describe(b))
          expect(describe(a)).not.toBe(describe(c))
        })))

      it.effect("with torn, let a write land in part", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(0, filled(9, 3))
          const states = yield* simulator.states({ torn: true })
          // Each of the three sectors lands or not.
          expect(states.length).toBe(8)
          expect(states.filter((s) => s.torn.length === 1).length).toBe(6)
          for (const state of states) {
            yield* simulator.crash(state)
            const nines = (yield* picture).slice(0, 3).filter((v) => v === 9).length
            if (state.landed.length === 1) expect(nines).toBe(3)
            else if (state.torn.length === 1) expect(nines === 1 || nines === 2).toBe(true)
            else expect(nines).toBe(0)
          }
        })))

      it.effect("of an earlier epoch are those of the writes in flight at its barrier", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(0, filled(1))
          yield* device.flush
          yield* device.write(1, filled(2))
          yield* device.write(2, filled(3))
          yield* device.flush
          yield* device.write(3, filled(4))
          expect(yield* simulator.epochs).toBe(3)
          const middle = yield* simulator.states({ epoch: 1 })
          expect(middle.length).toBe(4)
          for (const state of middle) {
            yield* simulator.crash(state)
            const [s0, s1, s2, s3] = yield* picture
            expect([s0, s3]).toEqual([1, 0])
            expect(s1).toBe(state.landed.includes(0) ? 2 : 0)
            expect(s2).toBe(state.landed.includes(1) ? 3 : 0)
          }
        })))

      it.effect("never change what any handle of the device reads, while another fiber writes through it", () =>
        Effect.gen(function*() {
          const device = yield* BlockDevice
          const simulator = yield* CrashSimulator
          const raw = yield* Ramdisk
          for (let i = 0; i < 8; i++) yield* device.write(2 * i, filled(i + 1))
          const rounds = 121
          const expected = new Map<number, number>()
          const writer = Effect.forEach(Array.from({ length: rounds }, (_, i) => i), (i) => {
            const sector = 32 + (i % 32)
            const value = (i % 250) + 1
            expected.set(sector, value)
            return Effect.andThen(raw.write(sector, filled(value)), Effect.yieldNow)
          }, { discard: true })
          const searcher = Effect.forEach(Array.from({ length: rounds }, (_, i) => i), () =>
            Effect.andThen(simulator.states({ limit: 64 }), Effect.yieldNow), { discard: true })
          // Fibers switch every few steps, so the writer runs in the middle of every search.
          yield* Effect.all([writer, searcher], { concurrency: 2, discard: true }).pipe(
            Effect.provideService(Scheduler.MaxOpsBeforeYield, 4)
          )
          const lost = [...expected].filter(([sector, value]) => {
            const buffer = new Uint8Array(sectorSize)
            Effect.runSync(Effect.orDie(raw.read(sector, buffer)))
            return buffer[0] !== value
          })
          expect(lost).toEqual([])
          for (let i = 0; i < 8; i++) expect(yield* sectorValue(2 * i)).toBe(i + 1)
        }).pipe(Effect.provide(besideRamdisk[backend === "snapshot" ? 0 : 1][1]())))

      it.effect("fail InvalidRequest for an unknown epoch or a bad limit, changing nothing", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(0, filled(1))
          for (const options of [{ epoch: 1 }, { epoch: -1 }, { epoch: 0.5 }, { limit: 1 }, { limit: Number.NaN }]) {
            const error = yield* Effect.flip(simulator.states(options))
            expect(error._tag).toBe("InvalidRequest")
            expect(error.message).toMatch(/epoch|limit/)
          }
          expect(yield* simulator.pending).toBe(1)
        })))
    })

    describe("crash", () => {
      it.effect("makes the device hold exactly the state and clears the pending set", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(0, filled(1))
          yield* device.flush
          yield* device.write(1, filled(2))
          yield* device.discard(0, 1)
          yield* device.write(2, filled(3))
          for (const state of yield* simulator.states()) {
            yield* simulator.crash(state)
            expect(yield* simulator.pending).toBe(0)
            const [s0, s1, s2] = yield* picture
            expect(s0).toBe(state.landed.includes(1) ? 0 : 1)
            expect(s1).toBe(state.landed.includes(0) ? 2 : 0)
            expect(s2).toBe(state.landed.includes(2) ? 3 : 0)
          }
        })))

      it.effect("keeps recording: writes after a crash are pending in a new epoch", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(0, filled(1))
          yield* simulator.crash()
          expect(yield* simulator.epochs).toBe(2)
          yield* device.write(1, filled(2))
          expect(yield* simulator.pending).toBe(1)
          const states = yield* simulator.states()
          expect(states.length).toBe(2)
        })))

      it.effect("accepts a state again after other crashes and recoveries", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* device.write(0, filled(1))
          yield* device.write(1, filled(2))
          const states = yield* simulator.states()
          const pictures = new Map<CrashState, string>()
          for (const state of states) {
            yield* simulator.crash(state)
            pictures.set(state, (yield* picture).join(","))
            // A recovery that writes and flushes must not spoil the remaining states.
            yield* device.write(5, filled(5))
            yield* device.flush
          }
          for (const state of [...states].reverse()) {
            yield* simulator.crash(state)
            expect((yield* picture).join(",")).toBe(pictures.get(state))
          }
        })))

      it.effect("without a state picks a seeded random one", () =>
        Effect.gen(function*() {
          const outcome = (seed: number) =>
            simulate((device, simulator) =>
              Effect.gen(function*() {
                const chosen: Array<string> = []
                for (let round = 0; round < 5; round++) {
                  for (let i = 0; i < 8; i++) yield* device.write(i, filled(round * 8 + i + 1))
                  chosen.push((yield* simulator.crash()).landed.join(","))
                }
                return chosen.join(" | ")
              }), seed)
          expect(yield* outcome(3)).toBe(yield* outcome(3))
          expect(yield* outcome(3)).not.toBe(yield* outcome(4))
        }))

      it.effect("fails InvalidRequest for a state of another simulator", () =>
        Effect.gen(function*() {
          const foreign = yield* run(Effect.gen(function*() {
            yield* (yield* BlockDevice).write(0, filled(1))
            return (yield* (yield* CrashSimulator).states())[0]
          }))
          const error = yield* run(Effect.gen(function*() {
            const simulator = yield* CrashSimulator
            return yield* Effect.flip(simulator.crash(foreign))
          }))
          expect(error._tag).toBe("InvalidRequest")
        }))
    })

    describe("mark", () => {
      it.effect("is listed by the states of every crash point after it", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* simulator.mark("start")
          yield* device.write(0, filled(1))
          yield* device.flush
          yield* simulator.mark("acked 1")
          yield* device.write(1, filled(2))
          const first = yield* simulator.states({ epoch: 0 })
          const now = yield* simulator.states()
          expect(first.every((s) => s.marks.join() === "start")).toBe(true)
          expect(now.every((s) => s.marks.join() === "start,acked 1")).toBe(true)
        })))

      it.effect("after a crash, the timeline keeps only the crashed state's marks", () =>
        simulate((device, simulator) => Effect.gen(function*() {
          yield* simulator.mark("a")
          yield* device.write(0, filled(1))
          yield* device.flush
          yield* simulator.mark("b")
          yield* simulator.crash((yield* simulator.states({ epoch: 0 }))[0])
          yield* simulator.mark("c")
          const states = yield* simulator.states()
          expect(states[0]?.marks).toEqual(["a", "c"])
        })))
    })

    describe("model", () => {
      const Sector = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 7 }))
      const Count = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3 }))
      const Step = Schema.Union([
        Schema.Struct({ op: Schema.Literals(["write", "discard"]), sector: Sector, sectors: Count }),
        Schema.Struct({ op: Schema.Literal("flush") })
      ])
      it.effect.prop(
        "every state equals the durable image plus its landed writes, replayed in order",
        { steps: Arbitrary.array(Arbitrary.schema(Step), { maxLength: 12 }), torn: Arbitrary.schema(Schema.Boolean) },
        ({ steps, torn }) =>
          simulate((device, simulator) => Effect.gen(function*() {
            // The model: durable bytes per sector (first byte) and the in-flight ops.
            let durable = new Array<number>(size).fill(0)
            let current = durable.slice()
            let inFlight: Array<{ sector: number; sectors: number; value: number }> = []
            let value = 1
            for (const step of steps) {
              if (step.op === "flush") {
                yield* device.flush
                durable = current.slice()
                inFlight = []
              } else {
                const fill = step.op === "write" ? value++ : 0
                if (step.op === "write") yield* device.write(step.sector, filled(fill, step.sectors))
                else yield* device.discard(step.sector, step.sectors)
                inFlight.push({ sector: step.sector, sectors: step.sectors, value: fill })
                for (let i = 0; i < step.sectors; i++) current[step.sector + i] = fill
              }
            }
            expect(yield* simulator.pending).toBe(inFlight.length)
            const states = yield* simulator.states({ torn, limit: 64 })
            const seen = new Set<string>()
            for (const state of states) {
              yield* simulator.crash(state)
              const got = yield* picture
              const expected = durable.slice()
              inFlight.forEach((op, o) => {
                if (state.landed.includes(o)) for (let i = 0; i < op.sectors; i++) expected[op.sector + i] = op.value
              })
              // Torn writes: each sector of a torn op holds either its old or its new value.
              for (let s = 0; s < size; s++) {
                const tornHere = state.torn.some((o) => {
                  const op = inFlight[o]
                  return op !== undefined && s >= op.sector && s < op.sector + op.sectors
                })
                if (!tornHere) expect(got[s]).toBe(expected[s])
              }
              seen.add(got.join(","))
            }
            // Distinct states leave distinct contents; none and all are among them.
            expect(seen.size).toBe(states.length)
            expect(seen.has(durable.join(","))).toBe(true)
            expect(seen.has(current.join(","))).toBe(true)
          })),
        { timeout: 60_000, arbitrary: { runs: 40, seed: 20240501 } }
      )

      const AnySector = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 95 }))
      const NewSize = Schema.Int.check(Schema.isBetween({ minimum: 8, maximum: 96 }))
      const ResizingStep = Schema.Union([
        Schema.Struct({ op: Schema.Literals(["write", "discard"]), sector: AnySector, sectors: Count }),
        Schema.Struct({ op: Schema.Literal("resize"), size: NewSize }),
        Schema.Struct({ op: Schema.Literal("flush") })
      ])
      type Pending =
        | { readonly kind: "write"; readonly sector: number; readonly sectors: number; readonly value: number }
        | { readonly kind: "resize"; readonly size: number }
      /** Replays `ops` (whole, torn or not at all) on an image; -1 marks a sector that may be old or new. */
      const replay = (image: ReadonlyArray<number>, ops: ReadonlyArray<Pending>, fate: (o: number) => "whole" | "torn" | "lost") => {
        let out = image.slice()
        ops.forEach((op, o) => {
          const how = fate(o)
          if (how === "lost") return
          if (op.kind === "resize") {
            out = Array.from({ length: op.size }, (_, s) => s < out.length ? out[s] ?? 0 : 0)
            return
          }
          for (let i = 0; i < op.sectors && op.sector + i < out.length; i++) {
            out[op.sector + i] = how === "whole" ? op.value : -1
          }
        })
        return out
      }
      it.effect.prop(
        "with resizes, every state has exactly the size and contents of the durable image plus its landed operations",
        {
          steps: Arbitrary.array(Arbitrary.schema(ResizingStep), { maxLength: 10 }),
          torn: Arbitrary.schema(Schema.Boolean)
        },
        ({ steps, torn }) =>
          simulate((device, simulator) => Effect.gen(function*() {
            let durable = new Array<number>(size).fill(0)
            let current = durable.slice()
            let inFlight: Array<Pending> = []
            let value = 1
            for (const step of steps) {
              if (step.op === "flush") {
                yield* device.flush
                durable = current.slice()
                inFlight = []
              } else if (step.op === "resize") {
                yield* device.resize(step.size)
                inFlight.push({ kind: "resize", size: step.size })
                current = replay(current, [{ kind: "resize", size: step.size }], () => "whole")
              } else if (current.length >= step.sectors) {
                const sector = Math.min(step.sector, current.length - step.sectors)
                const fill = step.op === "write" ? value++ : 0
                if (step.op === "write") yield* device.write(sector, filled(fill, step.sectors))
                else yield* device.discard(sector, step.sectors)
                const op: Pending = { kind: "write", sector, sectors: step.sectors, value: fill }
                inFlight.push(op)
                current = replay(current, [op], () => "whole")
              }
            }
            expect(yield* simulator.pending).toBe(inFlight.length)
            const states = yield* simulator.states({ torn, limit: 48 })
            for (const state of states) {
              yield* simulator.crash(state)
              const got = yield* picture
              const expected = replay(
                durable,
                inFlight,
                (o) => state.landed.includes(o) ? "whole" : state.torn.includes(o) ? "torn" : "lost"
              )
              expect(got.length).toBe(expected.length)
              expect(got.map((v, s) => expected[s] === -1 ? -1 : v)).toEqual(expected)
            }
          })),
        { timeout: 60_000, arbitrary: { runs: 40, seed: 20261201 } }
      )
    })
  })
}

// The wrapped device is still a block device: it keeps the whole contract, over either backend,
// and answers for the ramdisk beneath it (destroyed, or kept connected when the simulator disconnects).
const beside = (backend: "journal" | "snapshot") => {
  const disk = RamdiskLive({ name: "disk", sizeSectors: size }).pipe(Layer.provideMerge(RegistryLive))
  return backend === "snapshot" ?
    CrashSimulatorLive({ backend }).pipe(Layer.provideMerge(disk)) :
    CrashSimulatorLive({ backend }).pipe(Layer.provideMerge(disk))
}
for (const backend of ["snapshot", "journal"] as const) {
  conformance(`CrashSimulator over a ramdisk (${backend} backend)`, beside(backend), {
    controls: {
      destroy: Registry.use((registry) => registry.destroy("disk")),
      beneath: Ramdisk.use(Effect.succeed)
    }
  })
}
