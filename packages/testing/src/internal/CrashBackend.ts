/**
 * How the crash simulator keeps the durable image of one device and puts
 * the device back into one. The interface both strategies implement, and
 * the snapshot strategy; the journal strategy is in `CrashJournal.ts`.
 *
 * The snapshot strategy asks for the `Snapshots` capability of the device
 * (the ramdisk provides it): a durable image is a snapshot (O(1)), and
 * resetting is `restore` (O(1)) plus replaying the chosen writes. The
 * durable contents a search compares states by are remembered as the writes
 * happen (the sectors a write is about to change are read first, once per
 * image), so computing states never touches the device: nothing any handle
 * reads changes while `states()` runs.
 */
import type { BlockDeviceShape, ReadError, Snapshot, SnapshotsShape, WriteError } from "@effect-block/block"
import * as Effect from "effect/Effect"
import type { Base, Piece } from "./CrashStates.js"

/** The strategies, as reported by `CrashSimulator.backend`. */
export type BackendKind = "snapshot" | "journal"

/** A durable-image strategy for one device; `B` is its image type. */
export interface Backend<B> {
  readonly kind: BackendKind
  /** The device's current contents as an image (called after a successful flush). */
  readonly capture: Effect.Effect<B, WriteError>
  /** Called before a write or discard reaches the device, with the range it will change. */
  readonly beforeWrite: (sectorStart: number, sectors: number) => Effect.Effect<void, ReadError>
  /** The write landed whole (`data` undefined: zeros). */
  readonly afterWrite: (sectorStart: number, sectors: number, data: Uint8Array | undefined) => void
  /** The write failed or was interrupted in flight: each of its sectors holds old or new data. */
  readonly afterUnknownWrite: (sectorStart: number, sectors: number) => void
  /** Called before a resize reaches the device. */
  readonly beforeResize: (sizeSectors: number) => Effect.Effect<void, ReadError>
  /** The device's size is now `sizeSectors`. */
  readonly afterResize: (sizeSectors: number) => void
  /** What a search needs to know of `image`. */
  readonly base: (image: B) => Base
  /** Makes the device hold `image` with `pieces` applied in order; returns that as an image. */
  readonly reset: (image: B, pieces: ReadonlyArray<Piece>) => Effect.Effect<B, WriteError>
  /** Drops what the strategy keeps only to make later resets cheaper (bounded memory). */
  readonly forget: () => void
}

/** Applies replay pieces to a device: writes, zeroed ranges (discard, or zeros where it cannot) and resizes. */
export const applyPieces = (device: BlockDeviceShape, pieces: ReadonlyArray<Piece>): Effect.Effect<void, WriteError> =>
  Effect.forEach(pieces, (piece): Effect.Effect<void, WriteError> => {
    if (piece.kind === "resize") return device.resize(piece.sizeSectors)
    if (piece.data !== undefined) return device.write(piece.sectorStart, piece.data)
    return device.discard(piece.sectorStart, piece.sectors).pipe(
      Effect.catchTag("Unimplemented", () =>
        Effect.flatMap(device.info, (info) =>
          device.write(piece.sectorStart, new Uint8Array(piece.sectors * info.sectorSize))))
    )
  }, { discard: true })

/** A snapshot image and the durable contents of the sectors written since it was taken. */
export interface SnapshotImage {
  readonly snapshot: Snapshot
  /** Durable contents of each sector written since; `undefined`: not known (after a shrink). */
  readonly contents: Map<number, Uint8Array | undefined>
  /** The smallest size the device has had since: sectors past it were dropped and cannot be read back. */
  lowest: number
}

/** The snapshot strategy: `device` is the handle the simulator wraps, `snapshots` its capability. */
export const snapshotBackend = (
  device: BlockDeviceShape,
  snapshots: SnapshotsShape,
  sectorSize: number
): Backend<SnapshotImage> => {
  let current: SnapshotImage | undefined
  const imageOf = (snapshot: Snapshot): SnapshotImage => {
    current = { snapshot, contents: new Map(), lowest: snapshot.sizeSectors }
    return current
  }
  return {
    kind: "snapshot",
    capture: Effect.map(snapshots.snapshot, imageOf),
    beforeWrite: (sectorStart, sectors) =>
      Effect.suspend(() => {
        const image = current
        if (image === undefined) return Effect.void
        let first = -1
        let last = -1
        for (let i = 0; i < sectors; i++) {
          const sector = sectorStart + i
          if (image.contents.has(sector)) continue
          if (sector >= image.lowest) image.contents.set(sector, undefined)
          else {
            if (first < 0) first = i
            last = i
          }
        }
        if (first < 0) return Effect.void
        const buffer = new Uint8Array((last - first + 1) * sectorSize)
        return Effect.map(device.read(sectorStart + first, buffer), () => {
          for (let i = first; i <= last; i++) {
            const sector = sectorStart + i
            if (!image.contents.has(sector)) {
              image.contents.set(sector, buffer.subarray((i - first) * sectorSize, (i - first + 1) * sectorSize))
            }
          }
        })
      }),
    afterWrite: () => undefined,
    afterUnknownWrite: () => undefined,
    beforeResize: () => Effect.void,
    afterResize: (sizeSectors) => {
      if (current !== undefined) current.lowest = Math.min(current.lowest, sizeSectors)
    },
    base: (image) => ({
      sectorSize,
      sizeSectors: image.snapshot.sizeSectors,
      content: (sector) => image.contents.get(sector)
    }),
    reset: (image, pieces) =>
      snapshots.restore(image.snapshot).pipe(
        Effect.andThen(applyPieces(device, pieces)),
        Effect.andThen(snapshots.snapshot),
        Effect.map(imageOf)
      ),
    forget: () => undefined
  }
}
