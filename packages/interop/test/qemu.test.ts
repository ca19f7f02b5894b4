/**
 * qemu's tools against `effect-block serve`: `qemu-img info`, `convert` in
 * both directions with `compare` equal, and `qemu-io` pattern writes and
 * reads, `write -z` and `discard`.
 */
import * as Fs from "node:fs"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { requirePrograms, runOk, run, type Served, serve, tempDir, writePattern } from "./support/Programs.js"

beforeAll(() => requirePrograms("qemu-img", "qemu-io"))

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const served = async (args: ReadonlyArray<string>): Promise<Served> => {
  const server = await serve(args)
  cleanups.push(() => server.stop())
  return server
}

const dir = () => {
  const made = tempDir()
  cleanups.push(made.remove)
  return made
}

describe("qemu-img info", () => {
  it("reports the export's virtual size", async () => {
    const work = dir()
    const server = await served(["--size", "96MiB", "--socket", work.file("s.sock")])
    const info = JSON.parse((await runOk("qemu-img", ["info", "--output=json", server.uri])).stdout)
    expect(info["virtual-size"]).toBe(96 * 1024 * 1024)
  })
})

describe("qemu-img convert and compare", () => {
  it("copies a sparse image into the export and back out, and compare finds them equal", async () => {
    const work = dir()
    const source = work.file("source.img")
    Fs.writeFileSync(source, "")
    Fs.truncateSync(source, 64 * 1024 * 1024)
    writePattern(source, 0, 1024 * 1024, 1)
    writePattern(source, 40 * 1024 * 1024, 3 * 1024 * 1024 + 512, 2)
    const server = await served(["--size", "64MiB", "--socket", work.file("s.sock")])
    await runOk("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, server.uri])
    await runOk("qemu-img", ["compare", "-f", "raw", "-F", "raw", source, server.uri])
    const back = work.file("back.img")
    await runOk("qemu-img", ["convert", "-f", "raw", "-O", "raw", server.uri, back])
    await runOk("qemu-img", ["compare", "-f", "raw", "-F", "raw", source, back])
    expect(Fs.readFileSync(back).equals(Fs.readFileSync(source))).toBe(true)
  })

  it("compare tells a different export apart", async () => {
    const work = dir()
    const source = work.file("source.img")
    Fs.writeFileSync(source, "")
    Fs.truncateSync(source, 16 * 1024 * 1024)
    writePattern(source, 4096, 4096, 3)
    const server = await served(["--size", "16MiB", "--socket", work.file("s.sock")])
    const result = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", source, server.uri])
    expect(result.status).toBe(1)
  })
})

describe("qemu-io", () => {
  it("reads back -P patterns, write -z and discard as zeros", async () => {
    const work = dir()
    const server = await served(["--size", "32MiB", "--socket", work.file("s.sock")])
    const io = (...commands: ReadonlyArray<string>) =>
      runOk("qemu-io", ["-f", "raw", ...commands.flatMap((command) => ["-c", command]), server.uri])
    await io("write -P 0xa5 0 1M", "write -P 0x5a 1M 64k", "write -P 0x33 8M 4k")
    const checked = await io("read -P 0xa5 0 1M", "read -P 0x5a 1M 64k", "read -P 0x33 8M 4k", "read -P 0 2M 1M")
    expect(checked.stdout).not.toContain("Pattern verification failed")
    await io("write -z 0 64k", "write -z -u 1M 64k", "discard 8M 4k")
    const zeroed = await io("read -P 0 0 64k", "read -P 0xa5 64k 960k", "read -P 0 1M 64k", "read -P 0 8M 4k")
    expect(zeroed.stdout).not.toContain("Pattern verification failed")
    expect(zeroed.stdout.match(/^read /gm)).toHaveLength(4)
  })

  it("a --read-only export refuses writes", async () => {
    const work = dir()
    const server = await served(["--size", "1MiB", "--read-only", "--socket", work.file("s.sock")])
    const result = await run("qemu-io", ["-f", "raw", "-c", "write -P 1 0 4k", server.uri])
    expect(`${result.stdout}${result.stderr}`).toMatch(/read-only|Operation not permitted|Permission denied/i)
  })
})
