/**
 * The file device keeps the whole block-device contract (docs/semantics.md):
 * the conformance suite of @effect-block/testing, unchanged, and its
 * model-based test. Every build of the layer creates a new zero-filled file
 * in a new temporary directory, removed when the layer is released.
 *
 * The file device does not track which sectors hold data, so it reports
 * every sector as mapped: the suite checks it with `seek: false`, which
 * expects exactly `BlockDevice.make`'s defaults.
 */
import { BlockDevice } from "@effect-block/block"
import { FileDevice } from "@effect-block/file"
import { conformance, modelTest } from "@effect-block/testing/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

const freshFile = (sizeSectors: number, sectorSize: number) =>
  Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-file-conformance-"))),
        (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
      )
      return yield* FileDevice.make({ path: Path.join(dir, "disk.img"), sectorSize, create: { sizeSectors } })
    })
  )

conformance("file device with 512-byte sectors", freshFile(1024, 512), { seek: false })
conformance("file device with 4096-byte sectors", freshFile(64, 4096), { seek: false })
conformance("file device with 1-byte sectors", freshFile(10_000, 1), { seek: false })

modelTest("file device against the flat-array model", freshFile(256, 512))
