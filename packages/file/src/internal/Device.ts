/**
 * The file device itself: the core operations it gives `BlockDevice.make`
 * over an open file (positional I/O under a range lock, discard as zeros,
 * resize as `ftruncate`, flush as `fdatasync`), and `open`, which decodes the
 * options, opens the file and builds the device in the caller's scope. The
 * public `FileDevice.make` and `FileLive` are this `open` under their names.
 *
 * @internal
 */
import {
  BlockDevice,
  type BlockDeviceShape,
  defaultSectorSize,
  type Info,
  InvalidRequest,
  IOError,
  type ReadError,
  type WriteError
} from "@effect-block/block"
import { checkRange } from "@effect-block/block/Implementer"
import { Disconnected } from "@effect-block/device"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { FileOpenError } from "../FileOpenError.js"
import * as FileOptions from "../FileOptions.js"
import { currentBytes, open as openFile, type Opened } from "./Open.js"
import * as RangeLock from "./RangeLock.js"
import { causeText, errorCode } from "./SystemError.js"
import {
  EndOfFile,
  readMany,
  readOne,
  realViews,
  type Transfer,
  transferAll,
  writeMany,
  writeOne
} from "./Transfer.js"

/** The largest single zero-fill write of `discard`, so a huge discard never allocates a huge buffer. */
const discardChunkBytes = 1 << 20

/** Builds the device over an open handle. */
const makeDevice = (options: FileOptions.FileOptions, sectorSize: number, opened: Opened): Effect.Effect<BlockDeviceShape> => {
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
        if (!(cause instanceof EndOfFile)) return systemError(operation, cause, sectorStart, sectors)
        const bytes = await currentBytes(handle).then((bytes) => `${bytes} bytes long`, () => "of unknown length")
        return systemError(
          operation,
          new Error(
            `the file is now ${bytes}, shorter than the device's ${
              info.sizeSectors * sectorSize
            } bytes (was it shortened by another program?)`,
            { cause }
          ),
          sectorStart,
          sectors
        )
      }
    })

  const transfer = (operation: "read" | "write", exclusive: boolean, one: Transfer, many: Transfer) =>
  (sectorStart: number, given: ReadonlyArray<Uint8Array>, sectors: number): Effect.Effect<void, ReadError> => {
    const buffers = realViews(operation, name, given, sectors, sectorSize)
    if (buffers instanceof InvalidRequest) return Effect.fail(buffers)
    return sectors === 0 ?
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
  }

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
 * Decodes `options` (naming `operation` in any error), opens the file and
 * builds the device, closed when the scope closes.
 *
 * @internal
 */
export const open = (
  operation: string,
  options: FileOptions.FileOptions
): Effect.Effect<BlockDeviceShape, FileOpenError | InvalidRequest, Scope.Scope> =>
  Effect.suspend((): Effect.Effect<BlockDeviceShape, FileOpenError | InvalidRequest, Scope.Scope> => {
    const decoded = FileOptions.decode(operation, options)
    if (decoded instanceof InvalidRequest) return Effect.fail(decoded)
    const sectorSize = decoded.sectorSize ?? defaultSectorSize
    return Effect.acquireRelease(
      Effect.flatMap(openFile(decoded, sectorSize), (opened) => makeDevice(decoded, sectorSize, opened)),
      (device) => device.disconnect
    )
  })
