/**
 * The layer form shared by the wrappers: build the wrapper over the
 * context's `BlockDevice` and disconnect the wrapper (only) on release.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { BlockDevice, type BlockDeviceShape } from "../BlockDevice.js"

/** Provides the wrapper built from the context's `BlockDevice`, disconnecting the wrapper (only) on release. */
export const wrapLayer = <E>(
  wrap: (device: BlockDeviceShape) => Effect.Effect<BlockDeviceShape, E>
): Layer.Layer<BlockDevice, E, BlockDevice> =>
  Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const device = yield* BlockDevice
      return yield* Effect.acquireRelease(wrap(device), (wrapped) => wrapped.disconnect)
    })
  )
