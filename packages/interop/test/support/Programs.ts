/**
 * Running the real programs: a check that each one is installed (failing,
 * never skipping, with the package to install), a bounded `run`, and
 * `serve`, which starts `npx effect-block serve` the way a user would and
 * stops it when the test ends. Everything started here is killed on exit.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The repository root, where `npx effect-block` resolves. */
export const repositoryRoot = new URL("../../../../", import.meta.url).pathname

const packageOf: Record<string, string> = {
  "qemu-img": "qemu-utils",
  "qemu-io": "qemu-utils",
  nbdinfo: "libnbd-bin",
  nbdcopy: "libnbd-bin",
  nbdsh: "libnbd-bin",
  nbdkit: "nbdkit",
  fio: "fio",
  "mkfs.ext4": "e2fsprogs",
  e2fsck: "e2fsprogs",
  fusermount3: "fuse3",
  nbdfuse: "nbdfuse"
}

/** Throws, naming the program and its Debian package, unless every program is on the PATH. */
export const requirePrograms = (...names: ReadonlyArray<string>): void => {
  const missing = names.filter((name) => ChildProcess.spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0)
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((name) => packageOf[name] ?? name))].join(" ")
    throw new Error(`interop: required program(s) not installed: ${missing.join(", ")} (apt-get install -y ${packages})`)
  }
}

/** What a finished program did. */
export interface Result {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion (killed after `timeoutMillis`), without blocking the event loop. */
export const run = (command: string, args: ReadonlyArray<string>, timeoutMillis = 120_000): Promise<Result> =>
  new Promise((resolve) => {
    ChildProcess.execFile(
      command,
      args,
      { timeout: timeoutMillis, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ status, stdout, stderr })
      }
    )
  })

/** Runs a program and fails the test with its output unless it exits 0. */
export const runOk = async (command: string, args: ReadonlyArray<string>, timeoutMillis?: number): Promise<Result> => {
  const result = await run(command, args, timeoutMillis)
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`)
  }
  return result
}

const started = new Set<ChildProcess.ChildProcess>()
process.on("exit", () => {
  for (const child of started) child.kill("SIGKILL")
})

/** A running `effect-block serve`. */
export interface Served {
  readonly uri: string
  /** The server's own process id (npx runs it as a child). */
  readonly pid: number
  /** Every line it has printed on stdout so far. */
  readonly lines: () => ReadonlyArray<string>
  /** Waits (bounded) for a stdout line matching `pattern`. */
  readonly waitForLine: (pattern: RegExp) => Promise<string>
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
  readonly stop: () => Promise<number | null>
}

/** Starts `npx effect-block serve ARGS` and waits (bounded) for its URI line. */
export const serve = async (args: ReadonlyArray<string>): Promise<Served> => {
  const child = ChildProcess.spawn("npx", ["--no-install", "effect-block", "serve", ...args], {
    cwd: repositoryRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  started.add(child)
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text))
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const lines = () => stdout.split("\n").filter((line) => line.length > 0)
  const waitFor = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 30_000
    while (!done()) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill("SIGKILL")
        throw new Error(`effect-block serve ${args.join(" ")}: ${what}; stdout: ${stdout}; stderr: ${stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
  await waitFor(() => lines().length > 0 && /pid \d+/.test(stderr), "printed no URI and pid")
  const pid = Number(/pid (\d+)/.exec(stderr)![1])
  return {
    uri: lines()[0]!,
    pid,
    lines,
    waitForLine: async (pattern) => {
      await waitFor(() => lines().some((line) => pattern.test(line)), `no line matching ${pattern}`)
      return lines().find((line) => pattern.test(line))!
    },
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode
      process.kill(pid, "SIGTERM")
      const timer = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          // already gone
        }
        child.kill("SIGKILL")
      }, 10_000)
      const code = await exited
      clearTimeout(timer)
      started.delete(child)
      return code
    }
  }
}

/** A fresh temporary directory; `remove` deletes it. */
export const tempDir = () => {
  const path = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-interop-"))
  return { path, file: (name: string) => Path.join(path, name), remove: () => Fs.rmSync(path, { recursive: true, force: true }) }
}

/** Writes `length` bytes of a seeded pattern at `offset` of a file (creating it sparse). */
export const writePattern = (path: string, offset: number, length: number, seed: number): Buffer => {
  const bytes = Buffer.alloc(length)
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff
  const fd = Fs.openSync(path, Fs.existsSync(path) ? "r+" : "w+")
  try {
    Fs.writeSync(fd, bytes, 0, length, offset)
  } finally {
    Fs.closeSync(fd)
  }
  return bytes
}

/** Bytes a file really occupies on disk (its allocated blocks). */
export const allocatedBytes = (path: string): number => Fs.statSync(path).blocks * 512
