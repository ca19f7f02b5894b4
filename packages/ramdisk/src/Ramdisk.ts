/**
 * The ramdisk service: a `BlockDevice` kept in memory, plus what only an
 * in-memory device can offer cheaply (O(1) snapshots, restore, allocation
 * statistics), and `RamdiskLive`, the layer an application or test uses.
 *
 * Data is sparse (a 1 PiB ramdisk costs nothing until written) and lives in
 * one `Ref` per device. The pieces created since the last snapshot (the
 * current epoch) are changed in place; a snapshot keeps the current value
 * and starts a new epoch, after which everything it references is copied on
 * write (docs/ramdisk.md). Ramdisks are named and shared through a
 * `Registry`: two handles connected to the same name see the same data.
 *
 * @since 0.1.0
 */
import {
  BlockDevice,
  type BlockDeviceShape,
  type InvalidRequest,
  type IsReadOnly,
  type Snapshot as AnySnapshot,
  Snapshots,
  type SnapshotsShape
} from "@effect-block/block"
import type { Disconnected } from "@effect-block/device"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ConnectOptions, Registry } from "./Registry.js"

/**
 * An immutable picture of a ramdisk's contents and size, taken by
 * `snapshot` in O(1) and given back to `restore` (of any ramdisk with the
 * same sector size). Its contents are opaque; only a ramdisk can restore it.
 *
 * @since 0.1.0
 */
export interface Snapshot extends AnySnapshot {
  readonly _tag: "RamdiskSnapshot"
  /** Bytes of sector data the snapshot references (shared with the device where unchanged). */
  readonly allocatedBytes: number
}

/**
 * Allocation statistics of a ramdisk.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** Bytes of sector data held: pages actually allocated, times the page size. */
  readonly allocatedBytes: number
  /** The allocation unit: 4096 bytes, or the sector size if that is larger. */
  readonly pageSize: number
  /** Pages currently allocated. */
  readonly allocatedPages: number
  /** Bytes of freed pages the device keeps in its slabs for reuse (not counted in `allocatedBytes`). */
  readonly freeBytes: number
  /** Estimated bytes of bookkeeping: the chunk map, chunk objects and the mapped index. */
  readonly indexBytes: number
  /** Everything the device holds in memory: `allocatedBytes + freeBytes + indexBytes`. */
  readonly heldBytes: number
}

/**
 * A handle to a named in-memory block device.
 *
 * @since 0.1.0
 */
export interface RamdiskShape extends BlockDeviceShape, SnapshotsShape {
  /** The name the device is registered under. */
  readonly name: string
  /**
   * An immutable picture of the device's contents and size, taken in O(1)
   * whatever the device holds. Later writes do not change it.
   */
  readonly snapshot: Effect.Effect<Snapshot, Disconnected>
  /**
   * Makes the device's contents and size those of `snapshot`, for every handle.
   * Fails `IsReadOnly` on a read-only handle and `InvalidRequest` for a
   * snapshot of a different sector size; either way nothing changes.
   */
  readonly restore: (snapshot: AnySnapshot) => Effect.Effect<void, Disconnected | IsReadOnly | InvalidRequest>
  /** How much memory the device's data holds now. */
  readonly stats: Effect.Effect<Stats, Disconnected>
}

/**
 * The ramdisk service. `RamdiskLive` provides it together with `BlockDevice`,
 * both backed by the same handle: application code asks for `BlockDevice`,
 * while tests that need snapshots or statistics ask for `Ramdisk`.
 *
 * @since 0.1.0
 */
export class Ramdisk extends Context.Service<Ramdisk, RamdiskShape>()("@effect-block/ramdisk/Ramdisk") {}

/**
 * A layer providing `BlockDevice`, `Snapshots` and `Ramdisk` from the ramdisk registered
 * under `options.name` in the surrounding `Registry`, creating it if needed.
 * The handle connects when the layer is built and disconnects when it is
 * released; the device itself stays in the registry until destroyed.
 *
 * Fails with `InvalidRequest` for an empty name or invalid geometry.
 *
 * @example
 * ```ts
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { Layer } from "effect"
 *
 * const DiskLive = RamdiskLive({ name: "data", sizeSectors: 2048 }).pipe(Layer.provide(RegistryLive))
 * ```
 *
 * @since 0.1.0
 */
export const RamdiskLive = (
  options: ConnectOptions
): Layer.Layer<BlockDevice | Ramdisk | Snapshots, InvalidRequest, Registry> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const registry = yield* Registry
      const handle = yield* Effect.acquireRelease(registry.connect(options), (handle) => handle.disconnect)
      return Context.make(Ramdisk, handle).pipe(Context.add(BlockDevice, handle), Context.add(Snapshots, handle))
    })
  )
