/**
 * Wrappers keep the block-device contract, alone and stacked: the
 * conformance suite over slices, overlays, and the testing wrappers, each on
 * ramdisks. (The suite cannot run inside @effect-block/block, which the
 * testing package depends on.)
 */
import { OverlayLive, SliceLive } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulatorLive, FaultInjectorLive } from "@effect-block/testing"
import { conformance } from "@effect-block/testing/vitest"
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
