/**
 * `@effect-block/block`: what every block device is, and the tools written
 * once against it: the `BlockDevice` service and its errors, the wrappers
 * (`readOnly`, `slice`, `overlay` and their layers), the tools (`copy`,
 * `sparseCopy`, `compare`, the folds, `extents`, `fill`, `stream`, `sink`)
 * and the `Snapshots` capability. Device implementers also import
 * `@effect-block/block/Implementer`.
 *
 * @since 0.1.0
 */
export { Disconnected, formatError, Unimplemented } from "@effect-block/device"
export { BlockDevice, type BlockDeviceShape, isBlockDevice, TypeId } from "./BlockDevice.js"
export { InvalidRequest, IOError, IsReadOnly, type ReadError, type WriteError } from "./Errors.js"
export { type Buffers, defaultSectorSize, defaultSizeSectors, Info, maxSectorSize } from "./Geometry.js"
export { type Snapshot, Snapshots, type SnapshotsShape } from "./Snapshots.js"
export { maxRequests, type VectoredRequest } from "./Vectored.js"
export * from "./ChunkOptions.js"
export * from "./Compare.js"
export * from "./Copy.js"
export * from "./Extents.js"
export * from "./Fill.js"
export * from "./Fold.js"
export * from "./SparseCopy.js"
export * from "./Sink.js"
export * from "./Stream.js"
export * from "./Overlay.js"
export * from "./ReadOnly.js"
export * from "./Slice.js"
