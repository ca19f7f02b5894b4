/**
 * How the tools over devices (`copy`, `sparseCopy`, `compare`, the folds,
 * `fill`) cut their work into requests: the options schemas they share.
 * Every request's buffer is bounded (1 MiB by default, 64 MiB at most
 * whatever is asked), so memory stays bounded by
 * `chunk bytes × concurrency` whatever the device size.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import { PositiveInteger } from "./internal/Options.js"

/**
 * How a tool cuts its work into requests; decoded with this schema.
 *
 * @since 0.2.0
 */
export const ChunkOptions = Schema.Struct({
  /**
   * Sectors per read or write request; a positive integer. Default: 1 MiB
   * worth of sectors. Capped at 64 MiB worth (or one sector), whatever is asked.
   */
  chunkSectors: Schema.optional(PositiveInteger)
})

/**
 * @since 0.1.0
 */
export type ChunkOptions = typeof ChunkOptions.Type

/**
 * How a copy (or fill) cuts its work and how much of it runs at once;
 * decoded with this schema.
 *
 * @since 0.2.0
 */
export const CopyOptions = Schema.Struct({
  ...ChunkOptions.fields,
  /**
   * Requests in flight at once; a positive integer, default 1. Each one holds
   * its own buffer of `chunkSectors` sectors. At most 64 run at once, and
   * never more than there are chunks.
   */
  concurrency: Schema.optional(PositiveInteger)
})

/**
 * @since 0.1.0
 */
export type CopyOptions = typeof CopyOptions.Type
