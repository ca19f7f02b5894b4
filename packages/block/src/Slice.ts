/**
 * `slice`: a window of a device (a partition), and `SliceLive`, its layer.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { type BlockDevice, type BlockDeviceShape, makeUnsafe } from "./BlockDevice.js"
import { InvalidRequest } from "./Errors.js"
import type { Info } from "./Geometry.js"
import { brokenDevice } from "./internal/Broken.js"
import { takeDevice } from "./internal/Devices.js"
import { decodeOptions, SectorNumber } from "./internal/Options.js"
import { wrapLayer } from "./internal/WrapLayer.js"

/**
 * The window of a device that {@link slice} shows, decoded with this schema.
 *
 * @since 0.2.0
 */
export const SliceWindow = Schema.Struct({
  /** The device sector that becomes sector 0 of the slice. */
  start: SectorNumber,
  /** The slice's size in sectors. */
  sectors: SectorNumber
})

/**
 * @since 0.1.0
 */
export type SliceWindow = typeof SliceWindow.Type

const decodeWindow = decodeOptions(SliceWindow, "window")

const outside = (window: SliceWindow, sizeSectors: number): InvalidRequest | undefined =>
  window.start + window.sectors <= sizeSectors ? undefined : new InvalidRequest({
    operation: "slice",
    message: `slice: window [${window.start}, ${
      window.start + window.sectors
    }) runs past the end of the device (${sizeSectors} sectors)`
  })

const sliceImpl = (device: unknown, window: unknown): BlockDeviceShape => {
  const inner = takeDevice("slice", "device", device)
  if (inner instanceof InvalidRequest) return brokenDevice("slice", inner)
  const decoded = decodeWindow("slice", window)
  if (decoded instanceof InvalidRequest) return brokenDevice("slice", decoded)
  const { start } = decoded
  const end = start + decoded.sectors
  if (!Number.isSafeInteger(end)) {
    return brokenDevice("slice", new InvalidRequest({ operation: "slice", message: `slice: window end ${end} is not a safe integer` }))
  }
  /** Runs `body` only while the window still lies inside the device (which may have shrunk). */
  const inside = <A, E>(body: Effect.Effect<A, E>): Effect.Effect<A, E | InvalidRequest> =>
    Effect.flatMap(inner.info, (info): Effect.Effect<A, E | InvalidRequest> => {
      const bad = outside(decoded, info.sizeSectors)
      return bad === undefined ? body : Effect.fail(bad)
    })
  /** A seek answer of the device, brought back into the window's coordinates. */
  const clamp = (answer: number) => Math.min(Math.max(answer, start), end) - start
  return makeUnsafe({
    name: `slice [${start}, ${end})`,
    wraps: [inner],
    info: Effect.map(inner.info, (info): Info => ({ ...info, sizeSectors: end - start })),
    read: (sectorStart, buffers) => inside(inner.read(start + sectorStart, buffers)),
    write: (sectorStart, buffers) => inside(inner.write(start + sectorStart, buffers)),
    // Vectored requests pass through as one request of the device beneath (one step where it has a native one).
    readVectored: (requests) =>
      inside(inner.readVectored(requests.map((request) => ({ sectorStart: start + request.sectorStart, buffers: request.list })))),
    writeVectored: (requests) =>
      inside(inner.writeVectored(requests.map((request) => ({ sectorStart: start + request.sectorStart, buffers: request.list })))),
    flush: inside(inner.flush),
    discard: (sectorStart, sectors) => inside(inner.discard(start + sectorStart, sectors)),
    seekMapped: (from) => inside(Effect.map(inner.seekMapped(start + from), clamp)),
    seekUnmapped: (from) => inside(Effect.map(inner.seekUnmapped(start + from), clamp))
  })
}

/**
 * A partition view of `device`: sector `s` of the slice is sector
 * `window.start + s` of the device, and the slice is `window.sectors` long,
 * so no request can reach outside the window (requests past its end fail
 * `InvalidRequest`, checked against the slice's own size). Seek answers are
 * translated and clamped to the window. `resize` fails `Unimplemented`: a
 * partition's bounds are fixed.
 *
 * The window is decoded with {@link SliceWindow}: a malformed window (not
 * sector numbers, `null`) gives a slice whose every operation fails
 * `InvalidRequest` naming it, with `info` reporting 0 sectors. A window past
 * the device's end (perhaps after the device shrank) makes every operation
 * fail `InvalidRequest` too. Use {@link SliceLive} to have a bad window fail
 * when the layer is built.
 *
 * @example
 * ```ts
 * import { slice } from "@effect-block/block"
 *
 * const partition = slice(disk, { start: 2048, sectors: 4096 })
 * const same = pipe(disk, slice({ start: 2048, sectors: 4096 }))
 * ```
 *
 * @since 0.1.0
 */
export const slice: {
  (window: SliceWindow): (device: BlockDeviceShape) => BlockDeviceShape
  (device: BlockDeviceShape, window: SliceWindow): BlockDeviceShape
} = dual(2, sliceImpl)

/**
 * Replaces the context's `BlockDevice` with a {@link slice} of it, failing
 * `InvalidRequest` at build if the window is malformed or does not lie
 * inside the device. The slice (only) is disconnected when released.
 *
 * @example
 * ```ts
 * import { SliceLive } from "@effect-block/block"
 *
 * const Partition = SliceLive({ start: 2048, sectors: 4096 }).pipe(Layer.provide(DiskLive))
 * ```
 *
 * @since 0.2.0
 */
export const SliceLive = (window: SliceWindow): Layer.Layer<BlockDevice, InvalidRequest, BlockDevice> =>
  wrapLayer((device) =>
    Effect.flatMap(device.info, (info) => {
      const decoded = decodeWindow("SliceLive", window)
      if (decoded instanceof InvalidRequest) return Effect.fail(decoded)
      const bad = outside(decoded, info.sizeSectors)
      return bad === undefined ? Effect.sync(() => slice(device, decoded)) : Effect.fail(bad)
    })
  )
