/**
 * Snapshots: the capability of a device to take an immutable picture of its
 * contents and size, and to go back to one.
 *
 * Not every device can do this cheaply, so it is not part of
 * `BlockDeviceShape`: a device that can (the ramdisk, in O(1)) provides the
 * `Snapshots` service beside `BlockDevice`, and code that needs snapshots
 * (the crash simulator's snapshot backend, model tests' Snapshot/Restore
 * commands) asks for `Snapshots` in its requirements. Which path a tool takes
 * is therefore visible in its type, never guessed from the object it is given.
 *
 * @since 0.2.0
 */
import type { Disconnected } from "@effect-block/device"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { InvalidRequest, IsReadOnly } from "./Errors.js"

/**
 * An immutable picture of a device's contents and size. Its contents are
 * opaque: only the device family that took it can restore it.
 *
 * @since 0.2.0
 */
export interface Snapshot {
  /** The sector size of the device the snapshot was taken from. */
  readonly sectorSize: number
  /** The device size, in sectors, when the snapshot was taken. */
  readonly sizeSectors: number
}

/**
 * The operations of the snapshot capability, for one device handle.
 *
 * @since 0.2.0
 */
export interface SnapshotsShape {
  /**
   * An immutable picture of the device's contents and size. Later writes,
   * through any handle, do not change it.
   */
  readonly snapshot: Effect.Effect<Snapshot, Disconnected>
  /**
   * Makes the device's contents and size those of `snapshot`, for every
   * handle. Fails `IsReadOnly` on a read-only handle, and `InvalidRequest`
   * for a snapshot this device cannot restore (another device family, another
   * sector size); either way nothing changes.
   */
  readonly restore: (snapshot: Snapshot) => Effect.Effect<void, Disconnected | IsReadOnly | InvalidRequest>
}

/**
 * The snapshot capability of the device that `BlockDevice` names in the same
 * context. `RamdiskLive` provides both.
 *
 * @since 0.2.0
 */
export class Snapshots extends Context.Service<Snapshots, SnapshotsShape>()("@effect-block/block/Snapshots") {}
