/**
 * Several devices in one application (docs/layers.md): any device layer is
 * provided under a service key of the application's own with
 * `BlockDevice.layerAs`, and each device layer can be built many times in
 * one application, every build wrapping the device its own context gives it.
 */
import { BlockDevice, type BlockDeviceShape, OverlayLive, ReadOnlyLive, SliceLive } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

class Data extends Context.Service<Data, BlockDeviceShape>()("test/Data") {}
class Journal extends Context.Service<Journal, BlockDeviceShape>()("test/Journal") {}

const disk = (name: string, sizeSectors: number) => RamdiskLive({ name, sizeSectors })

/** The sizes the two keys see, and whether a write through one is read through the other. */
const twoDevices = Effect.gen(function*() {
  const data = yield* Data
  const journal = yield* Journal
  yield* data.write(0, new Uint8Array(512).fill(1))
  const seen = new Uint8Array(512)
  yield* journal.read(0, seen)
  return { data: yield* data.info, journal: yield* journal.info, shared: seen[0] === 1 }
})

describe("BlockDevice.layerAs", () => {
  it.effect("provides a device layer's device under the application's own key, one device per key", () =>
    Effect.gen(function*() {
      const seen = yield* twoDevices
      expect(seen.data.sizeSectors).toBe(8)
      expect(seen.journal.sizeSectors).toBe(16)
      expect(seen.shared).toBe(false)
    }).pipe(Effect.provide(
      Layer.mergeAll(disk("data", 8).pipe(BlockDevice.layerAs(Data)), disk("journal", 16).pipe(BlockDevice.layerAs(Journal))).pipe(
        Layer.provide(RegistryLive)
      )
    )))

  it.effect("releases the device with the layer", () =>
    Effect.gen(function*() {
      const device = yield* Effect.scoped(
        Effect.gen(function*() {
          const context = yield* Layer.build(disk("data", 8).pipe(BlockDevice.layerAs(Data), Layer.provide(RegistryLive)))
          return Context.get(context, Data)
        })
      )
      expect(yield* device.isConnected).toBe(false)
    }))
})

describe("building a device layer many times in one application", () => {
  it.effect("ReadOnlyLive over two devices wraps each one", () =>
    Effect.gen(function*() {
      const data = yield* Data
      const journal = yield* Journal
      expect((yield* data.info).sizeSectors).toBe(8)
      expect((yield* journal.info).sizeSectors).toBe(16)
    }).pipe(Effect.provide(
      Layer.mergeAll(
        ReadOnlyLive.pipe(Layer.provide(disk("data", 8)), BlockDevice.layerAs(Data)),
        ReadOnlyLive.pipe(Layer.provide(disk("journal", 16)), BlockDevice.layerAs(Journal))
      ).pipe(Layer.provide(RegistryLive))
    )))

  it.effect("SliceLive with one window over two devices slices each one", () =>
    Effect.gen(function*() {
      const seen = yield* twoDevices
      expect([seen.data.sizeSectors, seen.journal.sizeSectors, seen.shared]).toEqual([4, 4, false])
    }).pipe(Effect.provide(
      Layer.mergeAll(
        SliceLive({ start: 2, sectors: 4 }).pipe(Layer.provide(disk("data", 8)), BlockDevice.layerAs(Data)),
        SliceLive({ start: 2, sectors: 4 }).pipe(Layer.provide(disk("journal", 16)), BlockDevice.layerAs(Journal))
      ).pipe(Layer.provide(RegistryLive))
    )))

  it.effect("OverlayLive twice over one golden image gives two independent scratch devices", () =>
    Effect.gen(function*() {
      const seen = yield* twoDevices
      expect([seen.data.sizeSectors, seen.journal.sizeSectors, seen.shared]).toEqual([8, 8, false])
    }).pipe(Effect.provide(
      Layer.mergeAll(
        OverlayLive({ base: disk("golden", 8), upper: disk("scratch-a", 8) }).pipe(BlockDevice.layerAs(Data)),
        OverlayLive({ base: disk("golden", 8), upper: disk("scratch-b", 8) }).pipe(BlockDevice.layerAs(Journal))
      ).pipe(Layer.provide(RegistryLive))
    )))

  it.effect("two RamdiskLive layers of one name under two keys are two handles of one device", () =>
    Effect.gen(function*() {
      const seen = yield* twoDevices
      expect(seen.shared).toBe(true)
    }).pipe(Effect.provide(
      Layer.mergeAll(disk("one", 8).pipe(BlockDevice.layerAs(Data)), disk("one", 8).pipe(BlockDevice.layerAs(Journal))).pipe(
        Layer.provide(RegistryLive)
      )
    )))
})
