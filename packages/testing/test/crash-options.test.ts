/**
 * The crash simulator's inputs: options decoded with its exported schemas,
 * hostile values at every public function answered with a typed failure
 * (never a defect or a throw), and the wrapper rule of docs/semantics.md
 * ("Wrappers, interruption and vectored requests").
 */
import { BlockDevice, type BlockDeviceShape, type InvalidRequest } from "@effect-block/block"
import { makeRegistry, RamdiskLive, RegistryLive, type RegistryShape } from "@effect-block/ramdisk"
import {
  CrashSimulator,
  CrashSimulatorLive,
  CrashSimulatorOptions,
  type CrashSimulatorShape,
  CrashState,
  Seed,
  StatesOptions
} from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Exit, Layer, Schema } from "effect"

const sectorSize = 512

const Disk = () => RamdiskLive({ name: "disk", sizeSectors: 16 }).pipe(Layer.provide(RegistryLive))

/** `CrashSimulatorLive` without its overloads, which only admit well-typed options: these tests pass anything. */
const untyped = CrashSimulatorLive as (
  options: unknown
) => Layer.Layer<BlockDevice | CrashSimulator, InvalidRequest, BlockDevice>

/** Builds `CrashSimulatorLive(options)` over a ramdisk and returns how the build ended. */
const build = (options: unknown) => Effect.exit(Effect.scoped(Layer.build(untyped(options).pipe(Layer.provide(Disk())))))

const revoked = () => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** Values a caller should never pass, each of which must be answered, never thrown or died on. */
const hostile: ReadonlyArray<readonly [string, () => unknown]> = [
  ["null", () => null],
  ["a string", () => "journal"],
  ["a number", () => 7],
  ["NaN", () => Number.NaN],
  ["a symbol", () => Symbol("x")],
  ["a function", () => () => 1],
  ["an array", () => [1, 2]],
  ["a revoked Proxy", revoked],
  ["a Proxy whose every trap throws", () =>
    new Proxy({}, {
      get: () => {
        throw new Error("get")
      },
      has: () => {
        throw new Error("has")
      },
      ownKeys: () => {
        throw new Error("ownKeys")
      },
      getOwnPropertyDescriptor: () => {
        throw new Error("descriptor")
      }
    })],
  ["an object with a throwing getter", () => ({
    get seed() {
      throw new Error("seed")
    },
    get epoch() {
      throw new Error("epoch")
    }
  })],
  ["an object whose getter lies between reads", () => {
    let reads = 0
    return {
      get limit() {
        return reads++ === 0 ? 4 : -1
      }
    }
  }],
  ["a CrashState made by hand", () =>
    new CrashState({ epoch: 0, writes: 0, landed: [], torn: [], damaged: [], marks: [], pending: [] })],
  ["Object.create(CrashState.prototype)", () => Object.create(CrashState.prototype)]
]

/** The typed failure (or success) of an effect that must never die; fails the test on a defect. */
const answered = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(Effect.suspend(() => effect)), (exit) => {
    if (Exit.isFailure(exit)) {
      expect(Cause.hasDies(exit.cause)).toBe(false)
      expect(Cause.hasFails(exit.cause)).toBe(true)
    }
    return exit
  })

describe("CrashSimulatorLive", () => {
  describe("options", () => {
    it.effect("are decoded with the exported schema", () =>
      Effect.sync(() => {
        expect(Schema.decodeUnknownSync(CrashSimulatorOptions)({ seed: 3, backend: "journal", keepEpochs: 2 }))
          .toEqual({ seed: 3, backend: "journal", keepEpochs: 2 })
        expect(Schema.is(Seed)(4294967295)).toBe(true)
        expect(Schema.is(Seed)(-1)).toBe(false)
      }))

    it.effect.each([
      ["null", null, /bad options null/],
      ["backend \"Journal\"", { backend: "Journal" }, /backend/],
      ["seed \"abc\"", { seed: "abc" }, /seed/],
      ["seed NaN", { seed: Number.NaN }, /seed/],
      ["seed -1", { seed: -1 }, /seed/],
      ["seed 1.5", { seed: 1.5 }, /seed/],
      ["seed 2^32", { seed: 4294967296 }, /seed/],
      ["keepEpochs -1", { keepEpochs: -1 }, /keepEpochs/]
    ] as const)("%s is an InvalidRequest naming the option", ([, options, pattern]) =>
      Effect.gen(function*() {
        const exit = yield* build(options)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          expect(error._tag).toBe("Some")
          if (error._tag === "Some") {
            expect(error.value._tag).toBe("InvalidRequest")
            expect(error.value.message).toMatch(pattern)
          }
        }
      }))

    it.effect("seeds 0, 4294967295 and 1 drive different runs (no seed folds onto another)", () =>
      Effect.gen(function*() {
        const run = (seed: number) =>
          Effect.gen(function*() {
            const device = yield* BlockDevice
            const simulator = yield* CrashSimulator
            const chosen: Array<string> = []
            for (let round = 0; round < 6; round++) {
              for (let i = 0; i < 8; i++) yield* device.write(i, new Uint8Array(sectorSize).fill(round * 8 + i + 1))
              chosen.push((yield* simulator.crash()).landed.join(","))
            }
            return chosen.join(" | ")
          }).pipe(Effect.provide(CrashSimulatorLive({ seed }).pipe(Layer.provide(Disk()))))
        const outcomes = new Set([yield* run(0), yield* run(4294967295), yield* run(1)])
        expect(outcomes.size).toBe(3)
      }))

    it.effect("backend \"snapshot\" without the Snapshots service is an InvalidRequest naming it", () =>
      Effect.gen(function*() {
        const registry = yield* makeRegistry
        const device = yield* Effect.orDie(registry.connect({ name: "plain", sizeSectors: 16 }))
        // Only BlockDevice in the context: the type would refuse this; a cast shows the run-time answer.
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(
          untyped({ backend: "snapshot" }).pipe(Layer.provide(Layer.succeed(BlockDevice, device)))
        )))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(Cause.hasDies(exit.cause)).toBe(false)
          expect(String(Cause.squash(exit.cause))).toMatch(/Snapshots/)
        }
      }))

    it.effect.prop(
      "any hostile value is answered with a typed failure, never a defect",
      { which: Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: hostile.length - 1 }))) },
      ({ which }) =>
        Effect.gen(function*() {
          const value = hostile[which]?.[1]()
          const exit = yield* build(value)
          if (Exit.isFailure(exit)) expect(Cause.hasDies(exit.cause)).toBe(false)
        }),
      { arbitrary: { runs: 40, seed: 11 } }
    )
  })
})

describe("CrashSimulator controls", () => {
  const withSimulator = <A, E>(body: (simulator: CrashSimulatorShape, device: BlockDeviceShape) => Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const simulator = yield* CrashSimulator
      const device = yield* BlockDevice
      yield* device.write(0, new Uint8Array(sectorSize).fill(1))
      return yield* body(simulator, device)
    }).pipe(Effect.provide(CrashSimulatorLive({ backend: "snapshot" }).pipe(Layer.provide(Disk()))))

  describe("states", () => {
    it.effect("decodes its options with the exported schema; a bad one is an InvalidRequest naming it", () =>
      withSimulator((simulator) =>
        Effect.gen(function*() {
          expect(Schema.decodeUnknownSync(StatesOptions)({ limit: 4, torn: true })).toEqual({ limit: 4, torn: true })
          for (
            const [options, name] of [
              [{ epoch: "0" }, "epoch"],
              [{ limit: 1 }, "limit"],
              [{ torn: "yes" }, "torn"],
              [{ damage: "noise" }, "damage"],
              [{ seed: -1 }, "seed"],
              [null, "null"]
            ] as const
          ) {
            const error = yield* Effect.flip(simulator.states(options as never))
            expect(error._tag).toBe("InvalidRequest")
            expect(error.message).toContain(name)
          }
          expect(yield* simulator.pending).toBe(1)
        })
      ))
  })

  describe("every control", () => {
    const controls = (simulator: CrashSimulatorShape, value: unknown) => [
      simulator.states(value as never),
      simulator.crash(value as never),
      simulator.mark(value as never),
      CrashSimulator.make(value as never),
      CrashSimulator.make({ devices: [value] } as never),
      CrashSimulator.make({ devices: [{ device: value }] } as never)
    ]

    it.effect.prop(
      "answers any hostile value with a typed failure, never a defect, and changes nothing",
      { which: Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: hostile.length - 1 }))) },
      ({ which }) =>
        withSimulator((simulator) =>
          Effect.gen(function*() {
            for (const control of controls(simulator, hostile[which]?.[1]())) yield* answered(control)
            expect(yield* simulator.pending).toBe(1)
          })
        ),
      { arbitrary: { runs: 40, seed: 12 } }
    )

    it.effect("crash refuses a state it did not produce", () =>
      withSimulator((simulator) =>
        Effect.gen(function*() {
          const forged = new CrashState({ epoch: 0, writes: 1, landed: [0], torn: [], damaged: [], marks: [], pending: [] })
          const error = yield* Effect.flip(simulator.crash(forged))
          expect(error._tag).toBe("InvalidRequest")
        })
      ))
  })
})

/** The ways a device beneath the simulator can be lost. */
const losses: ReadonlyArray<readonly [string, (registry: RegistryShape, inner: BlockDeviceShape) => Effect.Effect<void>]> = [
  ["disconnected", (_registry, inner) => inner.disconnect],
  ["destroyed", (registry) => registry.destroy("inner")]
]

const operations = (device: BlockDeviceShape) => {
  const buffer = new Uint8Array(sectorSize)
  return [
    ["read", device.read(0, buffer)],
    ["write", device.write(0, buffer)],
    ["flush", device.flush],
    ["discard", device.discard(0, 1)],
    ["resize", device.resize(4)],
    ["seekMapped", device.seekMapped(0)],
    ["seekUnmapped", device.seekUnmapped(0)]
  ] as const
}

describe("the simulated device over a lost device", () => {
  for (const backend of ["journal", "snapshot"] as const) {
    const setup = Effect.gen(function*() {
      const registry = yield* makeRegistry
      const inner = yield* Effect.orDie(registry.connect({ name: "inner", sizeSectors: 16 }))
      const domain = yield* Effect.orDie(CrashSimulator.make({
        devices: [backend === "snapshot" ? { device: inner, snapshots: inner } : { device: inner }]
      }))
      const wrapped = domain.devices[0]
      if (wrapped === undefined) return yield* Effect.die("no device")
      return { registry, inner, wrapped, simulator: domain.simulator }
    })

    for (const [lossName, lose] of losses) {
      it.effect(`${backend}: every operation fails Disconnected once the device beneath is ${lossName}`, () =>
        Effect.gen(function*() {
          const { inner, registry, simulator, wrapped } = yield* setup
          yield* wrapped.write(1, new Uint8Array(sectorSize).fill(1))
          yield* lose(registry, inner)
          expect(yield* wrapped.isConnected).toBe(false)
          for (const [name, operation] of operations(wrapped)) {
            const error = yield* Effect.flip(operation)
            expect([name, error._tag]).toEqual([name, "Disconnected"])
          }
          // Nothing was recorded for requests that never reached the device.
          expect(yield* simulator.pending).toBe(1)
          const error = yield* Effect.flip(simulator.crash())
          expect(error._tag).toBe("Disconnected")
        }))
    }

    it.effect(`${backend}: disconnecting the simulated device leaves the device beneath connected`, () =>
      Effect.gen(function*() {
        const { inner, wrapped } = yield* setup
        yield* wrapped.disconnect
        expect((yield* Effect.flip(wrapped.write(0, new Uint8Array(sectorSize))))._tag).toBe("Disconnected")
        expect(yield* inner.isConnected).toBe(true)
        yield* inner.write(0, new Uint8Array(sectorSize).fill(5))
        const back = new Uint8Array(sectorSize)
        yield* inner.read(0, back)
        expect(back[0]).toBe(5)
      }))
  }
})
