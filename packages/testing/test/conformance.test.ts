/**
 * The conformance suite run on the ramdisk, at the default sector size and
 * at a small and a large one (where a 4096-byte page holds many sectors, or
 * exactly one), with every control (more handles, read-only handles,
 * destroy); and on the fault injector (faults off) over a ramdisk, whose
 * device beneath can be destroyed or disconnected. The suite must pass on a
 * correct device.
 */
import { Ramdisk, RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import { FaultInjectorLive } from "@effect-block/testing"
import { conformance } from "@effect-block/testing/vitest"
import { Effect, Layer } from "effect"

/** A ramdisk named `name`, keeping `Registry` (and `Ramdisk`) in the output for the controls. */
const disk = (name: string, geometry: { readonly sectorSize?: number; readonly sizeSectors: number }) =>
  RamdiskLive({ name, ...geometry }).pipe(Layer.provideMerge(RegistryLive))

/** Every control the suite knows, for the ramdisk named `name`. */
const controls = (name: string) => {
  const handle = (readOnly: boolean) =>
    Registry.use((registry) => Effect.acquireRelease(registry.connect({ name, readOnly }), (handle) => handle.disconnect))
  return {
    connect: handle(false),
    connectReadOnly: handle(true),
    destroy: Registry.use((registry) => registry.destroy(name))
  }
}

conformance("ramdisk", disk("conformance", { sizeSectors: 1024 }), { controls: controls("conformance") })

conformance(
  "ramdisk with 4096-byte sectors and exactly 64 of them",
  disk("conformance", { sectorSize: 4096, sizeSectors: 64 }),
  { controls: controls("conformance") }
)

conformance("ramdisk with 1-byte sectors", disk("conformance", { sectorSize: 1, sizeSectors: 10000 }), {
  controls: controls("conformance")
})

const faultsOff = FaultInjectorLive({ seed: 1 }).pipe(Layer.provideMerge(disk("faulty", { sizeSectors: 1024 })))

conformance("fault injector (no faults) over a destroyed ramdisk", faultsOff, {
  controls: { ...controls("faulty"), beneath: Ramdisk.use(Effect.succeed) }
})

conformance("fault injector (no faults) over a disconnected ramdisk", faultsOff, {
  controls: { destroy: Ramdisk.use((ramdisk) => ramdisk.disconnect) }
})
