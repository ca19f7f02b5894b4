/**
 * What `copy`, `sparseCopy` and `fill` share: the checks that a destination
 * can receive the data before anything is written, a pool of one reusable
 * buffer per worker, and copying one piece while naming the device that
 * failed.
 */
import type { Disconnected } from "@effect-block/device"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { BlockDeviceShape } from "../BlockDevice.js"
import { CopyOptions } from "../ChunkOptions.js"
import { InvalidRequest, IsReadOnly, type WriteError } from "../Errors.js"
import { connectedDevice } from "./Devices.js"
import { decodeOptions } from "./Options.js"
import { chunkSectorsFor, relabel } from "./Support.js"

/** The most requests a tool keeps in flight, whatever `concurrency` asks. */
export const maxConcurrency = 64

/** How a copy or fill runs. */
export interface Plan {
  readonly source: BlockDeviceShape
  readonly destination: BlockDeviceShape
  readonly sectorSize: number
  readonly sizeSectors: number
  readonly chunkSectors: number
  readonly concurrency: number
}

const decodeCopyOptions = decodeOptions(Schema.UndefinedOr(CopyOptions), "options")

/** The worker count for `sectors` sectors cut into `chunkSectors`: as asked, but at most one per chunk and 64. */
export const concurrencyFor = (requested: number | undefined, sectors: number, chunkSectors: number): number =>
  Math.max(1, Math.min(requested ?? 1, maxConcurrency, Math.ceil(sectors / chunkSectors)))

/** Takes both devices and checks that `dst` can receive a copy of `src`, before anything is written. */
export const planCopy = (
  operation: string,
  src: unknown,
  dst: unknown,
  options: unknown
): Effect.Effect<Plan, InvalidRequest | IsReadOnly | Disconnected> =>
  Effect.gen(function*() {
    const decoded = decodeCopyOptions(operation, options)
    if (decoded instanceof InvalidRequest) return yield* Effect.fail(decoded)
    const source = yield* connectedDevice(operation, "source", src)
    const destination = yield* connectedDevice(operation, "destination", dst)
    const from = yield* source.info
    const to = yield* destination.info
    if (from.sectorSize !== to.sectorSize) {
      return yield* fail(
        operation,
        `the source has ${from.sectorSize}-byte sectors but the destination ${to.sectorSize}-byte sectors`
      )
    }
    if (from.sizeSectors !== to.sizeSectors) {
      return yield* fail(
        operation,
        `the source has ${from.sizeSectors} sectors but the destination ${to.sizeSectors}; sizes must match ` +
          `(resize the destination, or copy into a slice of it)`
      )
    }
    if (!to.readWrite) {
      return yield* Effect.fail(
        new IsReadOnly({ operation, message: `${operation}: the destination is read-only; nothing was written` })
      )
    }
    const chunkSectors = chunkSectorsFor(from.sectorSize, decoded?.chunkSectors)
    return {
      source,
      destination,
      sectorSize: from.sectorSize,
      sizeSectors: from.sizeSectors,
      chunkSectors,
      concurrency: concurrencyFor(decoded?.concurrency, from.sizeSectors, chunkSectors)
    }
  })

/** A failed Effect with an `InvalidRequest` whose message starts with `operation`. */
export const fail = (operation: string, message: string) =>
  Effect.fail(new InvalidRequest({ operation, message: `${operation}: ${message}` }))

/** One buffer per worker, allocated on first use and reused for every chunk that worker handles. */
export const bufferPool = (plan: Pick<Plan, "chunkSectors" | "sectorSize" | "sizeSectors">) => {
  const bytes = Math.min(plan.chunkSectors, plan.sizeSectors) * plan.sectorSize
  const buffers: Array<Uint8Array | undefined> = []
  return (worker: number, sectors: number): Uint8Array => {
    let buffer = buffers[worker]
    if (buffer === undefined) {
      buffer = new Uint8Array(bytes)
      buffers[worker] = buffer
    }
    return buffer.subarray(0, sectors * plan.sectorSize)
  }
}

/** Copies one piece from source to destination through the worker's buffer, naming the device that failed. */
export const copyPiece = (
  operation: string,
  { destination, source }: Plan,
  buffer: (worker: number, sectors: number) => Uint8Array
) =>
(start: number, sectors: number, worker: number): Effect.Effect<void, WriteError> =>
  Effect.suspend(() => {
    const data = buffer(worker, sectors)
    return source.read(start, data).pipe(
      Effect.mapError(relabel(operation, "source")),
      Effect.andThen(destination.write(start, data).pipe(Effect.mapError(relabel(operation, "destination"))))
    )
  })
