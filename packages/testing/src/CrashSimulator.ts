/**
 * A volatile write cache in front of block devices, and the power failures
 * that lose part of it: the tool for proving that storage code survives a
 * crash at any moment. The contract it simulates is docs/crash-testing.md.
 *
 * `CrashSimulatorLive` wraps the `BlockDevice` it is given;
 * `CrashSimulator.make` wraps several devices in one power domain, so a
 * crash takes them all at once. Reads see every write at once, as with a
 * real disk cache. A write-type operation (write, discard, resize) is
 * durable once a later `flush` of its device has succeeded; until then it
 * is pending and may or may not survive a crash, in any combination and
 * (with `torn`) in part. One that failed or was interrupted in flight is
 * pending with unknown extent: any of its sectors may or may not have
 * landed. The simulator records the history as epochs, each ended by a
 * flush, so a test can run a whole workload first and then crash into the
 * states of any epoch, the way dm-log-writes and CrashMonkey replay a
 * recorded block trace.
 *
 * @since 0.1.0
 */
import {
  BlockDevice,
  type BlockDeviceShape,
  InvalidRequest,
  Snapshots,
  type SnapshotsShape,
  type WriteError
} from "@effect-block/block"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { CrashState, CrashStates } from "./CrashState.js"
import { type Backend, type BackendKind, snapshotBackend } from "./internal/CrashBackend.js"
import { makeDomain, type Member } from "./internal/CrashDomain.js"
import { decodeOptions, Seed, type StatesOptions } from "./internal/CrashOptions.js"
import { journalBackend } from "./internal/CrashJournal.js"

export { Seed, StatesOptions } from "./internal/CrashOptions.js"

/**
 * The options of {@link CrashSimulatorLive} and `CrashSimulator.make`, as a
 * schema: a malformed option is an `InvalidRequest` naming it.
 *
 * - `seed`: drives `crash()` without a state and the samples of `states()`
 *   without a seed. Default 0.
 * - `backend` (layer only): `"journal"` (the default) works over any
 *   device; `"snapshot"` keeps durable images as snapshots of the device and
 *   needs the `Snapshots` capability (the ramdisk provides it).
 * - `keepEpochs`: keep at most this many closed epochs; older ones are
 *   forgotten, so long explorations run in bounded memory. Default: all.
 *
 * @since 0.2.0
 */
export const CrashSimulatorOptions = Schema.Struct({
  seed: Schema.optional(Seed),
  backend: Schema.optional(Schema.Literals(["journal", "snapshot"])),
  keepEpochs: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})

/**
 * Options of {@link CrashSimulatorLive}.
 *
 * @since 0.1.0
 */
export type CrashSimulatorOptions = typeof CrashSimulatorOptions.Type

/**
 * The controls of a crash simulator (one power domain).
 *
 * @since 0.1.0
 */
export interface CrashSimulatorShape {
  /** How the first device's durable images are kept: `"snapshot"` or `"journal"`. */
  readonly backend: BackendKind
  /** How each device of the domain keeps its durable images, by device index. */
  readonly backends: ReadonlyArray<BackendKind>
  /** How many write-type operations are pending now, over every device of the domain. */
  readonly pending: Effect.Effect<number>
  /** How many epochs have been recorded (forgotten ones included); the last is the open one. */
  readonly epochs: Effect.Effect<number>
  /** The oldest epoch still kept; earlier ones were forgotten (`forget`, `keepEpochs`). */
  readonly firstEpoch: Effect.Effect<number>
  /**
   * Records a named point in the history; crash states after it list it in
   * `marks`, and each pending write names the last mark before it. Never
   * fails: a label that is not a string is recorded as a description of it.
   */
  readonly mark: (label: string) => Effect.Effect<void>
  /**
   * The distinct post-crash states of an epoch (by the contents and sizes
   * they leave), with what they cover. Every in-order prefix ("the first k
   * pending writes landed", none and all included) is always listed; then
   * every state when there are at most `limit`, otherwise each write left
   * out, each write alone, and a seeded random sample. Computed from the
   * recorded history alone: it never touches a device. Fails
   * `InvalidRequest` for an unknown or forgotten epoch or a bad option.
   */
  readonly states: (options?: StatesOptions) => Effect.Effect<CrashStates, InvalidRequest>
  /**
   * Makes every device of the domain hold exactly `state` (contents and
   * size), as if power failed and came back; without a state, a seeded
   * random state of the pending writes. The pending set becomes empty,
   * recording goes on in a new epoch, and the state is returned. Fails
   * `InvalidRequest` for a state this simulator did not produce, and with
   * the devices' errors (`Disconnected` for a device that is gone).
   */
  readonly crash: (state?: CrashState) => Effect.Effect<CrashState, WriteError>
  /**
   * Forgets every closed epoch (their states can no longer be listed; states
   * already listed stay valid), so memory stays bounded in long explorations.
   */
  readonly forget: Effect.Effect<void>
}

/**
 * One device of a power domain for `CrashSimulator.make`: the device, and,
 * to keep its durable images as snapshots, its `Snapshots` capability.
 *
 * @since 0.2.0
 */
export interface DomainDevice {
  readonly device: BlockDeviceShape
  readonly snapshots?: SnapshotsShape | undefined
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const isDevice = (u: unknown): u is BlockDeviceShape =>
  isObject(u) && typeof u.read === "function" && typeof u.write === "function" && isObject(u.info)

const isSnapshots = (u: unknown): u is SnapshotsShape =>
  isObject(u) && isObject(u.snapshot) && typeof u.restore === "function"

/**
 * The input of `CrashSimulator.make`, as a schema: the devices of the power
 * domain (at least one) and the simulator's options.
 *
 * @since 0.2.0
 */
export const DomainOptions = Schema.Struct({
  devices: Schema.Array(Schema.Struct({
    device: Schema.declare(isDevice, { title: "BlockDevice" }),
    snapshots: Schema.optional(Schema.declare(isSnapshots, { title: "Snapshots" }))
  })).check(Schema.isMinLength(1)),
  seed: Schema.optional(Seed),
  keepEpochs: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})

/**
 * Input of `CrashSimulator.make`.
 *
 * @since 0.2.0
 */
export type DomainOptions = typeof DomainOptions.Type

const memberOf = (entry: DomainDevice): Effect.Effect<Member, WriteError> =>
  Effect.gen(function*() {
    const { device, snapshots } = entry
    const info = yield* device.info
    const backend: Backend<unknown> = snapshots === undefined ?
      journalBackend(device, info.sectorSize, info.sizeSectors) as Backend<unknown> :
      snapshotBackend(device, snapshots, info.sectorSize) as Backend<unknown>
    const image = yield* backend.capture
    return { device, backend, sectorSize: info.sectorSize, sizeSectors: info.sizeSectors, image }
  })

/**
 * Builds a power domain over `devices`: the wrapped devices, in the same
 * order, and the simulator that crashes them all at once. A device with
 * `snapshots` keeps its durable images as snapshots, the others use the
 * journal. Fails `InvalidRequest` for malformed input, and with a device's
 * errors if its first image cannot be taken.
 */
const make = (
  options: DomainOptions
): Effect.Effect<{ readonly simulator: CrashSimulatorShape; readonly devices: ReadonlyArray<BlockDeviceShape> }, WriteError> =>
  Effect.suspend(() => {
    const decoded = decodeOptions(DomainOptions, "CrashSimulator.make", options)
    if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
    const { devices, keepEpochs, seed } = decoded.success
    return Effect.map(
      Effect.forEach(devices, memberOf),
      (members) => makeDomain(members, { seed: seed ?? 0, keepEpochs })
    )
  })

/**
 * The crash simulator service, provided with the wrapped `BlockDevice` by
 * {@link CrashSimulatorLive}. `CrashSimulator.make` builds a power domain of
 * several devices.
 *
 * @since 0.1.0
 */
export class CrashSimulator
  extends Context.Service<CrashSimulator, CrashSimulatorShape>()("@effect-block/testing/CrashSimulator")
{
  /**
   * Builds a power domain over several devices (see {@link DomainOptions}):
   * `{ simulator, devices }`, the devices wrapped in the same order.
   *
   * @example
   * ```ts
   * import { makeRegistry } from "@effect-block/ramdisk"
   * import { CrashSimulator } from "@effect-block/testing"
   * import { Effect } from "effect"
   *
   * const program = Effect.gen(function*() {
   *   const registry = yield* makeRegistry
   *   const data = yield* registry.connect({ name: "data", sizeSectors: 64 })
   *   const log = yield* registry.connect({ name: "log", sizeSectors: 64 })
   *   const { devices, simulator } = yield* CrashSimulator.make({
   *     devices: [{ device: data, snapshots: data }, { device: log }]
   *   })
   *   const [dataDisk, logDisk] = devices
   *   if (dataDisk === undefined || logDisk === undefined) return yield* Effect.die("two devices")
   *   yield* logDisk.write(0, new Uint8Array(512).fill(1))
   *   yield* dataDisk.write(0, new Uint8Array(512).fill(2))
   *   return yield* simulator.states() // 4 joint outcomes of the two writes
   * })
   * ```
   */
  static readonly make = make
}

/**
 * A layer that wraps the `BlockDevice` it is given in a simulated volatile
 * write cache, providing the wrapped device as `BlockDevice` and the
 * controls as {@link CrashSimulator}. Fails `InvalidRequest` for a malformed
 * option (see {@link CrashSimulatorOptions}).
 *
 * The backend is chosen by the caller and shows in the layer's type: the
 * journal (the default) needs only `BlockDevice`; `backend: "snapshot"`
 * needs `BlockDevice | Snapshots` (as `RamdiskLive` provides them), and
 * each crash then costs O(1) plus the replayed writes.
 *
 * @example
 * ```ts
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { CrashSimulatorLive } from "@effect-block/testing"
 * import { Layer } from "effect"
 *
 * const Disk = RamdiskLive({ name: "db", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive))
 * const CrashDisk = CrashSimulatorLive({ seed: 7, backend: "snapshot" }).pipe(Layer.provide(Disk))
 * ```
 *
 * @since 0.1.0
 */
export function CrashSimulatorLive(
  options: CrashSimulatorOptions & { readonly backend: "snapshot" }
): Layer.Layer<BlockDevice | CrashSimulator, InvalidRequest, BlockDevice | Snapshots>
export function CrashSimulatorLive(
  options?: CrashSimulatorOptions & { readonly backend?: "journal" | undefined }
): Layer.Layer<BlockDevice | CrashSimulator, InvalidRequest, BlockDevice>
export function CrashSimulatorLive(
  options: unknown = {}
): Layer.Layer<BlockDevice | CrashSimulator, InvalidRequest, BlockDevice | Snapshots> {
  return Layer.effectContext(
    Effect.gen(function*() {
      const decoded = decodeOptions(CrashSimulatorOptions, "CrashSimulatorLive", options)
      if (Result.isFailure(decoded)) return yield* Effect.fail(decoded.failure)
      const { backend, keepEpochs, seed } = decoded.success
      const device = yield* BlockDevice
      const snapshots = backend === "snapshot" ? yield* Effect.serviceOption(Snapshots) : Option.none()
      if (backend === "snapshot" && Option.isNone(snapshots)) {
        return yield* Effect.fail(
          new InvalidRequest({
            operation: "CrashSimulatorLive",
            message: "CrashSimulatorLive: backend \"snapshot\" needs the Snapshots service of the device"
          })
        )
      }
      const member = yield* memberOf({ device, snapshots: Option.getOrUndefined(snapshots) }).pipe(
        Effect.mapError((error) =>
          error instanceof InvalidRequest ? error : new InvalidRequest({
            operation: "CrashSimulatorLive",
            message: `CrashSimulatorLive: the first durable image could not be taken: ${error.message}`
          })
        )
      )
      const built = makeDomain([member], { seed: seed ?? 0, keepEpochs })
      const wrapped = built.devices[0] ?? device
      return Context.make(CrashSimulator, built.simulator).pipe(Context.add(BlockDevice, wrapped))
    })
  )
}
