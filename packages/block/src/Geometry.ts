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

// The intrinsic accessors of typed arrays. Called on a value, they read its
// internal slots, never its own (possibly hostile) properties: a Proxy, a
// subclass with lying getters or `Object.create(Uint8Array.prototype)` cannot
// fool them, and the tag getter never throws.
const typedArrayPrototype: object = Object.getPrototypeOf(Uint8Array.prototype)
const intrinsicGetter = (owner: object, key: PropertyKey): (this: unknown) => unknown => {
  const getter = Object.getOwnPropertyDescriptor(owner, key)?.get
  if (getter === undefined) throw new Error(`no intrinsic getter for ${String(key)}`)
  return getter
}
const typedArrayTagOf = intrinsicGetter(typedArrayPrototype, Symbol.toStringTag)
const typedArrayBuffer = intrinsicGetter(typedArrayPrototype, "buffer")
const typedArrayByteOffset = intrinsicGetter(typedArrayPrototype, "byteOffset")
const typedArrayByteLength = intrinsicGetter(typedArrayPrototype, "byteLength")
const dataViewByteLength = intrinsicGetter(DataView.prototype, "byteLength")

/** The class of a real typed array (`"Uint8Array"`, `"Int16Array"`, ...), or `undefined` for anything else. Never throws. */
const typedArrayTag = (value: unknown): string | undefined => {
  const tag = typedArrayTagOf.call(value)
  return typeof tag === "string" ? tag : undefined
}

/**
 * A plain `Uint8Array` view of the same memory as `value`, built from its
 * internal slots, or `undefined` when `value` is not a real `Uint8Array`
 * (another typed array, a fake, a Proxy) or cannot be viewed (its buffer is
 * detached). Never throws. The view's properties cannot lie, so code given
 * it may trust `byteLength`, `subarray` and `set`.
 *
 * @since 0.2.0
 */
export const uint8ArrayView = (value: unknown): Uint8Array | undefined => {
  if (typedArrayTagOf.call(value) !== "Uint8Array") return undefined
  try {
    return new Uint8Array(
      typedArrayBuffer.call(value) as ArrayBuffer,
      typedArrayByteOffset.call(value) as number,
      typedArrayByteLength.call(value) as number
    )
  } catch {
    return undefined
  }
}

const article = (word: string) => (/^[AEIOU]/.test(word) ? "an" : "a")

/** The name of the class `value` was made from, read without running any of its code, or `undefined`. */
const className = (value: object): string | undefined => {
  try {
    const prototype: unknown = Reflect.getPrototypeOf(value)
    if (prototype === null) return "null-prototype"
    if (typeof prototype !== "object" && typeof prototype !== "function") return undefined
    const constructor: unknown = Reflect.getOwnPropertyDescriptor(prototype, "constructor")?.value
    if (typeof constructor !== "function") return undefined
    const name: unknown = Reflect.getOwnPropertyDescriptor(constructor, "name")?.value
    return typeof name === "string" && name.length > 0 && name.length <= 64 ? name : undefined
  } catch {
    return undefined
  }
}

/**
 * Renders any value for an error message, without ever throwing and without
 * running any of the value's own code (getters, Proxy traps): numbers and
 * strings as themselves, typed arrays and `DataView`s by class and byte
 * length, other objects by class.
 *
 * @since 0.1.0
 */
export const describeValue = (value: unknown): string => {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value)
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value)
  if (value === null) return "null"
  if (value === undefined) return "undefined"
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "boolean") return String(value)
  if (typeof value === "symbol") return "a symbol"
  if (typeof value === "function") return "a function"
  if (typeof value !== "object") return `a value of type ${typeof value}`
  const tag = typedArrayTag(value)
  if (tag !== undefined) {
    const bytes = typedArrayByteLength.call(value) as number
    return tag === "Uint8Array" ? `Uint8Array(${bytes})` : `${article(tag)} ${tag} of ${bytes} bytes`
  }
  try {
    return `a DataView of ${dataViewByteLength.call(value) as number} bytes`
  } catch {
    // not a DataView
  }
  try {
    if (Array.isArray(value)) {
      const length: unknown = Reflect.getOwnPropertyDescriptor(value, "length")?.value
      return typeof length === "number" ? `an array of ${length}` : "an array"
    }
  } catch {
    return "a revoked Proxy"
  }
  const name = className(value)
  if (name === undefined || name === "Object") return "an object"
  if (name === "null-prototype") return "an object with a null prototype"
  return /Array$/.test(name) ? `an object made from ${name}.prototype, not a real ${name}` : `${article(name)} ${name}`
}

/** Reads `list[i]` for every i below `length` into a plain array, or returns what reading threw. */
const readList = (list: ReadonlyArray<unknown>): Array<unknown> | "unreadable" => {
  try {
    const length: unknown = list.length
    if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) return "unreadable"
    if (length > maxBuffers) return "unreadable"
    const out = new Array<unknown>(length)
    for (let i = 0; i < length; i++) out[i] = list[i]
    return out
  } catch {
    return "unreadable"
  }
}

/**
 * The most buffers one request may carry (POSIX's `IOV_MAX` is 1024; this
 * is generous while keeping validation bounded).
 *
 * @since 0.2.0
 */
export const maxBuffers = 65536

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
  let sectorSize: unknown
  let sizeSectors: unknown
  try {
    sectorSize = geometry.sectorSize
    sizeSectors = geometry.sizeSectors
  } catch {
    return new InvalidRequest({ operation, message: `${operation}: the geometry could not be read (reading it threw)` })
  }
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
 * Normalises and checks a buffer list: one `Uint8Array` or an array of them,
 * each a whole multiple of `sectorSize` long and at most {@link maxBuffers}
 * of them. Returns plain `Uint8Array` views of the caller's memory (read once,
 * through the intrinsic accessors, so hostile values cannot change or lie
 * about them later) and their total length in sectors, or the error. Never
 * throws.
 *
 * @since 0.1.0
 */
export const checkBuffers = (
  operation: string,
  buffers: unknown,
  sectorSize: number
): InvalidRequest | { readonly list: ReadonlyArray<Uint8Array>; readonly sectors: number } => {
  // The common case, one real Uint8Array, costs one view and no array walk.
  const single = uint8ArrayView(buffers)
  if (single !== undefined) {
    return single.byteLength % sectorSize === 0 ?
      { list: [single], sectors: single.byteLength / sectorSize } :
      notWholeSectors(operation, 0, single.byteLength, sectorSize)
  }
  let isArray: boolean
  try {
    isArray = Array.isArray(buffers)
  } catch {
    isArray = false
  }
  const list = isArray ? readList(buffers as ReadonlyArray<unknown>) : undefined
  if (list === undefined || list === "unreadable") {
    return new InvalidRequest({
      operation,
      message: list === "unreadable" ?
        `${operation}: buffers ${describeValue(buffers)} could not be read as a list of at most ${maxBuffers} buffers` :
        `${operation}: buffers ${describeValue(buffers)} is neither a Uint8Array nor an array of them`
    })
  }
  let bytes = 0
  const views = new Array<Uint8Array>(list.length)
  for (let i = 0; i < list.length; i++) {
    const view = uint8ArrayView(list[i])
    if (view === undefined) {
      return new InvalidRequest({
        operation,
        message: `${operation}: buffer ${i} is ${describeValue(list[i])}, not a Uint8Array`
      })
    }
    if (view.byteLength % sectorSize !== 0) return notWholeSectors(operation, i, view.byteLength, sectorSize)
    views[i] = view
    bytes += view.byteLength
  }
  return { list: views, sectors: bytes / sectorSize }
}

const notWholeSectors = (operation: string, index: number, bytes: number, sectorSize: number) =>
  new InvalidRequest({
    operation,
    message: `${operation}: buffer ${index} has ${bytes} bytes, not a whole multiple of the ${sectorSize}-byte sector size`
  })

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
