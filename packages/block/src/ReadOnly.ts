/**
 * `readOnly`: a view of a device that refuses every write-type operation,
 * and `ReadOnlyLive`, its layer. The device beneath stays writable for its
 * owner; only this view is read-only.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { type BlockDevice, type BlockDeviceShape, makeUnsafe } from "./BlockDevice.js"
import { InvalidRequest, IsReadOnly } from "./Errors.js"
import type { Info } from "./Geometry.js"
import { brokenDevice } from "./internal/Broken.js"
import { takeDevice } from "./internal/Devices.js"
import { wrapLayer } from "./internal/WrapLayer.js"

/**
 * A read-only view of `device`: reads and seeks pass through, `info` says
 * `readWrite: false`, and `write`, `discard` and `resize` fail `IsReadOnly`
 * without reaching `device`. `flush` succeeds (a read-only handle has
 * nothing of its own to make durable). A value that is not a device gives a
 * view whose every operation fails `InvalidRequest`.
 *
 * @example
 * ```ts
 * import { readOnly } from "@effect-block/block"
 *
 * const safe = readOnly(disk) // safe.write(...) fails IsReadOnly
 * ```
 *
 * @since 0.1.0
 */
export const readOnly = (device: BlockDeviceShape): BlockDeviceShape => {
  const inner = takeDevice("readOnly", "device", device)
  if (inner instanceof InvalidRequest) return brokenDevice("read-only view", inner)
  const refused = (operation: string) =>
    Effect.fail(new IsReadOnly({ operation, message: `${operation} on a read-only view: the handle is read-only` }))
  return makeUnsafe({
    name: "read-only view",
    wraps: [inner],
    info: Effect.map(inner.info, (info): Info => ({ ...info, readWrite: false })),
    read: (sectorStart, buffers) => inner.read(sectorStart, buffers),
    readVectored: (requests) =>
      inner.readVectored(requests.map((request) => ({ sectorStart: request.sectorStart, buffers: request.list }))),
    // makeUnsafe refuses write-type operations on a handle whose info says read-only; these are never reached.
    write: () => refused("write"),
    discard: () => refused("discard"),
    resize: () => refused("resize"),
    seekMapped: (from) => inner.seekMapped(from),
    seekUnmapped: (from) => inner.seekUnmapped(from)
  })
}

/**
 * Replaces the context's `BlockDevice` with a {@link readOnly} view of it,
 * disconnecting the view (only) when released.
 *
 * @example
 * ```ts
 * import { ReadOnlyLive } from "@effect-block/block"
 *
 * const ReadOnlyDisk = ReadOnlyLive.pipe(Layer.provide(DiskLive))
 * ```
 *
 * @since 0.2.0
 */
export const ReadOnlyLive: Layer.Layer<BlockDevice, never, BlockDevice> = wrapLayer((device) =>
  Effect.sync(() => readOnly(device))
)
