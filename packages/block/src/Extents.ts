/**
 * `extents`: a device's map of mapped and unmapped runs, as `nbdinfo --map`
 * lists them, from its seeks.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type { BlockDeviceShape } from "./BlockDevice.js"
import type { ReadError } from "./Errors.js"
import { connectedDevice } from "./internal/Devices.js"
import { forEachRun } from "./internal/Support.js"

/**
 * A maximal run of sectors that are all mapped (may hold data) or all
 * unmapped (read as zeros), as `nbdinfo --map` lists them.
 *
 * @since 0.1.0
 */
export interface Extent {
  /** The first sector of the run. */
  readonly start: number
  /** The run's length in sectors; at least 1. */
  readonly sectors: number
  /** Whether the run may hold data (`true`) or is guaranteed to read as zeros (`false`). */
  readonly mapped: boolean
}

/**
 * The device's mapped and unmapped runs, in order, as `nbdinfo --map` lists
 * them: each `{ start, sectors, mapped }`, neighbours always of different
 * kinds, together covering `[0, sizeSectors)` exactly (an empty device has
 * none). `mapped: false` means the run is guaranteed to read as zeros;
 * `mapped: true` means it may hold data. A device that cannot seek is one
 * mapped run. A disconnected or destroyed device fails `Disconnected`.
 *
 * @example
 * ```ts
 * import { extents } from "@effect-block/block"
 *
 * const map = extents(disk) // Effect<ReadonlyArray<{ start, sectors, mapped }>>
 * ```
 *
 * @since 0.1.0
 */
export const extents = (device: BlockDeviceShape): Effect.Effect<ReadonlyArray<Extent>, ReadError> =>
  Effect.gen(function*() {
    const source = yield* connectedDevice("extents", "device", device)
    const info = yield* source.info
    const runs: Array<Extent> = []
    yield* forEachRun(source, 0, info.sizeSectors, (run) => Effect.sync(() => runs.push(run)))
    return runs
  })
