/**
 * The ramdisk keeps the whole block-device contract (docs/semantics.md): the
 * conformance suite of @effect-block/testing, one test per rule, with every
 * control — more writable and read-only handles of the same disk from the
 * registry, and the disk destroyed beneath its handle — so the handles,
 * read-only handle and destroy rules run too; and the model-based test
 * comparing random operation sequences, snapshots and restores included,
 * against a flat-array model.
 */
import { RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import { conformance, modelTest } from "@effect-block/testing/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const name = "conformance"

/** The disk under test, with the registry kept in the layer's output so the controls can reach it. */
const ramdisk = (sizeSectors: number, sectorSize: number) =>
  RamdiskLive({ name, sizeSectors, sectorSize }).pipe(Layer.provideMerge(RegistryLive))

/** Another handle of the disk, disconnected when the rule's scope closes. */
const handle = (readOnly: boolean) =>
  Registry.use((registry) => Effect.acquireRelease(registry.connect({ name, readOnly }), (handle) => handle.disconnect))

const controls = {
  controls: {
    connect: handle(false),
    connectReadOnly: handle(true),
    destroy: Registry.use((registry) => registry.destroy(name))
  }
}

conformance("ramdisk with 512-byte sectors", ramdisk(1024, 512), controls)
conformance("ramdisk with 4096-byte sectors", ramdisk(64, 4096), controls)
conformance("ramdisk with 1-byte sectors (many sectors per page)", ramdisk(10_000, 1), controls)

modelTest("ramdisk against the flat-array model", ramdisk(256, 512))
modelTest("ramdisk with 1-byte sectors against the flat-array model", ramdisk(20_000, 1))
