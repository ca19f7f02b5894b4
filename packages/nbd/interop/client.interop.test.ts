/**
 * The NBD client against real servers: the conformance suite of
 * `@effect-block/testing`, unchanged, over nbdkit's memory plugin and
 * qemu-nbd on a file, plus what only a real server shows (its flags, its
 * extents, large requests split to its maximum block size).
 */
import { BlockDevice } from "@effect-block/block"
import { conformance } from "@effect-block/testing/vitest"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { makeClient, NbdClientLive } from "../src/index.js"
import { nbdkitMemory, qemuNbdFile, requireProgram, withServer } from "./peers.js"

requireProgram("nbdkit")
requireProgram("qemu-nbd")

conformance(
  "NBD client over nbdkit memory",
  withServer(nbdkitMemory("1M"), (uri) => NbdClientLive({ uri })),
  { resize: false }
)

conformance(
  "NBD client over qemu-nbd on a file",
  withServer(qemuNbdFile(1024 * 1024), (uri) => NbdClientLive({ uri })),
  { resize: false }
)

describe("NBD client against nbdkit", () => {
  it.live("negotiates structured replies and base:allocation", () =>
    Effect.gen(function*() {
      const uri = yield* nbdkitMemory("64M")
      const device = yield* makeClient({ uri })
      expect(device.export.structuredReplies).toBe(true)
      expect(device.export.baseAllocation).toBe(true)
      expect(device.export.sizeBytes).toBe(64 * 1024 * 1024)
      const info = yield* device.info
      expect(info).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 131072 })
    }).pipe(Effect.scoped))

  it.live("reads and writes 40 MiB in one call, split to the server's maximum", () =>
    Effect.gen(function*() {
      const uri = yield* nbdkitMemory("64M")
      const device = yield* makeClient({ uri })
      const data = new Uint8Array(40 * 1024 * 1024)
      data.fill(0xa5)
      for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff
      yield* device.write(1, data)
      const back = new Uint8Array(data.length)
      yield* device.read(1, back)
      expect(Buffer.compare(back, data)).toBe(0)
      expect(yield* device.seekMapped(0)).toBe(0)
      expect(yield* device.seekUnmapped(1)).toBeGreaterThanOrEqual(1 + data.length / 512)
    }).pipe(Effect.scoped))

  it.live("a read-only export gives a read-only handle", () =>
    Effect.gen(function*() {
      const uri = yield* nbdkitMemory("1M", ["-r"])
      const device = yield* makeClient({ uri })
      expect((yield* device.info).readWrite).toBe(false)
      const error = yield* Effect.flip(device.write(0, new Uint8Array(512)))
      expect(error._tag).toBe("IsReadOnly")
    }).pipe(Effect.scoped))

  it.live("the layer provides BlockDevice", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      yield* device.write(0, new Uint8Array(512).fill(7))
      const back = new Uint8Array(512)
      yield* device.read(0, back)
      expect(back[511]).toBe(7)
    }).pipe(Effect.provide(withServer(nbdkitMemory("1M"), (uri) => NbdClientLive({ uri })))))
})
