/**
 * libnbd's tools against our server: `nbdinfo --map` shows exactly the
 * device's extents, and `nbdcopy` copies in and out keeping holes holes
 * (the ramdisk's `allocatedBytes` stays near the data size).
 */
import * as Fs from "node:fs"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { deviceExtents, inProcessServer, parseMap } from "./support/InProcess.js"
import { allocatedBytes, requirePrograms, runOk, serve, tempDir, writePattern } from "./support/Programs.js"

beforeAll(() => requirePrograms("nbdinfo", "nbdcopy"))

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const dir = () => {
  const made = tempDir()
  cleanups.push(made.remove)
  return made
}

const MiB = 1024 * 1024

describe("nbdinfo", () => {
  it("--map prints the device's extents", async () => {
    const work = dir()
    const server = await inProcessServer(work.file("s.sock"), 64 * MiB)
    cleanups.push(server.close)
    const { device } = server
    const write = (offset: number, length: number) =>
      import("effect/Effect").then((Effect) => Effect.runPromise(device.write(offset / 512, Buffer.alloc(length, 7))))
    await write(0, 64 * 1024)
    await write(5 * MiB, 4096)
    await write(20 * MiB + 512 * 1024, 3 * MiB)
    await write(64 * MiB - 4096, 4096)
    const printed = parseMap((await runOk("nbdinfo", ["--map", server.uri])).stdout)
    expect(printed).toEqual(await deviceExtents(device))
    expect(printed.filter((extent) => extent[2]).length).toBe(4)
  })

  it("describes an export of effect-block serve", async () => {
    const work = dir()
    const server = await serve(["--size", "8MiB", "--socket", work.file("s.sock"), "--export", "disk"])
    cleanups.push(() => server.stop())
    const info = JSON.parse((await runOk("nbdinfo", ["--json", server.uri])).stdout)
    const disk = info.exports[0]
    expect(disk["export-name"]).toBe("disk")
    expect(disk["export-size"]).toBe(8 * MiB)
    expect(disk["block_size_minimum"]).toBe(512)
    expect(disk["can_multi_conn"]).toBe(true)
    expect(disk.contexts).toContain("base:allocation")
  })
})

describe("nbdcopy", () => {
  it("copies a sparse file in and out, keeping the holes", async () => {
    const work = dir()
    const source = work.file("source.img")
    Fs.writeFileSync(source, "")
    Fs.truncateSync(source, 256 * MiB)
    const pieces = [[0, 2 * MiB], [100 * MiB, 4 * MiB], [255 * MiB, MiB]] as const
    pieces.forEach(([offset, length], i) => writePattern(source, offset, length, i + 1))
    const dataBytes = pieces.reduce((sum, [, length]) => sum + length, 0)
    const server = await inProcessServer(work.file("s.sock"), 256 * MiB)
    cleanups.push(server.close)
    // Pre-fill so the holes must be zeroed, not merely skipped.
    const Effect = await import("effect/Effect")
    await Effect.runPromise(server.device.write((50 * MiB) / 512, Buffer.alloc(8 * MiB, 9)))

    await runOk("nbdcopy", [source, server.uri])
    const stats = await Effect.runPromise(server.device.stats)
    expect(stats.allocatedBytes).toBeGreaterThanOrEqual(dataBytes)
    expect(stats.allocatedBytes).toBeLessThanOrEqual(dataBytes + 2 * MiB)

    const back = work.file("back.img")
    await runOk("nbdcopy", [server.uri, back])
    expect(Fs.readFileSync(back).equals(Fs.readFileSync(source))).toBe(true)
    expect(allocatedBytes(back)).toBeLessThanOrEqual(dataBytes + 2 * MiB)
  })
})
