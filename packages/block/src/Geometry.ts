/**
 * Geometry and request validation, written once for every block device.
 *
 * `BlockDevice.make` runs these checks before any implementation sees a
 * request, so an implementation only ever handles well-formed requests. They
 * are exported for implementations that accept geometry from users (a
 * ramdisk's `connect`, a file device's `create`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { InvalidRequest } from "./Errors.js"

/**
 * The geometry of a device as one handle sees it. `readWrite` is false on a
 * read-only handle.
 *
 * @since 0.1.0
 */
export const Info = Schema.Struct({
  readWrite: Schema.Boolean,
  sectorSize: Schema.Int,
  sizeSectors: Schema.Int
})

/**
 * @since 0.1.0
 */
export type Info = typeof Info.Type

/**
 * The sector size used when none is given.
 *
 * @since 0.1.0
 */
export const defaultSectorSize = 512

/**
 * The device size, in sectors, used when none is given (16 MiB at 512-byte
 * sectors).
 *
 * @since 0.1.0
 */
export const defaultSizeSectors = 32768

/**
 * The largest sector size a device may have.
 *
 * @since 0.1.0
 */
export const maxSectorSize = 65536

/**
 * One buffer or several, filled or drained in order from consecutive sectors.
 * Each must be a whole number of sectors long; views with a non-zero
 * `byteOffset` are fine.
 *
 * @since 0.1.0
 */
export type Buffers = Uint8Array | ReadonlyArray<Uint8Array>

/** Renders any value for an error message, without ever throwing. */
export const describeValue = (value: unknown): string => {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value)
  if (typeof value === "string") return JSON.stringify(value)
  if (value === null) return "null"
  if (value === undefined) return "undefined"
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "boolean") return String(value)
  if (value instanceof Uint8Array) return `Uint8Array(${value.byteLength})`
  if (Array.isArray(value)) return `an array of ${value.length}`
  return `a value of type ${typeof value}`
}

const isSectorNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0

/**
 * Checks that `value` is a sector address or count: a safe integer ≥ 0.
 *
 * @since 0.1.0
 */
export const checkSector = (operation: string, what: string, value: unknown): InvalidRequest | undefined =>
  isSectorNumber(value) ? undefined : notASector(operation, what, value)

const notASector = (operation: string, what: string, value: unknown): InvalidRequest =>
  new InvalidRequest({
    operation,
    message: `${operation}: ${what} ${
      describeValue(value)
    } is not a sector number (a safe integer from 0 to ${Number.MAX_SAFE_INTEGER})`
  })

/**
 * Checks a geometry: `sectorSize` a power of two from 1 to 65536, `sizeSectors`
 * a safe integer ≥ 0, and the byte size no larger than `Number.MAX_SAFE_INTEGER`
 * so every byte offset is exact.
 *
 * @since 0.1.0
 */
export const checkGeometry = (
  operation: string,
  geometry: { readonly sectorSize: unknown; readonly sizeSectors: unknown }
): InvalidRequest | undefined => {
  const { sectorSize, sizeSectors } = geometry
  if (
    typeof sectorSize !== "number" || !Number.isSafeInteger(sectorSize) || sectorSize < 1 ||
    sectorSize > maxSectorSize || (sectorSize & (sectorSize - 1)) !== 0
  ) {
    return new InvalidRequest({
      operation,
      message: `${operation}: sectorSize ${
        describeValue(sectorSize)
      } is not a power of two from 1 to ${maxSectorSize}`
    })
  }
  return checkSize(operation, sectorSize, sizeSectors)
}

const checkByteSize = (operation: string, sectorSize: number, sizeSectors: number): InvalidRequest | undefined =>
  sizeSectors * sectorSize <= Number.MAX_SAFE_INTEGER ? undefined : new InvalidRequest({
    operation,
    message: `${operation}: sizeSectors ${describeValue(sizeSectors)} × sectorSize ${sectorSize} exceeds ${
      Number.MAX_SAFE_INTEGER
    } bytes (at most ${Math.floor(Number.MAX_SAFE_INTEGER / sectorSize)} sectors of ${sectorSize} bytes)`
  })

/**
 * Checks a new size for `resize` against the device's sector size.
 *
 * @since 0.1.0
 */
export const checkSize = (operation: string, sectorSize: number, sizeSectors: unknown): InvalidRequest | undefined =>
  isSectorNumber(sizeSectors) ?
    checkByteSize(operation, sectorSize, sizeSectors) :
    notASector(operation, "sizeSectors", sizeSectors)

/**
 * Checks that `[sectorStart, sectorStart + sectors)` lies inside a device of
 * `sizeSectors` sectors. Both numbers must already be valid sector numbers.
 *
 * @since 0.1.0
 */
export const checkRange = (
  operation: string,
  sectorStart: number,
  sectors: number,
  sizeSectors: number
): InvalidRequest | undefined =>
  sectorStart + sectors <= sizeSectors ? undefined : new InvalidRequest({
    operation,
    message: sectors === 0 ?
      `${operation}: sector ${sectorStart} is past the end of the device (${sizeSectors} sectors)` :
      `${operation}: sectors [${sectorStart}, ${sectorStart + sectors}) run past the end of the device (${sizeSectors} sectors)`
  })

/**
 * Normalises and checks a buffer list: every element a `Uint8Array` whose
 * length is a whole multiple of `sectorSize`. Returns the buffers as an array
 * and their total length in sectors, or the error.
 *
 * @since 0.1.0
 */
export const checkBuffers = (
  operation: string,
  buffers: unknown,
  sectorSize: number
): InvalidRequest | { readonly list: ReadonlyArray<Uint8Array>; readonly sectors: number } => {
  const list: ReadonlyArray<unknown> | undefined = buffers instanceof Uint8Array ?
    [buffers] :
    Array.isArray(buffers) ?
    buffers :
    undefined
  if (list === undefined) {
    return new InvalidRequest({
      operation,
      message: `${operation}: buffers ${describeValue(buffers)} is neither a Uint8Array nor an array of them`
    })
  }
  let bytes = 0
  for (let i = 0; i < list.length; i++) {
    const buffer = list[i]
    if (!(buffer instanceof Uint8Array)) {
      return new InvalidRequest({
        operation,
        message: `${operation}: buffer ${i} is ${describeValue(buffer)}, not a Uint8Array`
      })
    }
    if (buffer.byteLength % sectorSize !== 0) {
      return new InvalidRequest({
        operation,
        message: `${operation}: buffer ${i} has ${buffer.byteLength} bytes, not a whole multiple of the ${sectorSize}-byte sector size`
      })
    }
    bytes += buffer.byteLength
  }
  return { list: list as ReadonlyArray<Uint8Array>, sectors: bytes / sectorSize }
}

/**
 * Checks a whole read or write request against a geometry: the start sector,
 * the buffers, and the range they cover.
 *
 * @since 0.1.0
 */
export const checkTransfer = (
  operation: string,
  info: Info,
  sectorStart: unknown,
  buffers: unknown
): InvalidRequest | { readonly list: ReadonlyArray<Uint8Array>; readonly sectors: number } => {
  if (!isSectorNumber(sectorStart)) return notASector(operation, "sectorStart", sectorStart)
  const checked = checkBuffers(operation, buffers, info.sectorSize)
  if (checked instanceof InvalidRequest) return checked
  return checkRange(operation, sectorStart, checked.sectors, info.sizeSectors) ?? checked
}
