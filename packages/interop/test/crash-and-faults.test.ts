/**
 * The crash simulator and the fault injector seen from a real client.
 * `serve --crash`: qemu-io writes, flushes some, then the server loses power
 * (SIGUSR1) while qemu-io is still connected: flushed data is always there,
 * unflushed writes are there or not exactly as the printed crash state says.
 * Fault flags: reads fail with EIO where and as often as asked.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { requirePrograms, run, runOk, type Served, serve, tempDir } from "./support/Programs.js"

beforeAll(() => requirePrograms("qemu-io"))

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const served = async (args: ReadonlyArray<string>): Promise<Served> => {
  const work = tempDir()
  cleanups.push(work.remove)
  const server = await serve([...args, "--socket", work.file("s.sock")])
  cleanups.push(() => server.stop())
  return server
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("serve --crash", () => {
  it.each([1, 2, 3, 4])("after power loss, flushed data survives and unflushed writes match the state (seed %i)", async (seed) => {
    const server = await served(["--size", "16MiB", "--crash", "--seed", String(seed)])
    // writeback: qemu-io's default (writethrough) would flush after every write.
    const writer = run("qemu-io", [
      "-t", "writeback", "-f", "raw",
      "-c", "write -P 0x11 0 64k",
      "-c", "flush",
      "-c", "write -P 0x22 1M 64k",
      "-c", "write -P 0x33 2M 64k",
      "-c", "write -P 0x44 3M 64k",
      "-c", "sleep 3000",
      server.uri
    ])
    await sleep(1500)
    process.kill(server.pid, "SIGUSR1")
    const line = await server.waitForLine(/^crashed: /)
    await writer
    const match = /^crashed: epoch (\d+): (\d+) of (\d+) writes landed \[([\d, ]*)\]/.exec(line)
    expect(match, line).not.toBeNull()
    expect(Number(match![3])).toBe(3)
    const landed = new Set(match![4]!.split(",").filter((s) => s.trim() !== "").map(Number))
    const patterns = [0x22, 0x33, 0x44].map((pattern, i) => (landed.has(i) ? pattern : 0))
    const check = await runOk("qemu-io", [
      "-f", "raw",
      "-c", "read -P 0x11 0 64k",
      ...patterns.flatMap((pattern, i) => ["-c", `read -P ${pattern} ${i + 1}M 64k`]),
      server.uri
    ])
    expect(check.stdout).not.toContain("Pattern verification failed")
    expect(check.stdout.match(/^read /gm)).toHaveLength(4)
  })
})

describe("serve with fault flags", () => {
  it("--read-error-rate 1 makes every read fail with EIO; writes still work", async () => {
    const server = await served(["--size", "4MiB", "--read-error-rate", "1"])
    const result = await run("qemu-io", ["-f", "raw", "-c", "write -P 1 0 4k", "-c", "read 0 4k", server.uri])
    expect(result.stdout).toContain("wrote 4096/4096")
    expect(`${result.stdout}${result.stderr}`).toContain("read failed: Input/output error")
  })

  it("--bad-sectors fails reads touching them, and writing them heals them", async () => {
    const server = await served(["--size", "4MiB", "--bad-sectors", "16+8"])
    const result = await run("qemu-io", [
      "-f", "raw",
      "-c", "read 0 8k",
      "-c", "read 8k 4k",
      "-c", "write -P 7 8k 4k",
      "-c", "read -P 7 8k 4k",
      server.uri
    ])
    const out = `${result.stdout}${result.stderr}`
    expect(out).toContain("read 8192/8192 bytes at offset 0")
    expect(out).toContain("read failed: Input/output error")
    expect(out).toContain("read 4096/4096 bytes at offset 8192")
    expect(out).not.toContain("Pattern verification failed")
  })
})
