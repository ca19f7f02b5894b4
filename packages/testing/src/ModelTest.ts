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
import {
  BlockDevice,
  type BlockDeviceShape,
  formatError,
  type Info,
  type Snapshot,
  Snapshots,
  type SnapshotsShape
} from "@effect-block/block"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { checkSeek, firstDifference, isFilledWith, pattern } from "./internal/ConformanceKit.js"

/**
 * One step of a model test. Sector numbers are absolute and may fall past
 * the end (the step must then fail `InvalidRequest` and change nothing);
 * `Restore.snapshot` picks among the snapshots taken so far (modulo their
 * number); `Write.fill` chooses the data and how it is split into buffers.
 *
 * @since 0.1.0
 */
export const ModelCommand = Schema.Union([
  Schema.TaggedStruct("Write", { sectorStart: Schema.Number, sectors: Schema.Number, fill: Schema.Number }),
  Schema.TaggedStruct("Read", { sectorStart: Schema.Number, sectors: Schema.Number }),
  Schema.TaggedStruct("Discard", { sectorStart: Schema.Number, sectors: Schema.Number }),
  Schema.TaggedStruct("Resize", { sizeSectors: Schema.Number }),
  Schema.TaggedStruct("Flush", {}),
  Schema.TaggedStruct("SeekMapped", { from: Schema.Number }),
  Schema.TaggedStruct("SeekUnmapped", { from: Schema.Number }),
  Schema.TaggedStruct("Snapshot", {}),
  Schema.TaggedStruct("Restore", { snapshot: Schema.Number }),
  Schema.TaggedStruct("Disconnect", {})
])

/**
 * @since 0.1.0
 */
export type ModelCommand = typeof ModelCommand.Type

/**
 * How to run a model test. Capabilities (`resize`, `discard`, `seek`) mean
 * what they mean for the conformance suite: `false` makes the model expect
 * `Unimplemented` or the "everything mapped" seek defaults.
 *
 * @since 0.1.0
 */
export interface ModelOptions {
  /** Replays a run exactly, shrinking included. Default: a random seed, printed on failure. */
  readonly seed?: number | undefined
  /** How many random sequences to try (default 100). */
  readonly runs?: number | undefined
  /** The longest sequence, in commands (default 40). */
  readonly steps?: number | undefined
  /**
   * How many sectors the commands address (default: the device size, at most
   * 64). Commands reach a quarter beyond it, so some fall past the end, and
   * resizes stay within it plus that quarter.
   */
  readonly sectors?: number | undefined
  /** Whether to generate Snapshot and Restore (default: when the layer also provides `Snapshots`). */
  readonly snapshots?: boolean | undefined
  /** Whether to generate Disconnect (default true). */
  readonly disconnect?: boolean | undefined
  readonly resize?: boolean | undefined
  readonly discard?: boolean | undefined
  readonly seek?: boolean | undefined
  /** A bound on the shrinking search (default: Effect's). */
  readonly maxShrinks?: number | undefined
}

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

/** The settings every step needs, fixed for a whole model test. */
interface Settings {
  readonly resize: boolean
  readonly discard: boolean
  readonly seek: boolean
}

/**
 * Renders a command the way failures list it.
 *
 * @since 0.1.0
 */
export const formatCommand = (command: ModelCommand): string => {
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
  }
}

// ---------------------------------------------------------------------------
// generation
// ---------------------------------------------------------------------------

type Kind = ModelCommand["_tag"]

/** How often each command appears; Disconnect is rare because it ends the interesting part. */
const weights: ReadonlyArray<readonly [Kind, number]> = [
  ["Write", 28],
  ["Read", 14],
  ["Discard", 10],
  ["Resize", 6],
  ["Flush", 4],
  ["SeekMapped", 10],
  ["SeekUnmapped", 10],
  ["Snapshot", 6],
  ["Restore", 6],
  ["Disconnect", 1]
]

const between = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/**
 * An Arbitrary of command sequences addressing sectors `[0, reach]`. Shrinks
 * by dropping commands and by moving numbers toward 0 (a shrunk command
 * tends toward a small write).
 *
 * @since 0.1.0
 */
export const modelCommands = (options: {
  readonly reach: number
  readonly steps: number
  readonly snapshots: boolean
  readonly disconnect: boolean
}): Arbitrary.Arbitrary<Array<ModelCommand>> => {
  const table = weights.filter(([kind]) =>
    (options.snapshots || (kind !== "Snapshot" && kind !== "Restore")) && (options.disconnect || kind !== "Disconnect")
  )
  const total = table.reduce((sum, [, weight]) => sum + weight, 0)
  const kindOf = (roll: number): Kind => {
    let rest = roll
    for (const [kind, weight] of table) {
      if (rest < weight) return kind
      rest -= weight
    }
    return "Write"
  }
  const step = Arbitrary.all({
    roll: between(0, total - 1),
    a: between(0, options.reach),
    b: between(0, 8),
    fill: between(0, 255)
  }).pipe(Arbitrary.map(({ a, b, fill, roll }): ModelCommand => {
    const kind = kindOf(roll)
    switch (kind) {
      case "Write":
        return { _tag: "Write", sectorStart: a, sectors: b, fill }
      case "Read":
      case "Discard":
        return { _tag: kind, sectorStart: a, sectors: b }
      case "Resize":
        return { _tag: "Resize", sizeSectors: a }
      case "SeekMapped":
      case "SeekUnmapped":
        return { _tag: kind, from: a }
      case "Restore":
        return { _tag: "Restore", snapshot: a }
      case "Flush":
      case "Snapshot":
      case "Disconnect":
        return { _tag: kind }
    }
  }))
  return Arbitrary.array(step, { maxLength: options.steps })
}

// ---------------------------------------------------------------------------
// the reference model
// ---------------------------------------------------------------------------

interface Image {
  readonly size: number
  readonly data: Uint8Array
}

/**
 * The reference model: `size`, and the first `capacity` sectors as one flat
 * array. Sectors past `capacity` are never addressed, so they stay zero.
 */
class Model {
  size: number
  data: Uint8Array
  connected = true
  readonly snapshots: Array<Image> = []
  readonly sectorSize: number
  readonly capacity: number

  constructor(sizeSectors: number, sectorSize: number, capacity: number) {
    this.size = sizeSectors
    this.sectorSize = sectorSize
    this.capacity = capacity
    this.data = new Uint8Array(capacity * sectorSize)
  }

  inRange(sectorStart: number, sectors: number): boolean {
    return sectorStart + sectors <= this.size
  }

  write(sectorStart: number, bytes: Uint8Array): void {
    this.data.set(bytes, sectorStart * this.sectorSize)
  }

  zero(sectorStart: number, sectors: number): void {
    const end = Math.min(sectorStart + sectors, this.capacity)
    if (sectorStart < end) this.data.fill(0, sectorStart * this.sectorSize, end * this.sectorSize)
  }

  resize(sizeSectors: number): void {
    if (sizeSectors < this.size) this.zero(sizeSectors, this.capacity)
    this.size = sizeSectors
  }

  /** The bytes of the sectors the model knows, up to the size. */
  visible(): Uint8Array {
    return this.data.subarray(0, Math.min(this.size, this.capacity) * this.sectorSize)
  }

  nonZeroSectors(): ReadonlyArray<boolean> {
    const result: Array<boolean> = []
    for (let s = 0; s < Math.min(this.size, this.capacity); s++) {
      result.push(!isFilledWith(this.data.subarray(s * this.sectorSize, (s + 1) * this.sectorSize), 0))
    }
    return result
  }
}

// ---------------------------------------------------------------------------
// running one sequence
// ---------------------------------------------------------------------------

interface DeviceError {
  readonly _tag: string
  readonly message: string
}

type Outcome<A> = { readonly _tag: "Ok"; readonly value: A } | { readonly _tag: "Failed"; readonly error: DeviceError }

const attempt = <A>(effect: Effect.Effect<A, DeviceError>): Effect.Effect<Outcome<A>> =>
  Effect.match(effect, {
    onSuccess: (value): Outcome<A> => ({ _tag: "Ok", value }),
    onFailure: (error): Outcome<A> => ({ _tag: "Failed", error })
  })

/** The error tag the model expects for a call, or undefined if it should succeed. */
type Expected = string | undefined

const describeOutcome = (outcome: Outcome<unknown>) =>
  outcome._tag === "Ok" ? "succeeded" : `failed ${formatError(outcome.error)}`

/** The buffers a write is given: one, two, or a view with a non-zero offset, chosen by `fill`. */
const writeBuffers = (bytes: Uint8Array, sectorSize: number, fill: number): ReadonlyArray<Uint8Array> => {
  const sectors = bytes.length / sectorSize
  if (fill % 3 === 0 && sectors >= 2) {
    return [bytes.slice(0, sectorSize), bytes.slice(sectorSize)]
  }
  if (fill % 3 === 1) {
    const backing = new Uint8Array(bytes.length + 6)
    backing.set(bytes, 3)
    return [backing.subarray(3, 3 + bytes.length)]
  }
  return [bytes.slice()]
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
): Effect.Effect<void, ModelMismatch> => {
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
    const reach = reachFor(info, options.sectors)
    const model = new Model(info.sizeSectors, info.sectorSize, reach + 9)
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
      if (error._tag === "Some" && error.value instanceof ModelMismatch) return Effect.fail(error.value)
      return Effect.fail(mismatch(
        error._tag === "Some" ?
          `unexpected failure: ${String((error.value as { message?: unknown })?.message ?? error.value)}` :
          `the device died: ${Cause.pretty(cause)}`
      ))
    })
  )
}

const reachFor = (info: Info, sectors: number | undefined) => {
  const region = Math.max(1, sectors ?? Math.min(info.sizeSectors, 64))
  return region + Math.ceil(region / 4)
}

/** Reads the model's whole region back and compares size and contents. */
const compare = (device: BlockDeviceShape, model: Model) =>
  Effect.gen(function*() {
    const { sizeSectors } = yield* device.info
    if (sizeSectors !== model.size) return `info says ${sizeSectors} sectors, the model ${model.size}`
    if (!model.connected) return undefined
    const expected = model.visible()
    const actual = new Uint8Array(expected.length)
    const read = yield* attempt(device.read(0, actual))
    if (read._tag === "Failed") return `reading the device back ${describeOutcome(read)}`
    const difference = firstDifference(actual, expected, model.sectorSize, 0)
    return difference === undefined ? undefined : `after the step, ${difference}`
  })

/** The outcome the model expects: Disconnected first, then Unimplemented, then InvalidRequest. */
const expectedOf = (model: Model, supported: boolean, valid: boolean): Expected =>
  !model.connected ? "Disconnected" : !supported ? "Unimplemented" : !valid ? "InvalidRequest" : undefined

const checkOutcome = (what: string, outcome: Outcome<unknown>, expected: Expected): string | undefined => {
  if (expected === undefined) return outcome._tag === "Ok" ? undefined : `${what} ${describeOutcome(outcome)}, expected success`
  if (outcome._tag === "Failed" && outcome.error._tag === expected) return undefined
  return `${what} ${describeOutcome(outcome)}, expected ${expected}`
}

/** Runs one command on both sides; returns what went wrong, if anything. */
const runStep = (
  device: BlockDeviceShape,
  snapshots: SnapshotsShape | undefined,
  model: Model,
  deviceSnapshots: Array<Snapshot>,
  command: ModelCommand,
  settings: Settings
): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const { sectorSize } = model
    switch (command._tag) {
      case "Write": {
        const { fill, sectorStart, sectors } = command
        const bytes = pattern(fill + 1, sectorStart, sectors, sectorSize)
        const buffers = writeBuffers(bytes, sectorSize, fill)
        const expected = expectedOf(model, true, model.inRange(sectorStart, sectors))
        const outcome = yield* attempt(device.write(sectorStart, buffers))
        // The caller may reuse its buffers at once: scribbling on them must change nothing.
        for (const buffer of buffers) buffer.fill(0xee)
        if (expected === undefined && outcome._tag === "Ok") model.write(sectorStart, bytes)
        return checkOutcome("write", outcome, expected)
      }
      case "Read": {
        const { sectorStart, sectors } = command
        const buffer = new Uint8Array(sectors * sectorSize).fill(0xa5)
        const expected = expectedOf(model, true, model.inRange(sectorStart, sectors))
        const outcome = yield* attempt(device.read(sectorStart, buffer))
        const problem = checkOutcome("read", outcome, expected)
        if (problem !== undefined) return problem
        if (expected === undefined) {
          const want = model.data.subarray(sectorStart * sectorSize, (sectorStart + sectors) * sectorSize)
          const difference = firstDifference(buffer, want, sectorSize, sectorStart)
          return difference === undefined ? undefined : `read returned different data: ${difference}`
        }
        if (expected === "InvalidRequest" && !isFilledWith(buffer, 0xa5)) return "a rejected read wrote into the buffer"
        return undefined
      }
      case "Discard": {
        const { sectorStart, sectors } = command
        const expected = expectedOf(model, settings.discard, model.inRange(sectorStart, sectors))
        const outcome = yield* attempt(device.discard(sectorStart, sectors))
        if (expected === undefined && outcome._tag === "Ok") model.zero(sectorStart, sectors)
        return checkOutcome("discard", outcome, expected)
      }
      case "Resize": {
        const expected = expectedOf(model, settings.resize, true)
        const outcome = yield* attempt(device.resize(command.sizeSectors))
        if (expected === undefined && outcome._tag === "Ok") model.resize(command.sizeSectors)
        return checkOutcome("resize", outcome, expected)
      }
      case "Flush":
        return checkOutcome("flush", yield* attempt(device.flush), expectedOf(model, true, true))
      case "SeekMapped":
      case "SeekUnmapped": {
        const seek = command._tag === "SeekMapped" ? "seekMapped" : "seekUnmapped"
        const expected = expectedOf(model, true, command.from <= model.size)
        const outcome = yield* attempt(device[seek](command.from))
        const problem = checkOutcome(seek, outcome, expected)
        if (problem !== undefined || outcome._tag === "Failed") return problem
        return checkSeek(seek, settings.seek, command.from, outcome.value, model.size, model.nonZeroSectors())
      }
      case "Snapshot": {
        if (snapshots === undefined) return undefined
        const outcome = yield* attempt(snapshots.snapshot)
        const problem = checkOutcome("snapshot", outcome, expectedOf(model, true, true))
        if (problem === undefined && outcome._tag === "Ok") {
          deviceSnapshots.push(outcome.value)
          model.snapshots.push({ size: model.size, data: model.data.slice() })
        }
        return problem
      }
      case "Restore": {
        const count = deviceSnapshots.length
        if (snapshots === undefined || count === 0) return undefined
        const index = command.snapshot % count
        const outcome = yield* attempt(snapshots.restore(deviceSnapshots[index]!))
        const expected = expectedOf(model, true, true)
        const image = model.snapshots[index]!
        if (expected === undefined && outcome._tag === "Ok") {
          model.size = image.size
          model.data = image.data.slice()
        }
        return checkOutcome(`restore of snapshot ${index}`, outcome, expected)
      }
      case "Disconnect": {
        yield* device.disconnect
        model.connected = false
        return undefined
      }
    }
  })

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
): Effect.Effect<ModelReport, ModelFailure> =>
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
    const snapshots = options.snapshots ?? Option.isSome(probe.value.snapshots)
    const steps = options.steps ?? 40
    const runs = options.runs ?? 100
    const arbitrary = modelCommands({
      reach: reachFor(info, options.sectors),
      steps,
      snapshots,
      disconnect: options.disconnect ?? true
    })
    const result = yield* Arbitrary.checkEffect(
      arbitrary,
      (commands) => Effect.as(runCommands(layer, commands, options), true),
      { seed, runs, size: steps, ...(options.maxShrinks === undefined ? {} : { maxShrinks: options.maxShrinks }) }
    )
    switch (result._tag) {
      case "Passed":
        return { seed, runs: result.runs }
      case "Falsified": {
        // Run the shrunk sequence once more, for the mismatch it produces; the
        // commands after the failing step played no part, so they are dropped.
        const replayed = yield* Effect.flip(runCommands(layer, result.shrunkInput, options)).pipe(
          Effect.map(Option.some),
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
