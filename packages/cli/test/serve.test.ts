/**
 * The `effect-block` command as a user runs it: a separate process started
 * from `bin/effect-block.js` (built by `npm test`'s `tsc -b`). Help, the
 * one-line errors for bad flags, and `serve`: the URI line, a working
 * export, power loss on SIGUSR1 with `--crash`, exit 0 on SIGTERM.
 * Every process is killed when its test ends; every wait is bounded.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { parseSize } from "../src/Size.js"

const bin = new URL("../bin/effect-block.js", import.meta.url).pathname

const run = (args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 20_000 })

// Whatever a test started is killed when it ends, even when it timed out.
const children = new Set<ChildProcess.ChildProcess>()
afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  children.clear()
})

/** A running `serve`, its first stdout line, and a way to stop it. */
const startServe = async (args: ReadonlyArray<string>) => {
  const child = ChildProcess.spawn(process.execPath, [bin, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] })
  children.add(child)
  let stdout = ""
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
  const deadline = Date.now() + 20_000
  while (!stdout.includes("\n")) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL")
      throw new Error(`serve printed no URI: ${stdout}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return {
    child,
    lines: () => stdout.split("\n").filter((line) => line.length > 0),
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      child.kill(signal)
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

const tempSocket = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-cli-")), "nbd.sock")

/** Reads the 18-byte greeting an NBD server sends first. */
const greeting = (path: string) =>
  new Promise<Buffer>((resolve, reject) => {
    const socket = Net.createConnection({ path })
    let data = Buffer.alloc(0)
    const timer = setTimeout(() => reject(new Error("no greeting")), 5000)
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk])
      if (data.length >= 18) {
        clearTimeout(timer)
        socket.destroy()
        resolve(data.subarray(0, 18))
      }
    })
    socket.on("error", reject)
  })

describe("parseSize", () => {
  it("reads bytes and binary units", () => {
    expect([parseSize("512"), parseSize("64MiB"), parseSize("1G"), parseSize("4k"), parseSize("2TiB")]).toEqual([
      512,
      64 * 1024 ** 2,
      1024 ** 3,
      4096,
      2 * 1024 ** 4
    ])
  })
  it("names what is wrong with a bad size", () => {
    expect(parseSize("abc")).toContain("not a size")
    expect(parseSize("3 parsecs")).toContain("unknown unit")
    expect(parseSize("99999999999T")).toContain("larger than")
  })
})

describe("effect-block --help", () => {
  it("documents the subcommands and every serve flag", { timeout: 60_000 }, () => {
    const top = run(["--help"])
    expect(top.status).toBe(0)
    expect(top.stdout).toContain("serve")
    const serve = run(["serve", "--help"])
    expect(serve.status).toBe(0)
    for (const flag of ["--size", "--socket", "--port", "--host", "--file", "--sector-size", "--read-only", "--export", "--crash", "--read-error-rate", "--bad-sectors", "--latency-read"]) {
      expect(serve.stdout).toContain(flag)
    }
  })
})

describe("bad flags", () => {
  it.each([
    [["serve", "--size", "abc"], "--size"],
    [["serve", "--size", "1000"], "--size"],
    [["serve", "--sector-size", "3"], "--sector-size"],
    [["serve", "--port", "x"], "--port"],
    [["serve", "--port", "70000"], "--port"],
    [["serve", "--read-error-rate", "2"], "--read-error-rate"],
    [["serve", "--bad-sectors", "1-2"], "--bad-sectors"],
    [["serve", "--bogus"], "--bogus"],
    [["serve", "--host", "::1"], "--host"]
  ])("%j is one line on stderr naming %s, exit code 1", { timeout: 30_000 }, (args, flag) => {
    const result = run(args)
    expect(result.status).toBe(1)
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(flag)
    expect(result.stdout).toBe("")
  })
})

describe("effect-block serve", () => {
  it("prints the export's URI once it accepts connections, and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
    const socket = tempSocket()
    const server = await startServe(["--size", "1MiB", "--socket", socket, "--export", "disk"])
    try {
      expect(server.lines()[0]).toBe(`nbd+unix:///disk?socket=${socket}`)
      const hello = await greeting(socket)
      expect(hello.subarray(0, 8).toString("latin1")).toBe("NBDMAGIC")
    } finally {
      expect(await server.stop()).toBe(0)
    }
    expect(Fs.existsSync(socket)).toBe(false)
  })

  it("with --crash, SIGUSR1 crashes into a seeded state and prints it, and the server keeps serving", { timeout: 60_000 }, async () => {
    const socket = tempSocket()
    const server = await startServe(["--size", "1MiB", "--socket", socket, "--crash", "--seed", "7"])
    try {
      server.child.kill("SIGUSR1")
      const deadline = Date.now() + 10_000
      while (!server.lines().some((line) => line.startsWith("crashed: ")) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(server.lines()[1]).toMatch(/^crashed: epoch \d+: \d+ of \d+ writes landed/)
      expect((await greeting(socket)).subarray(0, 8).toString("latin1")).toBe("NBDMAGIC")
    } finally {
      expect(await server.stop()).toBe(0)
    }
  })

  it("a socket path that cannot be bound is one line naming it, exit code 1", { timeout: 30_000 }, () => {
    const result = run(["serve", "--socket", "/nonexistent-dir/x.sock"])
    expect(result.status).toBe(1)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("/nonexistent-dir/x.sock")
  })
})
