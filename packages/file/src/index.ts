/**
 * `@effect-block/file`: a `BlockDevice` over a file or block-device node,
 * the production counterpart of the ramdisk.
 *
 * - `FileDevice.make(options)`: the device value, open in the current scope.
 * - `FileLive(options)`: a layer providing `BlockDevice`.
 * - `FileOptions`: the options' schema (and type), `FileCreateOptions` its
 *   `create` part.
 * - `FileOpenError` and `FileOpenReason`: why a file could not be opened.
 *
 * @since 0.1.0
 */

/**
 * The file device module: `FileDevice.make`, a scoped device value.
 *
 * @since 0.1.0
 */
export * as FileDevice from "./FileDevice.js"
export { FileLive } from "./FileLive.js"
export { FileOpenError, FileOpenReason } from "./FileOpenError.js"
export { FileCreateOptions, FileOptions } from "./FileOptions.js"
