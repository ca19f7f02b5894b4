/**
 * The errors of block devices, in addition to the device-level
 * `Unimplemented` and `Disconnected`. Each says what happened to the data.
 *
 * @since 0.1.0
 */
import { type Disconnected, type Unimplemented } from "@effect-block/device"
import * as Schema from "effect/Schema"

/**
 * A write-type operation (write, discard, resize, restore) was attempted
 * through a read-only handle. Nothing was written.
 *
 * @since 0.1.0
 */
export class IsReadOnly extends Schema.TaggedError<IsReadOnly>()("IsReadOnly", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * The request breaks the device geometry or is malformed: a sector that is
 * not a safe non-negative integer, a buffer that is not a whole number of
 * sectors, a range past the end, an invalid geometry or name. Nothing was
 * read or written and no buffer was touched.
 *
 * @since 0.1.0
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * The medium failed: a real device's I/O error, or a fault injected by a
 * test wrapper. A failed write may have been applied in part.
 *
 * @since 0.1.0
 */
export class IOError extends Schema.TaggedError<IOError>()("IOError", {
  operation: Schema.String,
  message: Schema.String,
  sectorStart: Schema.optional(Schema.Number),
  sectors: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Everything a read-type operation can fail with.
 *
 * @since 0.1.0
 */
export type ReadError = Unimplemented | Disconnected | InvalidRequest | IOError

/**
 * Everything a write-type operation can fail with.
 *
 * @since 0.1.0
 */
export type WriteError = ReadError | IsReadOnly
