/**
 * The layer form shared by the wrappers: build the wrapper over the
 * context's `BlockDevice` and disconnect the wrapper (only) on release.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { BlockDevice, type BlockDeviceShape } from "../BlockDevice.js"

/**
 * Provides the wrapper built from the context's `BlockDevice`, disconnecting
 * the wrapper (only) on release. The layer is fresh: Effect memoizes a layer
 * value across an application, so without it `ReadOnlyLive` used over two
 * devices would be built once and wrap the first device in both places.
 */
export const wrapLayer = <E>(
  wrap: (device: BlockDeviceShape) => Effect.Effect<BlockDeviceShape, E>
): Layer.Layer<BlockDevice, E, BlockDevice> =>
  Layer.fresh(Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const device = yield* BlockDevice
      return yield* Effect.acquireRelease(wrap(device), (wrapped) => wrapped.disconnect)
    })
  ))
