/**
 * Moving the bytes of a request between buffers and the file: positional
 * reads and writes (`pread`/`pwrite`, `preadv`/`pwritev`), looped over short
 * transfers, and the real `Uint8Array` views the system calls are given.
 *
 * Node's `fs` trusts a buffer's `byteLength` and `byteOffset` properties; a
 * `Uint8Array` subclass or an instance with an own property that lies about
 * them would make it read or write outside the buffer (Node aborts the
 * process on that). So every buffer is re-read here through the intrinsic
 * typed-array accessors, once, into a fresh plain view, and those views are
 * what the system calls see.
 *
 * @internal
 */
import { InvalidRequest } from "@effect-block/block"
import type { FileHandle } from "node:fs/promises"

/** At most this many buffers go to one `readv`/`writev` call (the usual `IOV_MAX`). */
const maxVector = 1024

/** Raised inside the I/O loops when the file ends before the device does (it was cut short from outside). @internal */
export class EndOfFile extends Error {
  constructor(readonly position: number) {
    super(`the file ended at byte ${position}`)
  }
}

/** One step of a transfer: one system call, returning the bytes it moved. @internal */
export type Transfer = (
  handle: FileHandle,
  buffers: ReadonlyArray<Uint8Array>,
  position: number
) => Promise<number>

/** `pread` into one buffer. @internal */
export const readOne: Transfer = async (handle, buffers, position) => {
  const buffer = buffers[0]!
  return (await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead
}
/** `preadv` into several buffers. @internal */
export const readMany: Transfer = async (handle, buffers, position) => (await handle.readv(buffers, position)).bytesRead
/** `pwrite` from one buffer. @internal */
export const writeOne: Transfer = async (handle, buffers, position) => {
  const buffer = buffers[0]!
  return (await handle.write(buffer, 0, buffer.byteLength, position)).bytesWritten
}
/** `pwritev` from several buffers. @internal */
export const writeMany: Transfer = async (handle, buffers, position) =>
  (await handle.writev(buffers, position)).bytesWritten

/**
 * Moves every byte of `buffers` from or to the file at `position`, looping
 * over short transfers (signals, `IOV_MAX`, pipes of the kernel) until done.
 *
 * @internal
 */
export const transferAll = async (
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

// The accessors of %TypedArray%.prototype read an array's internal slots: no subclass, own property or
// Proxy can change what they return, and they throw for anything that is not a typed array.
const typedArrayPrototype: object = Object.getPrototypeOf(Uint8Array.prototype)
const intrinsic = (name: PropertyKey) =>
  Object.getOwnPropertyDescriptor(typedArrayPrototype, name)!.get! as (this: unknown) => unknown
const bufferOf = intrinsic("buffer")
const byteOffsetOf = intrinsic("byteOffset")
const byteLengthOf = intrinsic("byteLength")
const kindOf = intrinsic(Symbol.toStringTag)

/**
 * Plain `Uint8Array` views of exactly the memory `buffers` cover, read once
 * through the intrinsic accessors, checked again against the request:
 * `sectors` whole sectors in all, each buffer a whole number of sectors.
 * Anything else (a Proxy, an object that only claims to be a `Uint8Array`,
 * a subclass whose `byteLength` lies) is an `InvalidRequest`.
 *
 * @internal
 */
export const realViews = (
  operation: string,
  name: string,
  buffers: ReadonlyArray<Uint8Array>,
  sectors: number,
  sectorSize: number
): ReadonlyArray<Uint8Array> | InvalidRequest => {
  const views = new Array<Uint8Array>(buffers.length)
  let bytes = 0
  for (let i = 0; i < buffers.length; i++) {
    const buffer: unknown = buffers[i]
    let view: Uint8Array
    try {
      if (kindOf.call(buffer) !== "Uint8Array") throw new TypeError("not a Uint8Array")
      view = new Uint8Array(
        bufferOf.call(buffer) as ArrayBufferLike,
        byteOffsetOf.call(buffer) as number,
        byteLengthOf.call(buffer) as number
      )
    } catch {
      return new InvalidRequest({
        operation,
        message: `${operation} on ${name}: buffer ${i} is not a real Uint8Array (a Proxy, or an object that only claims to be one)`
      })
    }
    if (view.byteLength % sectorSize !== 0) {
      return new InvalidRequest({
        operation,
        message: `${operation} on ${name}: buffer ${i} really has ${view.byteLength} bytes, not a whole multiple of the ${sectorSize}-byte sector size`
      })
    }
    bytes += view.byteLength
    views[i] = view
  }
  if (bytes !== sectors * sectorSize) {
    return new InvalidRequest({
      operation,
      message: `${operation} on ${name}: the buffers really hold ${bytes} bytes, not the ${
        sectors * sectorSize
      } bytes (${sectors} sectors) their byteLength properties claimed`
    })
  }
  return views
}
