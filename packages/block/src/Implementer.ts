/**
 * `@effect-block/block/Implementer`: what a device implementer needs and an
 * application does not — the one documented entry for writing a device or a
 * wrapper.
 *
 * - `make` / `makeUnsafe` and their `Core`: give the few operations your
 *   device really has; validation, connection state, the read-only check and
 *   the defaults are derived (also reachable as `BlockDevice.make`). A
 *   wrapper names the devices it wraps in `Core.wraps`.
 * - The validators (`checkGeometry`, `checkRange`, `checkSector`,
 *   `checkSize`, `checkBuffers`, `checkTransfer`), `describeValue` and
 *   `uint8ArrayView` for reading untrusted values, and `decodeOptions` with
 *   the `SectorNumber` / `PositiveInteger` schemas for options objects.
 * - Pieces for wrappers and tools: `subBuffers` (views onto part of a
 *   request), `workers`, `forEachChunk`, `forEachRun`, `runAt`, and the
 *   chunk sizes (`defaultChunkBytes`, `defaultChunkSectors`, `maxChunkBytes`,
 *   `chunkSectorsFor`).
 *
 * The contract every device keeps is docs/semantics.md.
 *
 * @since 0.2.0
 */
export { type Core, make, makeUnsafe } from "./BlockDevice.js"
export { type CheckedRequest, checkVectored } from "./Vectored.js"
export {
  checkBuffers,
  checkGeometry,
  checkRange,
  checkSector,
  checkSize,
  checkTransfer,
  describeValue,
  maxBuffers,
  uint8ArrayView
} from "./Geometry.js"
export { decodeOptions, PositiveInteger, SectorNumber } from "./internal/Options.js"
export {
  chunkSectorsFor,
  defaultChunkBytes,
  defaultChunkSectors,
  forEachChunk,
  forEachRun,
  maxChunkBytes,
  runAt,
  subBuffers,
  workers
} from "./internal/Support.js"
