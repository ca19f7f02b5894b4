/**
 * Real NBD servers for the NBD client's interop tests: nbdkit's memory plugin
 * and qemu-nbd over a file, each started on a fresh Unix socket in a scope
 * and killed when the scope closes. A missing program fails with a message
 * naming it.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** Fails with a clear message when `program` is not installed. */
export const requireProgram = (program: string): void => {
  const found = ChildProcess.spawnSync("sh", ["-c", `command -v ${program}`]).status === 0
  if (!found) throw new Error(`the interop suite needs ${program}; install it (Debian: nbdkit, qemu-utils, libnbd-bin, fio)`)
}

/** Whether something accepts connections on the Unix socket at `path` now. */
const accepts = (path: string) =>
  new Promise<boolean>((resolve) => {
    const probe = Net.connect(path)
    probe.once("connect", () => {
      probe.destroy()
      resolve(true)
    })
    probe.once("error", () => resolve(false))
  })

/**
 * Waits until the server accepts connections. The socket file appears when
 * the server binds, a moment before it listens: a client connecting in
 * between is refused (seen as ECONNREFUSED in a CI run), so the file alone
 * is not enough.
 */
const waitForSocket = (path: string, child: ChildProcess.ChildProcess) =>
  Effect.promise(async () => {
    for (let i = 0; i < 500; i++) {
      if (Fs.existsSync(path) && await accepts(path)) return
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before listening`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error(`the server did not listen on ${path} within 5 s`)
  })

/** A temporary directory for one server, removed afterwards. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-nbd-interop-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** Starts `command` (which must listen on the given socket) and returns the socket's URI. */
export const serve = (program: string, args: (socket: string, dir: string) => ReadonlyArray<string>, exportName = "") =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const socket = Path.join(dir, "nbd.sock")
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => ChildProcess.spawn(program, [...args(socket, dir)], { stdio: ["ignore", "ignore", "inherit"] })),
      (child) =>
        Effect.promise(() =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve()
            child.once("exit", () => resolve())
            child.kill("SIGTERM")
          })
        )
    )
    yield* waitForSocket(socket, child)
    return `nbd+unix:///${exportName}?socket=${socket}`
  })

/** nbdkit's memory plugin: a fresh zeroed sparse disk of `size` (nbdkit's syntax: 64M, 1G). */
export const nbdkitMemory = (size: string, extra: ReadonlyArray<string> = []) =>
  serve("nbdkit", (socket) => ["-U", socket, "-f", "--exit-with-parent", ...extra, "memory", size])

/** qemu-nbd over a fresh raw file of `bytes` bytes. */
export const qemuNbdFile = (bytes: number, extra: ReadonlyArray<string> = []) =>
  serve("qemu-nbd", (socket, dir) => {
    const file = Path.join(dir, "disk.raw")
    Fs.writeFileSync(file, new Uint8Array(0))
    Fs.truncateSync(file, bytes)
    return ["-k", socket, "-f", "raw", "-t", "--cache=writeback", ...extra, file]
  })

/** A layer whose building starts a server and yields its URI to `build`. */
export const withServer = <A, E, R>(
  server: Effect.Effect<string, never, import("effect/Scope").Scope>,
  build: (uri: string) => Layer.Layer<A, E, R>
): Layer.Layer<A, E, R> => Layer.unwrap(Effect.map(server, build))
