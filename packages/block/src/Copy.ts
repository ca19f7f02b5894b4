/**
 * `copy`: every sector of one device onto another, in bounded chunks, with
 * optional concurrency. For a copy that skips a sparse source's holes, see
 * `sparseCopy` (SparseCopy.ts).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { BlockDeviceShape } from "./BlockDevice.js"
import type { CopyOptions } from "./ChunkOptions.js"
import type { WriteError } from "./Errors.js"
import { isOptionsArgument } from "./internal/Broken.js"
import { bufferPool, copyPiece, planCopy } from "./internal/CopyPlan.js"
import { forEachChunk } from "./internal/Support.js"

const copyImpl = (src: unknown, dst: unknown, options?: unknown): Effect.Effect<void, WriteError> =>
  Effect.flatMap(planCopy("copy", src, dst, options), (plan) =>
    forEachChunk(0, plan.sizeSectors, plan.chunkSectors, plan.concurrency, copyPiece("copy", plan, bufferPool(plan))))

/**
 * Copies every sector of `src` to `dst`, so `dst` reads exactly as `src`.
 * Use it when the destination cannot be trusted to read zeros where the
 * source has holes, or when the source cannot seek; otherwise
 * {@link sparseCopy} does the same with less I/O.
 *
 * Both devices must be connected (else `Disconnected`), have the same sector
 * size and the same size, and `dst` must be writable: otherwise it fails
 * `InvalidRequest` (or `IsReadOnly`) before anything is read or written, as
 * it does for bad options or an argument that is not a device. A failure
 * part-way leaves `dst` partly copied; the error's message starts with
 * `copy: source:` or `copy: destination:`.
 *
 * @example
 * ```ts
 * import { copy } from "@effect-block/block"
 *
 * const backup = copy(disk, spare, { concurrency: 2 })
 * ```
 *
 * @since 0.1.0
 */
export const copy: {
  (dst: BlockDeviceShape, options?: CopyOptions): (src: BlockDeviceShape) => Effect.Effect<void, WriteError>
  (src: BlockDeviceShape, dst: BlockDeviceShape, options?: CopyOptions): Effect.Effect<void, WriteError>
} = dual((args) => args.length >= 3 || !isOptionsArgument(args[1]), copyImpl)
