/**
 * The file device: a `BlockDevice` over a regular file or a block-device
 * node, for production, where tests use the ramdisk. Application code stays
 * the same; only the layer changes.
 *
 * Every read and write is positional (`pread`/`pwrite`, `preadv`/`pwritev`
 * through `node:fs/promises`), so no file cursor is shared and concurrent
 * fibers are safe. A per-device range lock keeps each operation atomic with
 * respect to overlapping ones, as `shared/SPEC.md` requires. The validation,
 * connection state, read-only check and seek defaults come from
 * `BlockDevice.make`.
 *
 * @since 0.1.0
 */
import {
  BlockDevice,
  type BlockDeviceShape,
  checkGeometry,
  checkRange,
  defaultSectorSize,
  describeValue,
  type Info,
  InvalidRequest,
  IOError,
  type ReadError,
  type WriteError
} from "@effect-block/block"
import { Disconnected } from "@effect-block/device"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { type BigIntStats, constants as FsConstants } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as Fs from "node:fs/promises"
import * as RangeLock from "./internal/RangeLock.js"

/**
 * How to open a file device.
 *
 * @since 0.1.0
 */
export interface FileOptions {
  /** The file or block-device node to open. */
  readonly path: string
  /** Bytes per sector: a power of two from 1 to 65536. Default 512. */
  readonly sectorSize?: number | undefined
  /**
   * Open the file for reading only: every write-type operation then fails
   * `IsReadOnly`. Default false.
   */
  readonly readOnly?: boolean | undefined
  /**
   * Create a new file of `sizeSectors` sectors (reading as zeros). Opening
   * fails with `FileOpenError` (reason `AlreadyExists`) if the path exists,
   * so existing data is never overwritten. Cannot be combined with
   * `readOnly`.
   */
  readonly create?: { readonly sizeSectors: number } | undefined
}

/**
 * Why a file device could not be opened.
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

/** The largest single zero-fill write of `discard`, so a huge discard never allocates a huge buffer. */
const discardChunkBytes = 1 << 20

/** At most this many buffers go to one `readv`/`writev` call (the usual `IOV_MAX`). */
const maxVector = 1024

const errorCode = (cause: unknown): string | undefined => {
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code
  }
  return undefined
}

const causeText = (cause: unknown): string =>
  cause instanceof Error ? cause.message : describeValue(cause)

/** Raised inside the I/O loops when the file ends before the device does (it was cut short from outside). */
class EndOfFile extends Error {
  constructor(readonly position: number) {
    super(`the file ends at byte ${position}, before the end of the device (was it shortened by another program?)`)
  }
}

type Transfer = (
  handle: FileHandle,
  buffers: ReadonlyArray<Uint8Array>,
  position: number
) => Promise<number>

const readOne: Transfer = async (handle, buffers, position) => {
  const buffer = buffers[0]!
  return (await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead
}
const readMany: Transfer = async (handle, buffers, position) => (await handle.readv(buffers, position)).bytesRead
const writeOne: Transfer = async (handle, buffers, position) => {
  const buffer = buffers[0]!
  return (await handle.write(buffer, 0, buffer.byteLength, position)).bytesWritten
}
const writeMany: Transfer = async (handle, buffers, position) => (await handle.writev(buffers, position)).bytesWritten

/**
 * Moves every byte of `buffers` from or to the file at `position`, looping
 * over short transfers (signals, `IOV_MAX`, pipes of the kernel) until done.
 */
const transferAll = async (
  handle: FileHandle,
  one: Transfer,
  many: Transfer,
  buffers: ReadonlyArray<Uint8Array>,
  position: number
): Promise<void> => {
  let pending = buffers.filter((buffer) => buffer.byteLength > 0)
  while (pending.length > 0) {
    const batch = pending.length > maxVector ? pending.slice(0, maxVector) : pending
    const moved = batch.length === 1 ? await one(handle, batch, position) : await many(handle, batch, position)
    if (moved <= 0) throw new EndOfFile(position)
    position += moved
    let left = moved
    let index = 0
    while (index < pending.length && left >= pending[index]!.byteLength) {
      left -= pending[index]!.byteLength
      index++
    }
    pending = pending.slice(index)
    if (left > 0) pending[0] = pending[0]!.subarray(left)
  }
}

/** The size in bytes of a block-device node, from Linux's sysfs (`fstat` reports 0 for them). */
const blockDeviceBytes = async (rdev: bigint): Promise<number> => {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)
  const text = await Fs.readFile(`/sys/dev/block/${major}:${minor}/size`, "utf8")
  return Number(text.trim()) * 512
}

interface Opened {
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
      return fail("PermissionDenied", readOnly ? "" : "pass readOnly: true to open it for reading only")
    case "EROFS":
      return fail("ReadOnlyFileSystem", "pass readOnly: true to open it for reading only")
    case "EISDIR":
      return fail("NotAFile", "a file device needs a regular file or a block device")
    default:
      return fail("Other", "")
  }
}

const validateOptions = (options: FileOptions): InvalidRequest | undefined => {
  const operation = "FileLive"
  if (typeof options.path !== "string" || options.path.length === 0) {
    return new InvalidRequest({
      operation,
      message: `${operation}: path ${describeValue(options.path)} is not a non-empty string`
    })
  }
  if (options.create !== undefined && options.readOnly === true) {
    return new InvalidRequest({
      operation,
      message: `${operation}: create and readOnly: true together would make a device that can only ever read zeros`
    })
  }
  return checkGeometry(operation, {
    sectorSize: options.sectorSize ?? defaultSectorSize,
    sizeSectors: options.create === undefined ? 0 : options.create.sizeSectors
  })
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

/** Opens (or creates) the file and learns its size; on any failure the handle is closed again. */
const open = (options: FileOptions, sectorSize: number): Effect.Effect<Opened, FileOpenError> => {
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

/** Builds the device over an open handle. */
const makeDevice = (options: FileOptions, sectorSize: number, opened: Opened): Effect.Effect<BlockDeviceShape> => {
  const { handle } = opened
  const name = `file ${options.path}`
  const lock = RangeLock.makeUnsafe()
  let info: Info = {
    readWrite: options.readOnly !== true,
    sectorSize,
    sizeSectors: opened.bytes / sectorSize
  }
  let zeros: Uint8Array | undefined

  const systemError = (operation: string, cause: unknown, sectorStart?: number, sectors?: number) => {
    const code = errorCode(cause)
    if (code === "EBADF") {
      return new Disconnected({ operation, message: `${operation} on ${name}: the file is closed` })
    }
    const where = sectorStart === undefined ? "" : ` at sectors [${sectorStart}, ${sectorStart + (sectors ?? 0)})`
    return new IOError({
      operation,
      message: `${operation} on ${name}${where}: ${causeText(cause)}`,
      ...(sectorStart === undefined ? {} : { sectorStart }),
      ...(sectors === undefined ? {} : { sectors }),
      cause
    })
  }

  /**
   * Runs `io` holding the sectors `[sectorStart, sectorStart + sectors)`, after re-checking the
   * range against the current size (a resize may have run since `BlockDevice.make` validated it).
   */
  const locked = (
    operation: string,
    sectorStart: number,
    sectors: number,
    exclusive: boolean,
    io: () => Promise<void>
  ): Effect.Effect<void, Disconnected | IOError | InvalidRequest> =>
    lock.run(sectorStart, sectorStart + sectors, exclusive, async () => {
      const bad = checkRange(operation, sectorStart, sectors, info.sizeSectors)
      if (bad !== undefined) return bad
      try {
        await io()
        return undefined
      } catch (cause) {
        return systemError(operation, cause, sectorStart, sectors)
      }
    })

  const transfer = (operation: "read" | "write", exclusive: boolean, one: Transfer, many: Transfer) =>
  (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number): Effect.Effect<void, ReadError> =>
    sectors === 0 ?
      Effect.void :
      locked(operation, sectorStart, sectors, exclusive, async () => {
        const position = sectorStart * sectorSize
        const only = buffers.length === 1 ? buffers[0]! : undefined
        if (only === undefined) return transferAll(handle, one, many, buffers, position)
        // One buffer moved in one call is the common case: spare it the general loop's allocations.
        const moved = await one(handle, buffers, position)
        if (moved !== only.byteLength) {
          await transferAll(handle, one, many, [only.subarray(Math.max(0, moved))], position + Math.max(0, moved))
        }
      })

  const discard = (sectorStart: number, sectors: number): Effect.Effect<void, WriteError> =>
    sectors === 0 ?
      Effect.void :
      locked("discard", sectorStart, sectors, true, async () => {
        const end = (sectorStart + sectors) * sectorSize
        // One zero buffer, only ever read, serves every discard; it grows up to the chunk size.
        const wanted = Math.min(discardChunkBytes, sectors * sectorSize)
        if (zeros === undefined || zeros.byteLength < wanted) zeros = new Uint8Array(wanted)
        const source = zeros
        for (let position = sectorStart * sectorSize; position < end;) {
          const length = Math.min(source.byteLength, end - position)
          await transferAll(handle, writeOne, writeMany, [source.subarray(0, length)], position)
          position += length
        }
      })

  const resize = (sizeSectors: number): Effect.Effect<void, WriteError> =>
    lock.run(0, Number.POSITIVE_INFINITY, true, async () => {
      try {
        await handle.truncate(sizeSectors * sectorSize)
        info = { ...info, sizeSectors }
        return undefined
      } catch (cause) {
        return systemError("resize", cause)
      }
    })

  return BlockDevice.make({
    name,
    info: Effect.sync(() => info),
    infoUnsafe: () => info,
    read: transfer("read", false, readOne, readMany),
    write: transfer("write", true, writeOne, writeMany),
    flush: Effect.tryPromise({ try: () => handle.datasync(), catch: (cause) => systemError("flush", cause) }),
    discard,
    // A block-device node has the size of its hardware; only a regular file can change size.
    resize: opened.isBlockDevice ? undefined : resize,
    // The layer (or scope) owns the descriptor: the first disconnect closes it. Node's FileHandle
    // waits for the reads and writes already running on it before it really closes.
    disconnect: Effect.promise(() => handle.close().catch(() => undefined))
  })
}

/**
 * Opens a file device in the current scope: the file is closed when the
 * scope closes (or earlier, by `disconnect`). Use it where you want the
 * device value itself, for example to hold several devices at once; use
 * {@link FileLive} to provide `BlockDevice` to a program.
 *
 * Fails with `InvalidRequest` for bad options (an empty path, a sector size
 * that is not a power of two, an invalid `create.sizeSectors`) and with
 * {@link FileOpenError} when the file cannot be opened as a device.
 *
 * @since 0.1.0
 */
export const make = (options: FileOptions): Effect.Effect<BlockDeviceShape, FileOpenError | InvalidRequest, Scope.Scope> =>
  Effect.suspend((): Effect.Effect<BlockDeviceShape, FileOpenError | InvalidRequest, Scope.Scope> => {
    const bad = validateOptions(options)
    if (bad !== undefined) return Effect.fail(bad)
    const sectorSize = options.sectorSize ?? defaultSectorSize
    return Effect.acquireRelease(
      Effect.flatMap(open(options, sectorSize), (opened) => makeDevice(options, sectorSize, opened)),
      (device) => device.disconnect
    )
  })

/**
 * A layer providing `BlockDevice` over a file or block-device node: the file
 * is opened when the layer is built and closed when it is released. Swap it
 * in for `RamdiskLive` to run the same program on real storage.
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
  Layer.effect(BlockDevice, make(options))
