/**
 * The file device: a `BlockDevice` over a regular file or a block-device
 * node, for production, where tests use the ramdisk. Application code stays
 * the same; only the layer changes (`FileLive`).
 *
 * Every read and write is positional (`pread`/`pwrite`, `preadv`/`pwritev`
 * through `node:fs/promises`), so no file cursor is shared and concurrent
 * fibers are safe. A per-device range lock keeps each operation atomic with
 * respect to overlapping ones, as docs/semantics.md requires. The validation,
 * connection state, read-only check and seek defaults come from
 * `BlockDevice.make`.
 *
 * @since 0.1.0
 */
import type { BlockDeviceShape, InvalidRequest } from "@effect-block/block"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { FileOpenError } from "./FileOpenError.js"
import type { FileOptions } from "./FileOptions.js"
import * as Device from "./internal/Device.js"

/**
 * Opens a file device in the current scope: the file is closed when the
 * scope closes (or earlier, by `disconnect`). Use it where you want the
 * device value itself, for example to hold several devices at once; use
 * `FileLive` to provide `BlockDevice` to a program.
 *
 * The options are decoded with the `FileOptions` schema. Fails with
 * `InvalidRequest` for bad options (naming the option and the value: an
 * empty path, a sector size that is not a power of two, an invalid
 * `create.sizeSectors`, `readOnly: "yes"`, `null` for a number, a key that is
 * not an option) and with `FileOpenError` when the file cannot be opened as
 * a device. Nothing is opened or created on either.
 *
 * @example
 * ```ts
 * import { FileDevice } from "@effect-block/file"
 * import { Effect } from "effect"
 *
 * const firstSector = Effect.scoped(Effect.gen(function*() {
 *   const device = yield* FileDevice.make({ path: "/var/lib/app/disk.img", readOnly: true })
 *   const buffer = new Uint8Array(512)
 *   yield* device.read(0, buffer)
 *   return buffer
 * }))
 * ```
 *
 * @since 0.1.0
 */
export const make = (
  options: FileOptions
): Effect.Effect<BlockDeviceShape, FileOpenError | InvalidRequest, Scope.Scope> => Device.open("FileDevice.make", options)
