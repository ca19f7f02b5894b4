/**
 * A real file system on an export: `nbdfuse` shows the export as a file,
 * `mkfs.ext4` formats it and `e2fsck -fn` finds it clean, on a plain
 * ramdisk and on one with latency injected. (The kernel's nbd module is not
 * available here; FUSE is.)
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { requirePrograms, run, runOk, serve, tempDir } from "./support/Programs.js"

beforeAll(() => requirePrograms("nbdfuse", "fusermount3", "mkfs.ext4", "e2fsck"))

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Mounts the export with nbdfuse at `dir/mnt/disk`; unmounted by the cleanup. */
const fuseMount = async (dir: string, uri: string) => {
  const mountpoint = `${dir}/mnt`
  Fs.mkdirSync(mountpoint)
  const child = ChildProcess.spawn("nbdfuse", [`${mountpoint}/disk`, uri], { stdio: "ignore" })
  cleanups.push(async () => {
    await run("fusermount3", ["-u", mountpoint], 10_000)
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
    if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve))
    clearTimeout(timer)
  })
  const deadline = Date.now() + 15_000
  while (!Fs.existsSync(`${mountpoint}/disk`)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nbdfuse did not mount ${uri}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return `${mountpoint}/disk`
}

describe("mkfs.ext4 and e2fsck through nbdfuse", () => {
  it.each([
    ["a ramdisk", [] as Array<string>],
    ["a ramdisk with injected latency", ["--latency-write", "1", "--latency-read", "0.5"]]
  ])("on %s the new file system checks clean", async (_name, flags) => {
    const work = tempDir()
    cleanups.push(work.remove)
    const server = await serve(["--size", "128MiB", "--socket", work.file("s.sock"), ...flags])
    cleanups.push(() => server.stop())
    const disk = await fuseMount(work.path, server.uri)
    expect(Fs.statSync(disk).size).toBe(128 * 1024 * 1024)
    await runOk("mkfs.ext4", ["-q", "-F", disk])
    const fsck = await runOk("e2fsck", ["-fn", disk])
    expect(fsck.stdout).toMatch(/\d+\/\d+ files/)
  })
})
