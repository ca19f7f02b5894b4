/**
 * The file device as a layer: `FileLive(options)` provides `BlockDevice`
 * over a file or block-device node, opened when the layer is built and
 * closed when it is released.
 *
 * @since 0.1.0
 */
import { BlockDevice, type InvalidRequest } from "@effect-block/block"
import * as Layer from "effect/Layer"
import type { FileOpenError } from "./FileOpenError.js"
import type { FileOptions } from "./FileOptions.js"
import * as Device from "./internal/Device.js"

/**
 * A layer providing `BlockDevice` over a file or block-device node: the file
 * is opened when the layer is built and closed when it is released. Swap it
 * in for `RamdiskLive` to run the same program on real storage. Building it
 * fails as `FileDevice.make` does: `InvalidRequest` for bad options,
 * `FileOpenError` for a file that cannot be opened as a device.
 *
 * @example
 * ```ts
 * import { FileLive } from "@effect-block/file"
 *
 * // First run: make a 64 MiB image. Later runs: open it as it is.
 * const Fresh = FileLive({ path: "/var/lib/app/disk.img", create: { sizeSectors: 131072 } })
 * const Existing = FileLive({ path: "/var/lib/app/disk.img" })
 * ```
 *
 * @since 0.1.0
 */
export const FileLive = (options: FileOptions): Layer.Layer<BlockDevice, FileOpenError | InvalidRequest> =>
  Layer.effect(BlockDevice, Device.open("FileLive", options))
