/**
 * The errors of `@effect-block/sqlite`: what SQLite reported, and the one
 * thing a device can be refused for (it must answer synchronously).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * SQLite failed a call: `code` is its (extended) result code and `message`
 * its own explanation, prefixed with the operation. When the failure came
 * from the block device underneath (an `IOError`, a `Disconnected` handle,
 * a full region), `cause` is that device error.
 *
 * @since 0.1.0
 */
export class SqliteError extends Schema.TaggedError<SqliteError>()("SqliteError", {
  operation: Schema.String,
  code: Schema.Number,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * The device could not be driven synchronously: one of its operations
 * suspended (a file, a network device). The SQLite build used here calls
 * its file system synchronously, so only devices whose operations complete
 * without suspending are supported: the ramdisk, the crash simulator and
 * the fault injector over it, and wrappers of those. Nothing was written.
 *
 * @since 0.1.0
 */
export class SynchronousDeviceRequired
  extends Schema.TaggedError<SynchronousDeviceRequired>()("SynchronousDeviceRequired", {
    operation: Schema.String,
    message: Schema.String
  })
{}
