/**
 * One step of a model test: the reference model (a size and one flat byte
 * array), the command run on both the device and the model, and the
 * comparison after it. `runCommands` and `runModel` (ModelTest.ts) drive
 * these over whole sequences.
 *
 * @since 0.2.0
 * @internal
 */
import { type BlockDeviceShape, formatError, type Info, type Snapshot, type SnapshotsShape } from "@effect-block/block"
import * as Effect from "effect/Effect"
import type { ModelCommand } from "../ModelTest.js"
import { checkSeek, firstDifference, isFilledWith, pattern } from "./ConformanceKit.js"

/** The settings every step needs, fixed for a whole model test. */
export interface Settings {
  readonly resize: boolean
  readonly discard: boolean
  readonly seek: boolean
}

interface Image {
  readonly size: number
  readonly data: Uint8Array
}

/**
 * The reference model: `size`, and the first `capacity` sectors as one flat
 * array. Sectors past `capacity` are never addressed, so they stay zero.
 */
export class Model {
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

export const reachFor = (info: Info, sectors: number | undefined) => {
  const region = Math.max(1, sectors ?? Math.min(info.sizeSectors, 64))
  return region + Math.ceil(region / 4)
}

/** Reads the model's whole region back and compares size and contents. */
export const compare = (device: BlockDeviceShape, model: Model) =>
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
export const runStep = (
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
