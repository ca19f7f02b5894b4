/**
 * Opening (or creating) the file behind a file device: refusing what is not
 * a regular file or a block device without ever blocking on it, learning the
 * device's size, and turning the operating system's refusals into
 * `FileOpenError`s that say what to do.
 *
 * @internal
 */
import { type BigIntStats, constants as FsConstants } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as Fs from "node:fs/promises"
import * as Effect from "effect/Effect"
import { FileOpenError, type FileOpenReason } from "../FileOpenError.js"
import type { FileOptions } from "../FileOptions.js"
import { causeText, errorCode, systemCall } from "./SystemError.js"

/** The size in bytes of a block-device node, from Linux's sysfs (`fstat` reports 0 for them). @internal */
export const blockDeviceBytes = async (rdev: bigint): Promise<number> => {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)
  const text = await Fs.readFile(`/sys/dev/block/${major}:${minor}/size`, "utf8")
  return Number(text.trim()) * 512
}

/** An open file and what opening it learnt. @internal */
export interface Opened {
  readonly handle: FileHandle
  readonly bytes: number
  readonly isBlockDevice: boolean
}

const openError = (path: string, cause: unknown, creating: boolean, readOnly: boolean): FileOpenError => {
  const code = errorCode(cause)
  const base = `open ${path}${readOnly ? " (read-only)" : ""}: ${causeText(cause)}`
  const fail = (reason: FileOpenReason, hint: string) =>
    new FileOpenError({
      path,
      reason,
      ...(code === undefined ? {} : { code }),
      message: hint === "" ? base : `${base}; ${hint}`,
      cause
    })
  switch (code) {
    case "ENOENT":
      return fail(
        "NotFound",
        creating ? "its directory does not exist" : "pass create: { sizeSectors } to make a new file"
      )
    case "EEXIST":
      return fail("AlreadyExists", "create never overwrites; open it without create")
    case "EACCES":
    case "EPERM":
      // Refused by `stat`, the path itself cannot be reached: reading only would not help.
      return fail(
        "PermissionDenied",
        systemCall(cause) === "stat" ?
          "a directory on its path may not be searched by this process" :
          readOnly ?
          "" :
          "pass readOnly: true to open it for reading only"
      )
    case "EROFS":
      return fail("ReadOnlyFileSystem", "pass readOnly: true to open it for reading only")
    case "EISDIR":
      return fail("NotAFile", "a file device needs a regular file or a block device")
    default:
      return fail("Other", "")
  }
}

/** What kind of node `stat` describes, for messages. */
const kindOf = (stat: BigIntStats): string =>
  stat.isFile() ?
    "a regular file" :
    stat.isBlockDevice() ?
    "a block device" :
    stat.isDirectory() ?
    "a directory" :
    stat.isFIFO() ?
    "a FIFO (named pipe)" :
    stat.isSocket() ?
    "a Unix socket" :
    stat.isCharacterDevice() ?
    "a character device" :
    "a node of an unknown kind"

const isDeviceKind = (stat: BigIntStats): boolean => stat.isFile() || stat.isBlockDevice()

const notAFile = (path: string, stat: BigIntStats, when: string): FileOpenError =>
  new FileOpenError({
    path,
    reason: "NotAFile",
    message: `open ${path}: it is ${kindOf(stat)}${when}; a file device needs a regular file or a block device`
  })

/**
 * Opens an existing regular file or block device for I/O without ever blocking on another kind of node.
 *
 * A blocking `open` of a FIFO waits for the other end (and holds one of libuv's few threads while it
 * does, which not even `process.exit` can take back); a terminal or a tape may wait or act on open. So
 * the path is `stat`ed first and anything else is refused before it is opened at all. The path may be
 * replaced between that `stat` and the `open`, so the open is non-blocking (`O_NONBLOCK`) and its
 * descriptor is `fstat`ed again. The device then reopens that very inode through `/proc/self/fd` in
 * blocking mode, so its I/O never sees `O_NONBLOCK`; where there is no `/proc`, it keeps the
 * non-blocking descriptor, whose flag regular files and block devices ignore.
 */
const openExisting = async (path: string, readOnly: boolean): Promise<FileHandle | FileOpenError> => {
  const before = await Fs.stat(path, { bigint: true })
  if (!isDeviceKind(before)) return notAFile(path, before, "")
  const access = readOnly ? FsConstants.O_RDONLY : FsConstants.O_RDWR
  const probe = await Fs.open(path, access | FsConstants.O_NONBLOCK | FsConstants.O_NOCTTY)
  let keep: FileHandle | undefined
  try {
    const opened = await probe.stat({ bigint: true })
    if (!isDeviceKind(opened)) return notAFile(path, opened, " (it was replaced while being opened)")
    const blocking = await Fs.open(`/proc/self/fd/${probe.fd}`, access).catch((cause: unknown) => {
      if (errorCode(cause) === "ENOENT" || errorCode(cause) === "ENOTDIR") return undefined
      throw cause
    })
    if (blocking === undefined) {
      keep = probe
      return probe
    }
    const reopened = await blocking.stat({ bigint: true }).catch(async (cause: unknown) => {
      await blocking.close().catch(() => undefined)
      throw cause
    })
    if (reopened.dev !== opened.dev || reopened.ino !== opened.ino) {
      await blocking.close().catch(() => undefined)
      return new FileOpenError({
        path,
        reason: "Other",
        message: `open ${path}: reopening its descriptor through /proc/self/fd gave another file`
      })
    }
    return blocking
  } finally {
    if (keep === undefined) await probe.close().catch(() => undefined)
  }
}

/** Opens (or creates) the file and learns its size; on any failure the handle is closed again. @internal */
export const open = (options: FileOptions, sectorSize: number): Effect.Effect<Opened, FileOpenError> => {
  const { path } = options
  const readOnly = options.readOnly === true
  const create = options.create
  return Effect.tryPromise({
    try: async (): Promise<Opened | FileOpenError> => {
      // "wx+" is O_CREAT | O_EXCL | O_RDWR: creation and the existence check are one step, so two
      // processes can never both believe they created the same file (and it is a new regular file).
      const handle = create !== undefined ? await Fs.open(path, "wx+") : await openExisting(path, readOnly)
      if (handle instanceof FileOpenError) return handle
      try {
        if (create !== undefined) {
          try {
            await handle.truncate(create.sizeSectors * sectorSize)
          } catch (cause) {
            await handle.close()
            await Fs.unlink(path).catch(() => undefined)
            return new FileOpenError({
              path,
              reason: "Other",
              ...(errorCode(cause) === undefined ? {} : { code: errorCode(cause)! }),
              message: `create ${path}: cannot make it ${create.sizeSectors * sectorSize} bytes long: ${
                causeText(cause)
              }`,
              cause
            })
          }
          return { handle, bytes: create.sizeSectors * sectorSize, isBlockDevice: false }
        }
        const stat = await handle.stat({ bigint: true })
        if (stat.isFile()) return { handle, bytes: Number(stat.size), isBlockDevice: false }
        if (stat.isBlockDevice()) {
          try {
            return { handle, bytes: await blockDeviceBytes(stat.rdev), isBlockDevice: true }
          } catch (cause) {
            await handle.close()
            return new FileOpenError({
              path,
              reason: "UnknownSize",
              message: `open ${path}: cannot read the size of this block device from /sys/dev/block: ${
                causeText(cause)
              }`,
              cause
            })
          }
        }
        await handle.close()
        return notAFile(path, stat, "")
      } catch (cause) {
        await handle.close().catch(() => undefined)
        throw cause
      }
    },
    catch: (cause) => openError(path, cause, create !== undefined, readOnly)
  }).pipe(
    Effect.flatMap((opened) => opened instanceof FileOpenError ? Effect.fail(opened) : Effect.succeed(opened)),
    Effect.flatMap((opened) => {
      if (opened.bytes % sectorSize === 0) return Effect.succeed(opened)
      return Effect.andThen(
        Effect.promise(() => opened.handle.close().catch(() => undefined)),
        Effect.fail(
          new FileOpenError({
            path,
            reason: "BadSize",
            message: `open ${path}: its size ${opened.bytes} bytes is not a whole number of ${sectorSize}-byte sectors (${
              Math.floor(opened.bytes / sectorSize)
            } sectors and ${opened.bytes % sectorSize} bytes)`
          })
        )
      )
    })
  )
}

/** The length in bytes the open file (or block device) has now. @internal */
export const currentBytes = async (handle: FileHandle): Promise<number> => {
  const stat = await handle.stat({ bigint: true })
  return stat.isBlockDevice() ? blockDeviceBytes(stat.rdev) : Number(stat.size)
}
