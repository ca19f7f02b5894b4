/**
 * What `info`, `map`, `copy` and `compare` operate on: a TARGET on the
 * command line is an NBD URI (`nbd://…`, `nbd+unix://…`) or a file path,
 * opened here as a `BlockDevice` in the current scope.
 *
 * @since 0.1.0
 */
import { type BlockDeviceShape, formatError } from "@effect-block/block"
import { FileDevice } from "@effect-block/file"
import { makeClient, type NbdExportInfo } from "@effect-block/nbd"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"

/**
 * A TARGET could not be opened; the message says which and why, in one line.
 *
 * @since 0.1.0
 */
export class TargetError extends Schema.TaggedError<TargetError>()("TargetError", {
  target: Schema.String,
  message: Schema.String
}) {}

/**
 * An opened TARGET.
 *
 * @since 0.1.0
 */
export interface Opened {
  readonly target: string
  readonly kind: "nbd" | "file"
  readonly device: BlockDeviceShape
  /** What the NBD server said, for an NBD target. */
  readonly nbd: NbdExportInfo | undefined
}

/**
 * Whether a TARGET is an NBD URI (any `nbd…://` scheme, so that `nbds://` is
 * refused as unsupported TLS rather than taken for a file name).
 *
 * @since 0.1.0
 */
export const isNbdUri = (target: string): boolean => /^nbd[a-z+]*:\/\//i.test(target)

/**
 * How to open a TARGET: read-only, a sector size to use (so two targets of a
 * copy agree), or, for a file that does not exist, a size to create it with.
 *
 * @since 0.1.0
 */
export interface OpenOptions {
  readonly readOnly: boolean
  readonly sectorSize?: number | undefined
  readonly createBytes?: number | undefined
}

const sectorSizeFor = (bytes: number): number => (bytes % 512 === 0 ? 512 : 1)

/**
 * Opens a TARGET in the current scope (closed, and for NBD disconnected with
 * `NBD_CMD_DISC`, when the scope closes).
 *
 * @since 0.1.0
 */
export const openTarget = (target: string, options: OpenOptions): Effect.Effect<Opened, TargetError, Scope.Scope> => {
  const failed = (error: { readonly _tag: string; readonly message: string }) =>
    new TargetError({ target, message: `${target}: ${formatError(error)}` })
  if (isNbdUri(target)) {
    return makeClient({
      uri: target,
      readOnly: options.readOnly,
      ...(options.sectorSize === undefined ? {} : { sectorSize: options.sectorSize })
    }).pipe(
      Effect.mapError(failed),
      Effect.map((device): Opened => ({ target, kind: "nbd", device, nbd: device.export }))
    )
  }
  return Effect.suspend(() => {
    let size: number | undefined
    try {
      const stat = Fs.statSync(target)
      size = stat.isFile() ? stat.size : undefined
    } catch {
      size = undefined
    }
    const exists = Fs.existsSync(target)
    if (!exists && options.createBytes === undefined) {
      return Effect.fail(new TargetError({ target, message: `${target}: no such file (and not an NBD URI)` }))
    }
    const sectorSize = options.sectorSize ?? sectorSizeFor(size ?? options.createBytes ?? 0)
    const create = !exists && options.createBytes !== undefined ?
      { create: { sizeSectors: Math.ceil(options.createBytes / sectorSize) } } :
      {}
    return FileDevice.make({ path: target, sectorSize, ...(options.readOnly && !("create" in create) ? { readOnly: true } : {}), ...create })
      .pipe(
        Effect.mapError(failed),
        Effect.map((device): Opened => ({ target, kind: "file", device, nbd: undefined }))
      )
  })
}
