/**
 * `effect-block info`, `map`, `copy` and `compare` as a user runs them:
 * separate processes from `bin/effect-block.js`, against `effect-block
 * serve` (our own server over a ramdisk, started here) and files in a
 * temporary directory. Every process is bounded by a timeout and killed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const bin = new URL("../bin/effect-block.js", import.meta.url).pathname

const run = (args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 30_000 })

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-cli-client-"))
const file = (name: string) => Path.join(dir, name)
let server: ChildProcess.ChildProcess | undefined
let uri = ""

beforeAll(async () => {
  const socket = file("nbd.sock")
  const child = ChildProcess.spawn(process.execPath, [bin, "serve", "--size", "4MiB", "--socket", socket], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  server = child
  let stdout = ""
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
  const deadline = Date.now() + 30_000
  while (!stdout.includes("\n")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve printed no URI: ${stdout}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  uri = stdout.trim()
}, 40_000)

afterAll(() => {
  server?.kill("SIGKILL")
  Fs.rmSync(dir, { recursive: true, force: true })
})

/** A 4 MiB file with data at 1 MiB (64 KiB of 0x61) and holes elsewhere. */
const sparseImage = (name: string) => {
  const path = file(name)
  Fs.writeFileSync(path, new Uint8Array(0))
  Fs.truncateSync(path, 4 * 1024 * 1024)
  const fd = Fs.openSync(path, "r+")
  Fs.writeSync(fd, new Uint8Array(65536).fill(0x61), 0, 65536, 1024 * 1024)
  Fs.closeSync(fd)
  return path
}

describe("info", () => {
  it("prints the export's size, sector size and what the server offers", () => {
    const result = run(["info", uri])
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("size: 4194304 (4 MiB)")
    expect(result.stdout).toContain("sector-size: 512")
    expect(result.stdout).toContain("base:allocation: true")
  })

  it("prints one JSON object with --json", () => {
    const result = run(["info", "--json", sparseImage("info.img")])
    expect(result.status).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: "file", sizeBytes: 4194304, sectorSize: 512 })
  })

  it("refuses nbds:// with a one-line TLS error and exit code 1", () => {
    const result = run(["info", "nbds://example.com/disk"])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("TLS not supported yet")
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
  })

  it("names a missing file", () => {
    const result = run(["info", file("missing.img")])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("missing.img: no such file")
  })
})

describe("copy", () => {
  it("copies a file into the export sparsely and back out, byte for byte", () => {
    const source = sparseImage("source.img")
    const into = run(["copy", source, uri])
    expect(into.status).toBe(0)
    // Not a terminal: plain progress lines, ending at 100%.
    expect(into.stderr).toContain("copy: 100%")
    expect(into.stderr).toContain("64.0 KiB of data")
    const back = file("back.img")
    const out = run(["copy", "--quiet", uri, back])
    expect(out.status).toBe(0)
    expect(out.stderr).toBe("")
    expect(Buffer.compare(Fs.readFileSync(back), Fs.readFileSync(source))).toBe(0)
    // The hole stayed a hole: the new file holds about the data, not 4 MiB.
    expect(Fs.statSync(back).blocks * 512).toBeLessThan(1024 * 1024)
  })

  it("refuses a bad --requests with a one-line error naming it", () => {
    const result = run(["copy", "--requests", "0", file("a"), file("b")])
    expect(result.status).toBe(1)
    expect(result.stderr.trim()).toBe("effect-block: --requests: 0 is not from 1 to 64")
  })
})

describe("map", () => {
  it("prints the export's extents as nbdinfo --map does, and as JSON", () => {
    expect(run(["copy", "--quiet", sparseImage("map.img"), uri]).status).toBe(0)
    const text = run(["map", uri])
    expect(text.status).toBe(0)
    const lines = text.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("         0     1048576    3  hole,zero")
    expect(lines).toContain("   1048576       65536    0  data")
    const json = run(["map", "--json", uri])
    expect(JSON.parse(json.stdout)).toContainEqual({ offset: 1048576, length: 65536, type: 0, description: "data" })
  })
})

describe("compare", () => {
  it("exits 0 for equal disks, 1 for different ones, 2 on error", () => {
    const a = sparseImage("a.img")
    const b = sparseImage("b.img")
    expect(run(["compare", a, b]).status).toBe(0)
    const fd = Fs.openSync(b, "r+")
    Fs.writeSync(fd, new Uint8Array([1]), 0, 1, 5)
    Fs.closeSync(fd)
    const different = run(["compare", a, b])
    expect(different.status).toBe(1)
    expect(different.stdout).toContain("differ")
    const error = run(["compare", a, file("missing.img")])
    expect(error.status).toBe(2)
    expect(error.stderr).toContain("missing.img")
  })
})
