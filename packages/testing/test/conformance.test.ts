/**
 * The conformance suite run on the ramdisk, at the default sector size and
 * at a small and a large one (where a 4096-byte page holds many sectors, or
 * exactly one): the suite must pass on a correct device.
 */
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { conformance } from "@effect-block/testing/vitest"
import { Layer } from "effect"

conformance("ramdisk", RamdiskLive({ name: "conformance", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive)))

conformance(
  "ramdisk with 4096-byte sectors and exactly 64 of them",
  RamdiskLive({ name: "conformance", sectorSize: 4096, sizeSectors: 64 }).pipe(Layer.provide(RegistryLive))
)

conformance(
  "ramdisk with 1-byte sectors",
  RamdiskLive({ name: "conformance", sectorSize: 1, sizeSectors: 10000 }).pipe(Layer.provide(RegistryLive))
)
