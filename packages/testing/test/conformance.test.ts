/**
 * The conformance suite run on the ramdisk, at the default sector size and
 * at a small and a large one: the suite must pass on a correct device.
 */
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { conformance } from "@effect-block/testing"
import { Layer } from "effect"

conformance("ramdisk", RamdiskLive({ name: "conformance", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive)))
