/**
 * `@effect-block/block`: what every block device is, and the tools written
 * once against it.
 *
 * @since 0.1.0
 */
export { Disconnected, formatError, Unimplemented } from "@effect-block/device"
export { BlockDevice, type BlockDeviceShape, type Core, isBlockDevice, make, makeUnsafe, TypeId } from "./BlockDevice.js"
export { InvalidRequest, IOError, IsReadOnly, type ReadError, type WriteError } from "./Errors.js"
export {
  type Buffers,
  checkBuffers,
  checkGeometry,
  checkRange,
  checkSector,
  checkSize,
  checkTransfer,
  defaultSectorSize,
  defaultSizeSectors,
  describeValue,
  Info,
  maxBuffers,
  maxSectorSize,
  uint8ArrayView
} from "./Geometry.js"
export { subBuffers } from "./internal/Support.js"
export { type Snapshot, Snapshots, type SnapshotsShape } from "./Snapshots.js"
export * from "./Combinators.js"
export * from "./Streams.js"
export * from "./Overlay.js"
export * from "./ReadOnly.js"
export * from "./Slice.js"
