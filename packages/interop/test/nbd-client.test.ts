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
import { makeClient, NbdClientLive } from "@effect-block/nbd"
import * as ChildProcess from "node:child_process"
import { nbdkitMemory, qemuNbdFile, requireProgram, withServer } from "./support/ClientPeers.js"

requireProgram("nbdkit")
requireProgram("qemu-nbd")
requireProgram("nbdinfo")
requireProgram("qemu-img")

const bin = new URL("../../cli/bin/effect-block.js", import.meta.url).pathname
const effectBlock = (args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 })
const program = (name: string, args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(name, [...args], { encoding: "utf8", timeout: 120_000 })

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

describe("effect-block info, map, copy, compare against nbdkit and qemu-nbd", () => {
  it.live("map prints what nbdinfo --map prints for nbdkit memory", () =>
    Effect.gen(function*() {
      const uri = yield* nbdkitMemory("64M")
      for (const [offset, length] of [[0, "64K"], ["5M", "4K"], ["20M", "3M"], ["63M", "1M"]] as const) {
        expect(program("qemu-io", ["-f", "raw", "-c", `write -P 0x61 ${offset} ${length}`, uri]).status).toBe(0)
      }
      const ours = effectBlock(["map", uri])
      expect(ours.status).toBe(0)
      expect(ours.stdout).toBe(program("nbdinfo", ["--map", uri]).stdout)
      expect(effectBlock(["map", "--json", uri]).stdout.replace(/\s+/g, "")).toBe(
        program("nbdinfo", ["--map", "--json", uri]).stdout.replace(/\s+/g, "")
      )
    }).pipe(Effect.scoped))

  it.live("copy from nbdkit to a file and to qemu-nbd: qemu-img compare finds them equal", () =>
    Effect.gen(function*() {
      const source = yield* nbdkitMemory("64M")
      expect(program("qemu-io", ["-f", "raw", "-c", "write -P 0x62 1M 2M", "-c", "write -P 0x63 40M 64K", source]).status).toBe(0)
      const target = yield* qemuNbdFile(64 * 1024 * 1024)
      const toExport = effectBlock(["copy", "--quiet", source, target])
      expect(toExport.status, toExport.stderr).toBe(0)
      expect(program("qemu-img", ["compare", "-f", "raw", "-F", "raw", source, target]).status).toBe(0)
      expect(effectBlock(["compare", source, target]).status).toBe(0)
      const info = effectBlock(["info", "--json", target])
      expect(JSON.parse(info.stdout)).toMatchObject({ kind: "nbd", sizeBytes: 64 * 1024 * 1024 })
    }).pipe(Effect.scoped))
})
