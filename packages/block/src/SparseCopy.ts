/**
 * `sparseCopy`: copies a device reading only what it says may hold data, so
 * a mostly empty disk copies in time proportional to its data, not its size.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { BlockDeviceShape } from "./BlockDevice.js"
import type { CopyOptions } from "./ChunkOptions.js"
import type { WriteError } from "./Errors.js"
import { isOptionsArgument } from "./internal/Broken.js"
import { bufferPool, concurrencyFor, copyPiece, planCopy } from "./internal/CopyPlan.js"
import { forEachChunk, forEachRun, relabel } from "./internal/Support.js"

/**
 * Makes `[start, start + sectors)` of `dst` read as zeros, touching only the
 * parts `dst` says may hold data: discarded where `dst` can discard,
 * overwritten with zeros where it cannot.
 */
const zeroRange = (
  dst: BlockDeviceShape,
  start: number,
  sectors: number,
  zeros: (sectors: number) => Uint8Array,
  chunkSectors: number
): Effect.Effect<void, WriteError> =>
  forEachRun(dst, start, start + sectors, (run) =>
    run.mapped ?
      dst.discard(run.start, run.sectors).pipe(
        Effect.catchTag("Unimplemented", () =>
          forEachChunk(run.start, run.start + run.sectors, chunkSectors, 1, (at, n) => dst.write(at, zeros(n))))
      ) :
      Effect.void).pipe(Effect.mapError(relabel("sparseCopy", "destination")))

/** The device with its seek failures labelled, for walks whose other failures are labelled already. */
const seeksLabelled = (device: BlockDeviceShape, role: string): BlockDeviceShape => ({
  ...device,
  seekMapped: (from) => Effect.mapError(device.seekMapped(from), relabel("sparseCopy", role)),
  seekUnmapped: (from) => Effect.mapError(device.seekUnmapped(from), relabel("sparseCopy", role))
})

const sparseCopyImpl = (src: unknown, dst: unknown, options?: unknown): Effect.Effect<void, WriteError> =>
  Effect.flatMap(planCopy("sparseCopy", src, dst, options), (plan) => {
    const piece = copyPiece("sparseCopy", plan, bufferPool(plan))
    let zeroBuffer: Uint8Array | undefined
    // Writes never change the caller's buffer, so one zero buffer serves every request.
    const zeros = (sectors: number) => {
      zeroBuffer ??= new Uint8Array(Math.min(plan.chunkSectors, plan.sizeSectors) * plan.sectorSize)
      return zeroBuffer.subarray(0, sectors * plan.sectorSize)
    }
    return forEachRun(seeksLabelled(plan.source, "source"), 0, plan.sizeSectors, (run) =>
      run.mapped ?
        forEachChunk(
          run.start,
          run.start + run.sectors,
          plan.chunkSectors,
          concurrencyFor(plan.concurrency, run.sectors, plan.chunkSectors),
          piece
        ) :
        zeroRange(plan.destination, run.start, run.sectors, zeros, plan.chunkSectors))
  })

/**
 * Copies `src` to `dst` reading only what `src` says may hold data (its
 * mapped runs, found with `seekMapped` / `seekUnmapped`), so a mostly empty
 * disk copies in time proportional to its data, not its size.
 *
 * `dst` ends up reading exactly as `src`, including zeros where `src` has
 * holes: those ranges are left alone where `dst` already reports them
 * unmapped, discarded where `dst` supports discard (keeping `dst` sparse),
 * and overwritten with zeros where it does not (`Unimplemented`).
 *
 * Geometry rules and errors are those of `copy`. `concurrency` applies
 * within each mapped run.
 *
 * @example
 * ```ts
 * import { sparseCopy } from "@effect-block/block"
 *
 * const clone = sparseCopy(golden, scratch)
 * ```
 *
 * @since 0.1.0
 */
export const sparseCopy: {
  (dst: BlockDeviceShape, options?: CopyOptions): (src: BlockDeviceShape) => Effect.Effect<void, WriteError>
  (src: BlockDeviceShape, dst: BlockDeviceShape, options?: CopyOptions): Effect.Effect<void, WriteError>
} = dual((args) => args.length >= 3 || !isOptionsArgument(args[1]), sparseCopyImpl)
