/**
 * The model test on the ramdisk (with snapshots), and proof that it catches
 * a broken device, shrinks the failing sequence, and replays from its seed.
 */
import { BlockDevice, type InvalidRequest, Snapshots } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import {
  formatCommand,
  type ModelCommand,
  type ModelFailure,
  type ModelMismatch,
  runCommands,
  runModel
} from "@effect-block/testing"
import { modelTest } from "@effect-block/testing/vitest"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { flatDevice } from "./broken-devices.js"

/** The ModelFailure a model test ends in; any other outcome fails the test. */
const failureOf = <A>(run: Effect.Effect<A, ModelFailure | InvalidRequest>) =>
  Effect.flatMap(Effect.flip(run), (error) =>
    error._tag === "ModelFailure" ? Effect.succeed(error) : Effect.die(`expected a ModelFailure, got ${error.message}`))

/** The ModelMismatch a replay ends in; any other outcome fails the test. */
const mismatchOf = <A>(run: Effect.Effect<A, ModelMismatch | InvalidRequest>) =>
  Effect.flatMap(Effect.flip(run), (error) =>
    error._tag === "ModelMismatch" ? Effect.succeed(error) : Effect.die(`expected a ModelMismatch, got ${error.message}`))

const ramdisk = RamdiskLive({ name: "model", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive))

modelTest("ramdisk", ramdisk)
modelTest("ramdisk with 4096-byte sectors", RamdiskLive({ name: "model", sectorSize: 4096, sizeSectors: 48 }).pipe(Layer.provide(RegistryLive)))
modelTest("ramdisk with 1-byte sectors, across page boundaries", RamdiskLive({ name: "model", sectorSize: 1, sizeSectors: 9000 }).pipe(Layer.provide(RegistryLive)), { sectors: 8200, runs: 30 })
modelTest("correct sector-table device (no snapshots)", flatDevice())

describe("runModel", () => {
  it.effect("generates snapshots and restores for a ramdisk and passes", () =>
    Effect.gen(function*() {
      const report = yield* runModel(ramdisk, { seed: 42, runs: 30 })
      expect(report).toEqual({ seed: 42, runs: 30 })
    }))

  it.effect("catches a device that drops writes past sector 48, and shrinks to one write", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(runModel(flatDevice({ dropsWritesFrom: 48 }), { seed: 1, runs: 200 }))
      expect(failure.commands.length).toBe(1)
      const [write] = failure.commands
      expect(write?._tag).toBe("Write")
      expect(failure.mismatch?.step).toBe(0)
      expect(failure.message).toMatch(/seed: 1 /)
      expect(failure.message).toMatch(/sector 48/)
    }))

  it.effect("catches stale data after a shrink and a grow", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(runModel(flatDevice({ staleAfterResize: true }), { seed: 2, runs: 300 }))
      expect(failure.commands.map((c) => c._tag)).toEqual(["Write", "Resize", "Resize"])
    }))

  it.effect("catches a device that keeps the caller's buffer", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(runModel(flatDevice({ keepsBuffers: true }), { seed: 3, runs: 100 }))
      expect(failure.commands.map((c) => c._tag)).toEqual(["Write"])
    }))

  it.effect("catches a seek that skips data", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(runModel(flatDevice({ seekSkipsData: true }), { seed: 4, runs: 300 }))
      expect(failure.commands.map((c) => c._tag)).toEqual(["Write", "SeekMapped"])
    }))

  it.effect("catches a disconnect that does nothing", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(runModel(flatDevice({ disconnectDoesNothing: true }), { seed: 5, runs: 500 }))
      expect(failure.commands.map((c) => c._tag)).toEqual(["Disconnect", "Write"])
    }))

  it.effect("the same seed replays the same failure", () =>
    Effect.gen(function*() {
      const device = flatDevice({ dropsWritesFrom: 20 })
      const first = yield* failureOf(runModel(device, { seed: 99, runs: 200 }))
      const second = yield* failureOf(runModel(device, { seed: 99, runs: 200 }))
      expect(second.commands).toEqual(first.commands)
      expect(second.message).toEqual(first.message)
    }))
})

/** A ramdisk whose restore (its `Snapshots` capability) reports success but changes nothing. */
const restoreDoesNothing = Layer.effectContext(
  Effect.gen(function*() {
    const snapshots = yield* Snapshots
    const broken = { ...snapshots, restore: () => Effect.void }
    return Context.make(Snapshots, broken).pipe(Context.add(BlockDevice, yield* BlockDevice))
  })
).pipe(Layer.provide(ramdisk))

describe("runModel with snapshots", () => {
  it.effect("catches a ramdisk whose restore does nothing", () =>
    Effect.gen(function*() {
      const failure = yield* failureOf(runModel(restoreDoesNothing, { seed: 6, runs: 300 }))
      const tags = failure.commands.map((c) => c._tag)
      expect(tags).toContain("Snapshot")
      expect(tags[tags.length - 1]).toBe("Restore")
    }))

  it.effect("generates no snapshots when told not to, so the same broken ramdisk passes", () =>
    Effect.gen(function*() {
      yield* runModel(restoreDoesNothing, { seed: 6, runs: 50, snapshots: false })
    }))
})

describe("runCommands", () => {
  it.effect("replays a given sequence and names the step that disagrees", () =>
    Effect.gen(function*() {
      const commands: ReadonlyArray<ModelCommand> = [
        { _tag: "Write", sectorStart: 2, sectors: 3, fill: 9 },
        { _tag: "Resize", sizeSectors: 3 },
        { _tag: "Resize", sizeSectors: 10 },
        { _tag: "Read", sectorStart: 0, sectors: 10 }
      ]
      yield* runCommands(ramdisk, commands)
      const mismatch = yield* mismatchOf(runCommands(flatDevice({ staleAfterResize: true }), commands))
      expect(mismatch.step).toBe(2)
      expect(mismatch.command).toBe(formatCommand(commands[2]!))
    }))
})

describe("options and inputs", () => {
  it.effect.each([
    [{ seed: "7" }, "option seed \"7\" is invalid"],
    [{ runs: 0 }, "option runs 0 is invalid"],
    [{ steps: null }, "option steps null is invalid"],
    [{ snapshot: true }, "snapshot is not an option"]
  ] as const)("runModel refuses %j, naming the option", ([options, message]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(runModel(ramdisk, options as never))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(message)
    }))

  it.effect("runCommands refuses commands that are not commands, and ones past what the model holds", () =>
    Effect.gen(function*() {
      const malformed = yield* Effect.flip(runCommands(ramdisk, [{ _tag: "Write", sectorStart: -1, sectors: 1, fill: 0 }]))
      expect(malformed._tag).toBe("InvalidRequest")
      expect(malformed.message).toContain("the commands are malformed")
      const huge = yield* Effect.flip(runCommands(ramdisk, [{ _tag: "Read", sectorStart: 0, sectors: 2 ** 40 }]))
      expect(huge._tag).toBe("InvalidRequest")
      expect(huge.message).toContain("the reference model holds")
    }))

  it.effect("runCommands and runModel refuse a layer that is not a Layer", () =>
    Effect.gen(function*() {
      expect((yield* Effect.flip(runCommands({} as never, [])))._tag).toBe("InvalidRequest")
      expect((yield* Effect.flip(runModel(null as never))).message).toContain("is not a Layer")
    }))
})
