/**
 * `@effect-block/file`: a `BlockDevice` over a file or block-device node,
 * the production counterpart of the ramdisk.
 *
 * @since 0.1.0
 */
export { FileLive, FileOpenError, FileOpenReason, type FileOptions } from "./FileDevice.js"

/**
 * The file device module: `FileDevice.make` (a scoped device value),
 * `FileDevice.FileLive` (a layer), options and errors.
 *
 * @since 0.1.0
 */
export * as FileDevice from "./FileDevice.js"
