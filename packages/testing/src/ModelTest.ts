/**
 * Model-based property tests for block devices: random sequences of every
 * operation run against the device and against a reference model (one flat
 * byte array and a size), compared after every step. A failing sequence is
 * shrunk to a minimal one and reported with the seed that replays it.
 *
 * Where the conformance suite (`conformanceRules`) checks each rule alone,
 * this finds what only a history reveals: stale pages after a shrink, a
 * snapshot that shares memory with later writes, a seek index that drifts.
 * {@link runModel} runs it from plain Effect code; `modelTest` from
 * `@effect-block/testing/vitest` registers it as a test. Snapshot and
 * Restore commands use the `Snapshots` capability when the layer provides
 * it (the ramdisk does).
 *
 * @since 0.1.0
 */
import { BlockDevice, InvalidRequest, type Snapshot, Snapshots } from "@effect-block/block"
import { describeValue, SectorNumber } from "@effect-block/block/Implementer"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { modelCommands } from "./internal/ModelCommands.js"
import { isLayer } from "./internal/Guards.js"
import { decodeOptions } from "./internal/Options.js"
import { compare, Model, reachFor, runStep, type Settings } from "./internal/ModelSteps.js"

/**
 * One step of a model test. Sector numbers are absolute and may fall past
 * the end (the step must then fail `InvalidRequest` and change nothing);
 * `Restore.snapshot` picks among the snapshots taken so far (modulo their
 * number); `Write.fill` chooses the data and how it is split into buffers.
 *
 * @since 0.1.0
 */
export const ModelCommand = Schema.Union([
  Schema.TaggedStruct("Write", { sectorStart: SectorNumber, sectors: SectorNumber, fill: SectorNumber }),
  Schema.TaggedStruct("Read", { sectorStart: SectorNumber, sectors: SectorNumber }),
  Schema.TaggedStruct("Discard", { sectorStart: SectorNumber, sectors: SectorNumber }),
  Schema.TaggedStruct("Resize", { sizeSectors: SectorNumber }),
  Schema.TaggedStruct("Flush", {}),
  Schema.TaggedStruct("SeekMapped", { from: SectorNumber }),
  Schema.TaggedStruct("SeekUnmapped", { from: SectorNumber }),
  Schema.TaggedStruct("Snapshot", {}),
  Schema.TaggedStruct("Restore", { snapshot: SectorNumber }),
  Schema.TaggedStruct("Disconnect", {})
])

/**
 * One step of a model test, as the {@link ModelCommand} schema decodes it.
 *
 * @since 0.1.0
 */
export type ModelCommand = typeof ModelCommand.Type

const Count = (minimum: number, maximum: number) =>
  Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum, maximum }))

/**
 * How to run a model test, as an `effect/Schema` struct: `runModel` and
 * `runCommands` decode their options with it, so a malformed option is an
 * `InvalidRequest` naming it. Capabilities (`resize`, `discard`, `seek`)
 * mean what they mean for the conformance suite: `false` makes the model
 * expect `Unimplemented` or the "everything mapped" seek defaults.
 *
 * @since 0.1.0
 */
export const ModelOptions = Schema.Struct({
  /** Replays a run exactly, shrinking included. Default: a random seed, printed on failure. */
  seed: Schema.optional(Schema.Number.check(Schema.isInt())),
  /** How many random sequences to try, 1 to 100000 (default 100). */
  runs: Schema.optional(Count(1, 100_000)),
  /** The longest sequence, in commands, 0 to 10000 (default 40). */
  steps: Schema.optional(Count(0, 10_000)),
  /**
   * How many sectors the commands address, 1 to 1048576 (default: the
   * device size, at most 64). Commands reach a quarter beyond it, so some
   * fall past the end, and resizes stay within it plus that quarter.
   */
  sectors: Schema.optional(Count(1, 1_048_576)),
  /** Whether to generate Snapshot and Restore (default: when the layer also provides `Snapshots`). */
  snapshots: Schema.optional(Schema.Boolean),
  /** Whether to generate Disconnect (default true). */
  disconnect: Schema.optional(Schema.Boolean),
  /** Whether the device can resize (default true). */
  resize: Schema.optional(Schema.Boolean),
  /** Whether the device can discard (default true). */
  discard: Schema.optional(Schema.Boolean),
  /** Whether the device can seek (default true). */
  seek: Schema.optional(Schema.Boolean),
  /** A bound on the shrinking search, 0 to 100000 (default: Effect's). */
  maxShrinks: Schema.optional(Count(0, 100_000))
})

/**
 * How to run a model test, as the {@link ModelOptions} schema decodes it.
 *
 * @since 0.1.0
 */
export interface ModelOptions extends Schema.Schema.Type<typeof ModelOptions> {}

const decodeModelOptions = decodeOptions(ModelOptions, "modelTest")

const decodeCommands = Schema.decodeUnknownExit(Schema.Array(ModelCommand))

/** The most the reference model holds: it is one flat array in memory. */
const maxModelBytes = 64 * 1024 * 1024

/** The commands, read once into fresh plain values, or the InvalidRequest saying which is malformed. */
const readCommands = (commands: unknown): ReadonlyArray<ModelCommand> | InvalidRequest => {
  try {
    const exit = decodeCommands(commands)
    if (Exit.isSuccess(exit)) return exit.value
    const reason = exit.cause.reasons[0]
    const detail = reason?._tag === "Fail" ? reason.error.message.split("\n").slice(0, 2).join(" ") : "reading them threw"
    return new InvalidRequest({ operation: "runCommands", message: `runCommands: the commands are malformed: ${detail}` })
  } catch {
    return new InvalidRequest({ operation: "runCommands", message: "runCommands: the commands are malformed: reading them threw" })
  }
}

/** The last sector a command may touch, plus one: how many sectors the model must hold for it. */
const extentOf = (command: ModelCommand): number => {
  switch (command._tag) {
    case "Write":
    case "Read":
    case "Discard":
      return command.sectorStart + command.sectors
    case "Resize":
      return command.sizeSectors
    case "SeekMapped":
    case "SeekUnmapped":
      return command.from
    default:
      return 0
  }
}

const notALayer = (operation: string, layer: unknown) =>
  new InvalidRequest({ operation, message: `${operation}: layer ${describeValue(layer)} is not a Layer` })

/**
 * The device and the model disagreed at `step` (0-based) of a sequence.
 *
 * @since 0.1.0
 */
export class ModelMismatch extends Schema.TaggedError<ModelMismatch>()("ModelMismatch", {
  step: Schema.Number,
  command: Schema.String,
  message: Schema.String
}) {}

/**
 * A model test found a sequence on which the device and the model disagree.
 * `commands` is the shrunk sequence (replay it with {@link runCommands}),
 * `mismatch` what went wrong at which step, `seed` replays the whole run
 * with {@link runModel} or `modelTest`, and `message` says all of it.
 *
 * @since 0.1.0
 */
export class ModelFailure extends Schema.TaggedError<ModelFailure>()("ModelFailure", {
  message: Schema.String,
  seed: Schema.Number,
  replay: Schema.String,
  commands: Schema.Array(ModelCommand),
  mismatch: Schema.optional(ModelMismatch)
}) {}

/**
 * What a passing model test did.
 *
 * @since 0.1.0
 */
export interface ModelReport {
  readonly seed: number
  readonly runs: number
}

/**
 * Renders a command the way failures list it.
 *
 * @since 0.1.0
 */
export const formatCommand = (command: ModelCommand): string => {
  try {
    return formatKnown(command)
  } catch {
    return "(a malformed command)"
  }
}

const formatKnown = (command: ModelCommand): string => {
  switch (command._tag) {
    case "Write":
      return `Write(sectorStart ${command.sectorStart}, sectors ${command.sectors}, fill ${command.fill})`
    case "Read":
    case "Discard":
      return `${command._tag}(sectorStart ${command.sectorStart}, sectors ${command.sectors})`
    case "Resize":
      return `Resize(${command.sizeSectors})`
    case "SeekMapped":
    case "SeekUnmapped":
      return `${command._tag}(${command.from})`
    case "Restore":
      return `Restore(snapshot ${command.snapshot})`
    case "Flush":
    case "Snapshot":
    case "Disconnect":
      return command._tag
    default:
      return "(a malformed command)"
  }
}


/**
 * Runs one sequence against a fresh device from `layer` and the model,
 * failing with {@link ModelMismatch} at the first disagreement: a different
 * outcome (success or error tag), different data read, a seek breaking its
 * guarantee, or different contents or size after the step.
 *
 * @since 0.1.0
 */
export const runCommands = <E>(
  layer: Layer.Layer<BlockDevice, E>,
  commands: ReadonlyArray<ModelCommand>,
  options: Pick<ModelOptions, "sectors" | "resize" | "discard" | "seek"> = {}
): Effect.Effect<void, ModelMismatch | InvalidRequest> =>
  Effect.suspend(() => {
    if (!isLayer(layer)) return Effect.fail(notALayer("runCommands", layer))
    const decoded = decodeModelOptions(options)
    if (decoded instanceof InvalidRequest) return Effect.fail(decoded)
    const list = readCommands(commands)
    if (list instanceof InvalidRequest) return Effect.fail(list)
    return runDecoded(layer, list, decoded)
  })

const runDecoded = <E>(
  layer: Layer.Layer<BlockDevice, E>,
  commands: ReadonlyArray<ModelCommand>,
  options: ModelOptions
): Effect.Effect<void, ModelMismatch | InvalidRequest> => {
  const settings: Settings = {
    resize: options.resize ?? true,
    discard: options.discard ?? true,
    seek: options.seek ?? true
  }
  let step = -1
  const mismatch = (message: string) =>
    new ModelMismatch({
      step,
      command: step >= 0 && step < commands.length ? formatCommand(commands[step]!) : "(setup)",
      message
    })
  const body = Effect.gen(function*() {
    const device = yield* BlockDevice
    const snapshots = yield* Effect.serviceOption(Snapshots)
    const info = yield* device.info
    const capacity = commands.reduce((most, command) => Math.max(most, extentOf(command)), reachFor(info, options.sectors) + 9)
    if (capacity * info.sectorSize > maxModelBytes) {
      return yield* Effect.fail(new InvalidRequest({
        operation: "runCommands",
        message: `runCommands: the commands reach sector ${capacity - 1}, past the ${
          Math.floor(maxModelBytes / info.sectorSize)
        } sectors of ${info.sectorSize} bytes (64 MiB) that the reference model holds`
      }))
    }
    const model = new Model(info.sizeSectors, info.sectorSize, capacity)
    const deviceSnapshots: Array<Snapshot> = []
    for (step = 0; step < commands.length; step++) {
      const problem = yield* runStep(device, Option.getOrUndefined(snapshots), model, deviceSnapshots, commands[step]!, settings)
      if (problem !== undefined) return yield* Effect.fail(mismatch(problem))
      const after = yield* compare(device, model)
      if (after !== undefined) return yield* Effect.fail(mismatch(after))
    }
  })
  return Effect.provide(body, layer, { local: true }).pipe(
    Effect.catchCause((cause) => {
      const error = Cause.findErrorOption(cause)
      if (error._tag === "Some" && (error.value instanceof ModelMismatch || error.value instanceof InvalidRequest)) {
        return Effect.fail(error.value)
      }
      return Effect.fail(mismatch(
        error._tag === "Some" ?
          `unexpected failure: ${String((error.value as { message?: unknown })?.message ?? error.value)}` :
          `the device died: ${Cause.pretty(cause)}`
      ))
    })
  )
}

// ---------------------------------------------------------------------------
// running many sequences
// ---------------------------------------------------------------------------

const failure = (
  message: string,
  seed: number,
  fields: { readonly replay?: string; readonly commands?: ReadonlyArray<ModelCommand>; readonly mismatch?: ModelMismatch }
) =>
  new ModelFailure({
    message,
    seed,
    replay: fields.replay ?? "",
    commands: fields.commands ?? [],
    ...(fields.mismatch === undefined ? {} : { mismatch: fields.mismatch })
  })

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`

const listing = (commands: ReadonlyArray<ModelCommand>, mismatch: ModelMismatch | undefined) =>
  commands.length === 0 ?
    "  (no commands: the fresh device already disagrees with the model)" :
    commands.map((command, i) => `  ${i}. ${formatCommand(command)}${mismatch?.step === i ? "   <-- here" : ""}`).join("\n")

/**
 * Runs a model test without vitest: `runs` random command sequences, each
 * on a freshly built device, compared with the reference model after every
 * step. Succeeds with the seed used, or fails with {@link ModelFailure}
 * carrying the shrunk sequence and the seed that replays the whole run.
 *
 * Snapshot and Restore are generated when the layer also provides `Snapshots`
 * (or when `options.snapshots` says so). The device must start zero-filled
 * and writable; its geometry is read from `info`.
 *
 * @since 0.1.0
 */
export const runModel = <E>(
  layer: Layer.Layer<BlockDevice, E>,
  options: ModelOptions = {}
): Effect.Effect<ModelReport, ModelFailure | InvalidRequest> =>
  Effect.suspend(() => {
    if (!isLayer(layer)) return Effect.fail(notALayer("runModel", layer))
    const decoded = decodeModelOptions(options)
    return decoded instanceof InvalidRequest ? Effect.fail(decoded) : runDecodedModel(layer, decoded)
  })

const runDecodedModel = <E>(
  layer: Layer.Layer<BlockDevice, E>,
  options: ModelOptions
): Effect.Effect<ModelReport, ModelFailure | InvalidRequest> =>
  Effect.gen(function*() {
    const seed = options.seed ?? (yield* Random.nextIntBetween(0, 2 ** 31 - 1))
    const probe = yield* Effect.exit(Effect.provide(
      Effect.gen(function*() {
        const device = yield* BlockDevice
        return { info: yield* device.info, snapshots: yield* Effect.serviceOption(Snapshots) }
      }),
      layer,
      { local: true }
    ))
    if (probe._tag === "Failure") {
      return yield* Effect.fail(failure(`the layer failed to build: ${Cause.pretty(probe.cause)}`, seed, {}))
    }
    const { info } = probe.value
    const reach = reachFor(info, options.sectors)
    if ((reach + 9) * info.sectorSize > maxModelBytes) {
      return yield* Effect.fail(new InvalidRequest({
        operation: "runModel",
        message: `runModel: option sectors ${options.sectors} reaches past the 64 MiB the reference model holds (${
          Math.floor(maxModelBytes / info.sectorSize)
        } sectors of ${info.sectorSize} bytes)`
      }))
    }
    const snapshots = options.snapshots ?? Option.isSome(probe.value.snapshots)
    const steps = options.steps ?? 40
    const runs = options.runs ?? 100
    const arbitrary = modelCommands({
      reach,
      steps,
      snapshots,
      disconnect: options.disconnect ?? true
    })
    const result = yield* Arbitrary.checkEffect(
      arbitrary,
      (commands) => Effect.as(runDecoded(layer, commands, options), true),
      { seed, runs, size: steps, ...(options.maxShrinks === undefined ? {} : { maxShrinks: options.maxShrinks }) }
    )
    switch (result._tag) {
      case "Passed":
        return { seed, runs: result.runs }
      case "Falsified": {
        // Run the shrunk sequence once more, for the mismatch it produces; the
        // commands after the failing step played no part, so they are dropped.
        const replayed = yield* Effect.flip(runDecoded(layer, result.shrunkInput, options)).pipe(
          Effect.map((error) => error instanceof ModelMismatch ? Option.some(error) : Option.none<ModelMismatch>()),
          Effect.catch(() => Effect.succeed(Option.none<ModelMismatch>()))
        )
        const mismatch = Option.getOrUndefined(replayed)
        const commands = mismatch === undefined ? result.shrunkInput : result.shrunkInput.slice(0, mismatch.step + 1)
        const message = [
          `the device disagreed with the reference model (run ${result.runs}; ${plural(result.initialInput.length, "command")} shrunk to ${commands.length} in ${plural(result.shrinks, "shrink")}):`,
          listing(commands, mismatch),
          mismatch === undefined ?
            "  (the shrunk sequence did not fail again: the device is not deterministic)" :
            `step ${mismatch.step}, ${mismatch.command}: ${mismatch.message}`,
          `seed: ${seed} (replay with the option { seed: ${seed} }, or run these commands with runCommands)`
        ].join("\n")
        return yield* Effect.fail(failure(message, seed, {
          replay: result.replay,
          commands,
          ...(mismatch === undefined ? {} : { mismatch })
        }))
      }
      case "Exhausted":
      case "ReplayMismatch":
        return yield* Effect.fail(
          failure(`${Arbitrary.formatCheckFailure(result) ?? result._tag}\nseed: ${seed}`, seed, {})
        )
    }
  })
