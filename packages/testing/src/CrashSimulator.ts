/**
 * A volatile write cache in front of a block device, and the power failures
 * that lose part of it: the tool for proving that storage code survives a
 * crash at any moment.
 *
 * `CrashSimulatorLive` wraps the `BlockDevice` it is given. Reads see every
 * write at once, as with a real disk cache. A write is durable once a later
 * `flush` has succeeded; until then it is pending and may or may not survive
 * a crash, in any combination and (with `torn`) in part. The simulator
 * records the history as epochs, each the writes between two durability
 * barriers, so a test can run a whole workload first and then crash into the
 * states of any epoch, the way dm-log-writes and CrashMonkey replay a
 * recorded block trace.
 *
 * Durability barriers:
 * - a successful `flush` makes every earlier write durable;
 * - `resize` is treated as a barrier too: it takes effect durably, together
 *   with every write before it (file systems and volume managers persist a
 *   size change before reporting it). A crash "during" it loses the size
 *   change and any subset of the writes before it;
 * - a failed `flush` or `resize` makes nothing durable.
 *
 * `discard` counts as a write (the range may or may not read as zeros after a
 * crash). A write that fails `IOError` is recorded with the data the device
 * holds afterwards, since the contract lets it be applied in part.
 *
 * @since 0.1.0
 */
import { BlockDevice, type BlockDeviceShape, InvalidRequest, IOError, type WriteError } from "@effect-block/block"
import { Ramdisk } from "@effect-block/ramdisk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Semaphore from "effect/Semaphore"
import { type Backend, type BackendKind, journalBackend, snapshotBackend } from "./internal/CrashBackend.js"
import * as States from "./internal/CrashStates.js"

/**
 * Options of {@link CrashSimulatorLive}.
 *
 * @since 0.1.0
 */
export interface CrashSimulatorOptions {
  /**
   * Drives `crash()` without a state and is the default seed of `states`.
   * Any number; it is reduced to 32 bits. Default 0.
   */
  readonly seed?: number | undefined
  /**
   * How durable images are kept. `"auto"` (the default) uses ramdisk
   * snapshots when the wrapped device is itself a `Ramdisk` handle from the
   * context, and the journal otherwise; `"journal"` always uses the journal.
   */
  readonly backend?: "auto" | "journal" | undefined
}

/**
 * Options of {@link CrashSimulatorShape.states}.
 *
 * @since 0.1.0
 */
export interface StatesOptions {
  /** The epoch to crash in: 0 is the first; default the current (open) one, whose writes are `pending`. */
  readonly epoch?: number | undefined
  /** Seed of the random sample taken when there are more than `limit` states. Default: the layer's seed. */
  readonly seed?: number | undefined
  /** At most this many states (an integer ≥ 2). Every state is listed when there are no more. Default 256. */
  readonly limit?: number | undefined
  /** Whether a pending write may land in part (a subset of its sectors). Default false. */
  readonly torn?: boolean | undefined
}

/**
 * One state the device may be in after a power failure: the durable image
 * of an epoch plus some of that epoch's writes. It is a self-contained value
 * (the image and the data to replay), so it stays valid after other crashes
 * and can be crashed into any number of times.
 *
 * @since 0.1.0
 */
export class CrashState {
  /** The epoch the crash happens in. */
  declare readonly epoch: number
  /** How many writes (and discards) were in flight in that epoch. */
  declare readonly writes: number
  /** Indices (in issue order, from 0) of the in-flight writes that landed in full. */
  declare readonly landed: ReadonlyArray<number>
  /** Indices of the in-flight writes that landed in part (only with `torn`). */
  declare readonly torn: ReadonlyArray<number>
  /**
   * Every `mark` label recorded on this timeline before the crash point (in
   * order): what the program had done, and told its users, before the power
   * failed. An oracle treats what these marks acknowledge as must-survive.
   */
  declare readonly marks: ReadonlyArray<string>
  /** @internal */
  declare readonly owner: object
  /** @internal */
  declare readonly image: unknown
  /** @internal */
  declare readonly pieces: ReadonlyArray<States.Op>

  /** @internal */
  constructor(
    fields: Pick<CrashState, "epoch" | "writes" | "landed" | "torn" | "marks" | "owner" | "image" | "pieces">
  ) {
    Object.assign(this, fields)
  }

  /** One line for test output, e.g. `epoch 3: 2 of 4 writes landed [0, 2], torn [3]`. */
  toString(): string {
    const torn = this.torn.length === 0 ? "" : `, torn [${this.torn.join(", ")}]`
    return `epoch ${this.epoch}: ${this.landed.length} of ${this.writes} writes landed [${this.landed.join(", ")}]${torn}`
  }
}

/**
 * The controls of a crash simulator.
 *
 * @since 0.1.0
 */
export interface CrashSimulatorShape {
  /** Which strategy keeps durable images: `"snapshot"` (ramdisk) or `"journal"` (any device). */
  readonly backend: BackendKind
  /** How many writes (and discards) are not durable yet: those of the current epoch. */
  readonly pending: Effect.Effect<number>
  /** How many epochs are recorded; the last is the current (open) one. */
  readonly epochs: Effect.Effect<number>
  /** Records a named point in the history; crash states after it list it in `marks`. */
  readonly mark: (label: string) => Effect.Effect<void>
  /**
   * The distinct post-crash states of an epoch (by the contents they leave),
   * always including "none of its writes landed" and "all of them landed".
   * All of them when there are at most `limit`; otherwise none, all, each
   * write left out, each write alone, then a seeded random sample.
   * Fails `InvalidRequest` for an unknown epoch or a bad option. Reading the
   * durable contents goes through the device, hence the other errors.
   */
  readonly states: (options?: StatesOptions) => Effect.Effect<ReadonlyArray<CrashState>, WriteError>
  /**
   * Makes the device hold exactly `state` (a seeded random state of the
   * pending writes when none is given), as if power failed and came back.
   * The pending set becomes empty, recording goes on in a new epoch, and the
   * state is returned. Fails `InvalidRequest` for a state of another
   * simulator.
   */
  readonly crash: (state?: CrashState) => Effect.Effect<CrashState, WriteError>
}

/**
 * The crash simulator service, provided with the wrapped `BlockDevice` by
 * {@link CrashSimulatorLive}.
 *
 * @since 0.1.0
 */
export class CrashSimulator
  extends Context.Service<CrashSimulator, CrashSimulatorShape>()("@effect-block/testing/CrashSimulator")
{}

/** A linked list of mark labels, so closing an epoch does not copy them. */
interface Marks {
  readonly label: string
  readonly previous: Marks | undefined
}

const marksToArray = (marks: Marks | undefined): Array<string> => {
  const labels: Array<string> = []
  for (let m = marks; m !== undefined; m = m.previous) labels.push(m.label)
  return labels.reverse()
}

const marksFromArray = (labels: ReadonlyArray<string>): Marks | undefined =>
  labels.reduce<Marks | undefined>((previous, label) => ({ label, previous }), undefined)

interface Epoch<B> {
  readonly image: B
  readonly ops: Array<States.Op>
  marks: Marks | undefined
}

const invalid = (message: string) => new InvalidRequest({ operation: "states", message: `states: ${message}` })

const checkStatesOptions = (
  options: StatesOptions,
  epochs: number
): InvalidRequest | undefined => {
  if (typeof options !== "object" || options === null) return invalid("options is not an object")
  const { epoch, limit } = options
  if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0 || epoch >= epochs)) {
    return invalid(`epoch ${String(epoch)} is not an epoch index from 0 to ${epochs - 1}`)
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 2)) {
    return invalid(`limit ${String(limit)} is not an integer ≥ 2 (a search always includes none and all)`)
  }
  if (options.torn !== undefined && typeof options.torn !== "boolean") return invalid("torn is not a boolean")
  if (options.seed !== undefined && typeof options.seed !== "number") return invalid("seed is not a number")
  return undefined
}

const make = <B>(
  device: BlockDeviceShape,
  backend: Backend<B>,
  sectorSize: number,
  firstImage: B,
  seed: number
) => {
  const owner = {}
  const lock = Semaphore.makeUnsafe(1)
  const random = States.makeRandom(seed)
  const epochs: Array<Epoch<B>> = [{ image: firstImage, ops: [], marks: undefined }]
  const open = (): Epoch<B> => epochs[epochs.length - 1] ?? { image: firstImage, ops: [], marks: undefined }

  const record = (op: States.Op) => {
    backend.afterChange(op.sectorStart, op.sectors, op.data)
    if (op.sectors > 0) open().ops.push(op)
  }

  /** Ends the open epoch at a barrier: what the device holds now is durable. */
  const barrier = Effect.suspend(() => {
    const current = open()
    if (current.ops.length === 0) return Effect.void
    return Effect.map(backend.capture, (image) => {
      epochs.push({ image, ops: [], marks: current.marks })
    })
  })

  const copyOf = (buffers: ReadonlyArray<Uint8Array>, sectors: number): Uint8Array => {
    const data = new Uint8Array(sectors * sectorSize)
    let offset = 0
    for (const buffer of buffers) {
      data.set(buffer, offset)
      offset += buffer.byteLength
    }
    return data
  }

  /** After an `IOError`, what the device really holds is the write's data. */
  const recordFailedWrite = (sectorStart: number, sectors: number) => {
    const data = new Uint8Array(sectors * sectorSize)
    return device.read(sectorStart, data).pipe(
      Effect.map(() => record({ sectorStart, sectors, data })),
      Effect.ignore
    )
  }

  const wrapped = BlockDevice.makeUnsafe({
    name: "crash simulator",
    info: device.info,
    read: (sectorStart, buffers) => lock.withPermit(device.read(sectorStart, buffers)),
    write: (sectorStart, buffers, sectors) =>
      lock.withPermit(
        Effect.andThen(
          backend.beforeChange(sectorStart, sectors),
          device.write(sectorStart, buffers).pipe(
            Effect.map(() => record({ sectorStart, sectors, data: copyOf(buffers, sectors) })),
            Effect.tapError((error) => error instanceof IOError ? recordFailedWrite(sectorStart, sectors) : Effect.void)
          )
        )
      ),
    flush: lock.withPermit(Effect.andThen(device.flush, barrier)),
    discard: (sectorStart, sectors) =>
      lock.withPermit(
        Effect.andThen(
          backend.beforeChange(sectorStart, sectors),
          device.discard(sectorStart, sectors).pipe(
            Effect.map(() => record({ sectorStart, sectors, data: undefined })),
            Effect.tapError((error) => error instanceof IOError ? recordFailedWrite(sectorStart, sectors) : Effect.void)
          )
        )
      ),
    resize: (sizeSectors) =>
      lock.withPermit(
        Effect.andThen(device.resize(sizeSectors), () => {
          backend.afterResize(sizeSectors)
          return barrier
        })
      ),
    seekMapped: (from) => lock.withPermit(device.seekMapped(from)),
    seekUnmapped: (from) => lock.withPermit(device.seekUnmapped(from))
  })

  const stateOf = (index: number, epoch: Epoch<B>, ops: ReadonlyArray<States.Op>, choice: States.Choice) =>
    new CrashState({
      epoch: index,
      writes: ops.length,
      landed: choice.landings.flatMap((landing, o) => landing === true ? [o] : []),
      torn: choice.landings.flatMap((landing, o) => landing instanceof Uint8Array ? [o] : []),
      marks: marksToArray(epoch.marks),
      owner,
      image: epoch.image,
      pieces: States.piecesOf(ops, sectorSize, choice)
    })

  const states = (options: StatesOptions = {}): Effect.Effect<ReadonlyArray<CrashState>, WriteError> =>
    lock.withPermit(Effect.suspend(() => {
      const bad = checkStatesOptions(options, epochs.length)
      if (bad !== undefined) return Effect.fail(bad)
      const index = options.epoch ?? epochs.length - 1
      const epoch = epochs[index] ?? open()
      // The open epoch keeps growing: search a copy of what is in flight now.
      const ops = epoch.ops.slice()
      const search = {
        seed: options.seed === undefined ? seed : States.normalizeSeed(options.seed),
        limit: options.limit ?? 256,
        torn: options.torn ?? false
      }
      return Effect.map(
        backend.readImage(epoch.image, States.touchedRuns(ops)),
        (contents) => States.search(ops, sectorSize, contents, search).map((choice) => stateOf(index, epoch, ops, choice))
      )
    }))

  const crash = (state?: CrashState): Effect.Effect<CrashState, WriteError> =>
    lock.withPermit(Effect.suspend(() => {
      if (state !== undefined && (!(state instanceof CrashState) || state.owner !== owner)) {
        return Effect.fail(
          new InvalidRequest({ operation: "crash", message: "crash: the state was not produced by this simulator's states()" })
        )
      }
      const target = state ?? (() => {
        const epoch = open()
        const ops = epoch.ops.slice()
        return stateOf(epochs.length - 1, epoch, ops, States.randomWhole(ops, random.next))
      })()
      // The owner check above makes the image this simulator's own kind.
      return Effect.map(backend.reset(target.image as B, target.pieces), (image) => {
        epochs.push({ image, ops: [], marks: marksFromArray(target.marks) })
        return target
      })
    }))

  const simulator: CrashSimulatorShape = {
    backend: backend.kind,
    pending: Effect.sync(() => open().ops.length),
    epochs: Effect.sync(() => epochs.length),
    mark: (label) =>
      Effect.sync(() => {
        const epoch = open()
        epoch.marks = { label: String(label), previous: epoch.marks }
      }),
    states,
    crash
  }
  return { device: wrapped, simulator }
}

/**
 * A layer that wraps the `BlockDevice` it is given in a simulated volatile
 * write cache, providing the wrapped device as `BlockDevice` and the
 * controls as {@link CrashSimulator}.
 *
 * When the wrapped device is a ramdisk handle that is also in the context
 * as `Ramdisk` (as `RamdiskLive` provides it), durable images are ramdisk
 * snapshots and each crash costs O(1) plus the replayed writes. Any other
 * device gets the journal: the simulator remembers every sector it changed,
 * and a crash rewrites the sectors that differ.
 *
 * @example
 * ```ts
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { CrashSimulatorLive } from "@effect-block/testing"
 * import { Layer } from "effect"
 *
 * const Disk = RamdiskLive({ name: "db", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive))
 * const CrashDisk = CrashSimulatorLive({ seed: 7 }).pipe(Layer.provide(Disk))
 * ```
 *
 * @since 0.1.0
 */
export const CrashSimulatorLive = (
  options: CrashSimulatorOptions = {}
): Layer.Layer<BlockDevice | CrashSimulator, never, BlockDevice> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const device = yield* BlockDevice
      const info = yield* device.info
      const ramdisk = yield* Effect.serviceOption(Ramdisk)
      const seed = States.normalizeSeed(options.seed)
      const viaSnapshots = options.backend !== "journal" && Option.isSome(ramdisk) &&
          (ramdisk.value as unknown) === (device as unknown) ?
        Option.some(snapshotBackend(ramdisk.value, info.sectorSize)) :
        Option.none()
      // A handle that cannot snapshot (disconnected already) falls back to the journal.
      const firstSnapshot = Option.isSome(viaSnapshots) ? yield* Effect.option(viaSnapshots.value.capture) : Option.none()
      const built = Option.isSome(viaSnapshots) && Option.isSome(firstSnapshot) ?
        make(device, viaSnapshots.value, info.sectorSize, firstSnapshot.value, seed) :
        yield* Effect.suspend(() => {
          const journal = journalBackend(device, info.sectorSize, info.sizeSectors)
          return Effect.map(journal.capture, (image) => make(device, journal, info.sectorSize, image, seed))
        }).pipe(Effect.orDie) // the journal captures in memory: it cannot fail
      return Context.make(CrashSimulator, built.simulator).pipe(Context.add(BlockDevice, built.device))
    })
  )
