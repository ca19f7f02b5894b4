/**
 * `@effect-block/ramdisk`: a sparse in-memory block device with O(1)
 * snapshots, named and shared through a `Registry`.
 *
 * @since 0.1.0
 */
export { Ramdisk, RamdiskLive, type RamdiskShape, type Snapshot, type Stats } from "./Ramdisk.js"
export { ConnectOptions, make as makeRegistry, Registry, RegistryLive, type RegistryShape } from "./Registry.js"
