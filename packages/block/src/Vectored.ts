/**
 * Vectored requests: many `{ sectorStart, buffers }` transfers in one call
 * (a checkpoint's pages, a connection's pipelined requests, a copy's
 * chunks), and their validation, which reads the whole list once and checks
 * every request before anything is applied (docs/semantics.md, "Vectored
 * requests").
 *
 * @since 0.2.0
 */
import { InvalidRequest } from "./Errors.js"
import { type Buffers, checkTransfer, describeValue, type Info, uint8ArrayView } from "./Geometry.js"

/**
 * One transfer of a vectored request: `buffers` filled from (or copied to)
 * consecutive sectors starting at `sectorStart`.
 *
 * @since 0.2.0
 */
export interface VectoredRequest {
  readonly sectorStart: number
  readonly buffers: Buffers
}

/**
 * A validated transfer, as a device's core receives it: the start sector,
 * the buffers as real `Uint8Array` views (never the caller's objects), and
 * their length in sectors.
 *
 * @since 0.2.0
 */
export interface CheckedRequest {
  readonly sectorStart: number
  readonly list: ReadonlyArray<Uint8Array>
  readonly sectors: number
}

/**
 * The most transfers one vectored request may carry.
 *
 * @since 0.2.0
 */
export const maxRequests = 65536

const unreadable = (operation: string, what: string) =>
  new InvalidRequest({ operation, message: `${operation}: ${what} could not be read (reading it threw)` })

/**
 * Checks a whole vectored request against a geometry: the list (read once,
 * at most `maxRequests` long), then every transfer as `read`/`write` would
 * (its start sector, its buffers, its range). The first bad transfer is
 * named by its index; nothing is applied unless every one is valid.
 *
 * @since 0.2.0
 */
export const checkVectored = (
  operation: string,
  info: Info,
  requests: unknown
): InvalidRequest | ReadonlyArray<CheckedRequest> => {
  let items: Array<unknown>
  try {
    if (!Array.isArray(requests)) {
      return new InvalidRequest({
        operation,
        message: `${operation}: requests ${describeValue(requests)} is not an array of { sectorStart, buffers }`
      })
    }
    const length: unknown = requests.length
    if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0 || length > maxRequests) {
      return new InvalidRequest({
        operation,
        message: `${operation}: requests has ${describeValue(length)} entries; at most ${maxRequests} are allowed`
      })
    }
    items = new Array<unknown>(length)
    for (let i = 0; i < length; i++) items[i] = (requests as ReadonlyArray<unknown>)[i]
  } catch {
    return unreadable(operation, "requests")
  }
  const checked = new Array<CheckedRequest>(items.length)
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (typeof item !== "object" || item === null) {
      return new InvalidRequest({
        operation,
        message: `${operation}: request ${i} is ${describeValue(item)}, not { sectorStart, buffers }`
      })
    }
    let sectorStart: unknown
    let buffers: unknown
    try {
      sectorStart = (item as VectoredRequest).sectorStart
      buffers = (item as VectoredRequest).buffers
    } catch {
      return unreadable(operation, `request ${i}`)
    }
    // The common request, one real Uint8Array of whole sectors inside the device, without building a label.
    const view = uint8ArrayView(buffers)
    if (view !== undefined && typeof sectorStart === "number" && Number.isSafeInteger(sectorStart) && sectorStart >= 0) {
      const sectors = view.byteLength / info.sectorSize
      if (Number.isInteger(sectors) && sectorStart + sectors <= info.sizeSectors) {
        checked[i] = { sectorStart, list: [view], sectors }
        continue
      }
    }
    const one = checkTransfer(`${operation} request ${i}`, info, sectorStart, buffers)
    if (one instanceof InvalidRequest) return new InvalidRequest({ operation, message: one.message })
    checked[i] = { sectorStart: sectorStart as number, list: one.list, sectors: one.sectors }
  }
  return checked
}
