/**
 * The ramdisk keeps the whole block-device contract (shared/SPEC.md): the
 * conformance suite of @effect-block/testing, one test per rule, and the
 * model-based test comparing random operation sequences, snapshots and
 * restores included, against a flat-array model.
 */
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { conformance, modelTest } from "@effect-block/testing/vitest"
import * as Layer from "effect/Layer"

const ramdisk = (sizeSectors: number, sectorSize: number) =>
  RamdiskLive({ name: "conformance", sizeSectors, sectorSize }).pipe(Layer.provide(RegistryLive))

conformance("ramdisk with 512-byte sectors", ramdisk(1024, 512))
conformance("ramdisk with 4096-byte sectors", ramdisk(64, 4096))
conformance("ramdisk with 1-byte sectors (many sectors per page)", ramdisk(10_000, 1))

modelTest("ramdisk against the flat-array model", ramdisk(256, 512))
modelTest("ramdisk with 1-byte sectors against the flat-array model", ramdisk(20_000, 1))
