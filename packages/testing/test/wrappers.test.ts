/**
 * The wrapper rule of the contract (docs/semantics.md, "Wrappers,
 * interruption and vectored requests") for the testing kit's own wrappers
 * and a block wrapper stacked with them: the conformance suite with the
 * `destroy` and `beneath` controls, so each must fail `Disconnected` while
 * the ramdisk beneath is destroyed or disconnected, and must leave that
 * ramdisk connected when it is disconnected itself.
 */
import { type BlockDevice, SliceLive } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulatorLive, FaultInjectorLive } from "@effect-block/testing"
import { conformance } from "@effect-block/testing/vitest"
import { Effect, Layer } from "effect"

/** A ramdisk with its Registry and Ramdisk handle kept in the output, for the controls. */
const disk = () => RamdiskLive({ name: "beneath", sizeSectors: 1024 }).pipe(Layer.provideMerge(RegistryLive))

const destroyed = { destroy: Registry.use((registry) => registry.destroy("beneath")), beneath: Ramdisk.use(Effect.succeed) }
const disconnected = { destroy: Ramdisk.use((ramdisk) => ramdisk.disconnect) }

const wrappers: Record<string, Layer.Layer<BlockDevice | Ramdisk | Registry, unknown>> = {
  "fault injector": FaultInjectorLive({ seed: 3 }).pipe(Layer.provideMerge(disk())),
  "crash simulator (snapshot backend)": CrashSimulatorLive().pipe(Layer.provideMerge(disk())),
  "crash simulator (journal backend)": CrashSimulatorLive({ backend: "journal" }).pipe(Layer.provideMerge(disk())),
  "fault injector over a crash simulator": FaultInjectorLive({ seed: 3 }).pipe(
    Layer.provideMerge(CrashSimulatorLive().pipe(Layer.provideMerge(disk())))
  )
}

for (const [name, layer] of Object.entries(wrappers)) {
  conformance(`${name} over a ramdisk destroyed beneath it`, layer, { controls: destroyed })
  conformance(`${name} over a ramdisk disconnected beneath it`, layer, { controls: disconnected })
}

const sliceOfFaults = SliceLive({ start: 64, sectors: 512 }).pipe(
  Layer.provideMerge(FaultInjectorLive({ seed: 3 }).pipe(Layer.provideMerge(disk())))
)
conformance("slice of a fault injector over a ramdisk destroyed beneath both", sliceOfFaults, {
  resize: false,
  controls: destroyed
})
