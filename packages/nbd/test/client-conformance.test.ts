/**
 * The NBD client keeps the block-device contract: the conformance suite of
 * `@effect-block/testing`, unchanged, against our own server over a ramdisk
 * (a fresh ramdisk, server and connection for every test), at two sector
 * sizes. The same suite runs against nbdkit and qemu-nbd in the interop suite.
 */
import { BlockDevice } from "@effect-block/block"
import { conformance } from "@effect-block/testing/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeClient } from "../src/index.js"
import { ramdisk, server } from "./support/Fixtures.js"

const overOurServer = (sizeSectors: number, sectorSize: number) =>
  Layer.effect(
    BlockDevice,
    Effect.gen(function*() {
      const device = yield* ramdisk(sizeSectors, sectorSize)
      const { socket } = yield* server({ exports: [{ name: "disk", device }] })
      return yield* makeClient({ uri: `nbd+unix:///disk?socket=${socket}`, sectorSize })
    })
  )

conformance("NBD client over our server (512-byte sectors)", overOurServer(1024, 512), { resize: false })
conformance("NBD client over our server (4096-byte sectors)", overOurServer(128, 4096), { resize: false })
