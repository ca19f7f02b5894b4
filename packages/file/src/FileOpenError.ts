/**
 * Why a file device could not be opened: the one error of opening besides
 * `InvalidRequest` for bad options. Nothing was created or changed when it is
 * raised.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why a file device could not be opened (docs/file-device.md has the table of
 * operating-system codes behind each).
 *
 * @since 0.1.0
 */
export const FileOpenReason = Schema.Literals([
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ReadOnlyFileSystem",
  "NotAFile",
  "BadSize",
  "UnknownSize",
  "Other"
])

/**
 * One of the reasons of {@link FileOpenReason}.
 *
 * @since 0.1.0
 */
export type FileOpenReason = typeof FileOpenReason.Type

/**
 * The file could not be opened as a block device: it is missing (and
 * `create` was not given), already exists (and `create` was given), may not
 * be opened for writing, is neither a regular file nor a block device, or
 * its size is not a whole number of sectors. Nothing was created or changed.
 *
 * @since 0.1.0
 */
export class FileOpenError extends Schema.TaggedError<FileOpenError>()("FileOpenError", {
  path: Schema.String,
  reason: FileOpenReason,
  /** The operating system's error code (`ENOENT`, `EACCES`, ...), when there is one. */
  code: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}
