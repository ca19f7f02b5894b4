/**
 * The file device keeps the whole block-device contract (docs/semantics.md):
 * the conformance suite of @effect-block/testing, unchanged, and its
 * model-based test. Every build of the layer creates a new zero-filled file
 * in a new temporary directory, removed when the layer is released.
 *
 * The file device does not track which sectors hold data, so it reports
 * every sector as mapped: the suite checks it with `seek: false`, which
 * expects exactly `BlockDevice.make`'s defaults. The read-only rules run on
 * the image opened again with `readOnly: true`. There is no `destroy`
 * control: nothing destroys a file device beneath its handle (an unlinked
 * file stays open and keeps working), so the destroy rules do not apply.
 */
import { BlockDevice } from "@effect-block/block"
import { FileDevice } from "@effect-block/file"
import { conformance, modelTest } from "@effect-block/testing/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

/** The image under test: where it is and its sector size, so a control can open it again. */
class Image extends Context.Service<Image, { readonly path: string; readonly sectorSize: number }>()(
  "effect-block/file/test/Image"
) {}

/** A new zero-filled image in a new temporary directory, removed when the layer is released. */
const freshFile = (sizeSectors: number, sectorSize: number) =>
  Layer.effect(
    BlockDevice,
    Image.use(({ path }) => FileDevice.make({ path, sectorSize, create: { sizeSectors } }))
  ).pipe(
    Layer.provideMerge(Layer.effect(
      Image,
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-file-conformance-"))),
          (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
        )
        return { path: Path.join(dir, "disk.img"), sectorSize }
      })
    ))
  )

// A read-only handle is the same image opened again with readOnly: true (O_RDONLY). A second writable
// handle is not offered: two file devices over one path share the file's data but not its size (each
// keeps its own, see docs/file-device.md), so the rule that a resize is seen by every handle does not hold.
const options = {
  seek: false,
  controls: {
    connectReadOnly: Image.use(({ path, sectorSize }) => FileDevice.make({ path, sectorSize, readOnly: true }))
  }
}

conformance("file device with 512-byte sectors", freshFile(1024, 512), options)
conformance("file device with 4096-byte sectors", freshFile(64, 4096), options)
conformance("file device with 1-byte sectors", freshFile(10_000, 1), options)

modelTest("file device against the flat-array model", freshFile(256, 512))
