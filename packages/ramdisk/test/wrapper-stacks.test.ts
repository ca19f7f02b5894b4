/**
 * Wrappers keep the block-device contract, alone and stacked: the
 * conformance suite over slices, overlays, and the testing wrappers, each on
 * ramdisks. (The suite cannot run inside @effect-block/block, which the
 * testing package depends on.)
 */
import { OverlayLive, SliceLive } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulatorLive, FaultInjectorLive } from "@effect-block/testing"
import { conformance } from "@effect-block/testing/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const ramdisk = (name: string, sizeSectors: number) => RamdiskLive({ name, sizeSectors }).pipe(Layer.provide(RegistryLive))

const slice = SliceLive({ start: 100, sectors: 1024 }).pipe(Layer.provide(ramdisk("disk", 2048)))
const overlay = OverlayLive({ base: ramdisk("golden", 1024), upper: ramdisk("scratch", 1024) })
const sliceOfOverlay = SliceLive({ start: 64, sectors: 512 }).pipe(Layer.provide(overlay))
const faultsOff = FaultInjectorLive({ seed: 1 }).pipe(Layer.provide(ramdisk("disk", 1024)))
const crashOverSlice = CrashSimulatorLive().pipe(Layer.provide(slice))

conformance("slice of a ramdisk", slice, { resize: false })
conformance("overlay of two ramdisks", overlay, { resize: false })
conformance("slice of an overlay", sliceOfOverlay, { resize: false })
conformance("fault injector with no faults configured, over a ramdisk", faultsOff)
conformance("crash simulator over a slice of a ramdisk", crashOverSlice, { resize: false })

// The wrapper rules (docs/semantics.md, "Wrappers"), through the suite's controls: a lost device beneath
// makes every operation fail Disconnected, and disconnecting the wrapper leaves the device beneath connected.
const keptDisk = (name: string, sizeSectors: number) =>
  RamdiskLive({ name, sizeSectors }).pipe(Layer.provideMerge(RegistryLive))
const destroy = (name: string) => Registry.use((registry) => registry.destroy(name))
const sliceOfKept = (start: number) => SliceLive({ start, sectors: 1024 }).pipe(Layer.provideMerge(keptDisk("sliced", 2048)))
const overlayOfKept = OverlayLive({
  base: RamdiskLive({ name: "golden", sizeSectors: 1024 }),
  upper: RamdiskLive({ name: "scratch", sizeSectors: 1024 })
}).pipe(Layer.provideMerge(RegistryLive))

conformance("slice at an odd offset of a ramdisk that gets destroyed", sliceOfKept(3), {
  resize: false,
  controls: { destroy: destroy("sliced") }
})
// The beneath rule reads the wrapper's sectors at the same addresses beneath, so this window starts at 0.
conformance("slice from sector 0 of a ramdisk kept beneath", sliceOfKept(0), {
  resize: false,
  controls: { destroy: destroy("sliced"), beneath: Ramdisk.use(Effect.succeed) }
})
conformance("slice of a ramdisk whose handle is disconnected", sliceOfKept(3), {
  resize: false,
  controls: { destroy: Ramdisk.use((ramdisk) => ramdisk.disconnect) }
})
conformance("overlay whose base device is destroyed", overlayOfKept, { resize: false, controls: { destroy: destroy("golden") } })
conformance("overlay whose upper device is destroyed", overlayOfKept, { resize: false, controls: { destroy: destroy("scratch") } })
conformance(
  "overlay with one-sector blocks over an upper that is a slice at an odd offset",
  OverlayLive(
    { base: ramdisk("golden", 1024), upper: SliceLive({ start: 5, sectors: 1024 }).pipe(Layer.provide(ramdisk("scratch", 2048))) },
    { blockSectors: 1 }
  ),
  { resize: false }
)

// Stacks answer for the device at their bottom too: destroyed there, every layer above fails Disconnected.
// (The fault injector and crash simulator straight over a ramdisk run these controls in
// packages/testing/test/wrappers.test.ts.)
conformance("crash simulator over a slice from sector 0 of a ramdisk that gets destroyed", CrashSimulatorLive().pipe(
  Layer.provideMerge(sliceOfKept(0))
), {
  resize: false,
  controls: { destroy: destroy("sliced"), beneath: Ramdisk.use(Effect.succeed) }
})
conformance(
  "slice of an overlay whose base device is destroyed",
  SliceLive({ start: 64, sectors: 512 }).pipe(Layer.provideMerge(overlayOfKept)),
  { resize: false, controls: { destroy: destroy("golden") } }
)
conformance(
  "fault injector over a slice of an overlay whose upper device is destroyed",
  FaultInjectorLive({ seed: 1 }).pipe(
    Layer.provideMerge(SliceLive({ start: 64, sectors: 512 }).pipe(Layer.provideMerge(overlayOfKept)))
  ),
  { resize: false, controls: { destroy: destroy("scratch") } }
)
