/**
 * Opening a file the process may not write: `PermissionDenied` (EACCES, EPERM) and `ReadOnlyFileSystem`
 * (EROFS), each pointing at `readOnly: true`, which opens the same file for reading.
 *
 * The tests run as root, whom file modes do not stop, so each condition is made real rather than assumed:
 * - EACCES: the open runs with the effective user and group switched to nobody (65534) for its duration
 *   (`process.seteuid`, which glibc applies to every thread, libuv's pool included). That is why these
 *   tests have a file of their own: vitest runs a file's tests one at a time in one process.
 * - EPERM: an immutable file (`chattr +i`), which root may not open for writing either.
 * - EROFS: a child process makes its own mount namespace (`unshare --user --map-root-user --mount`) with a
 *   small tmpfs remounted read-only, and the test opens the image through `/proc/<child>/root`. Nothing is
 *   mounted where other processes can see it, and the mount ends with the child.
 * A process that is not root gets EACCES from the file's mode alone.
 */
import { FileDevice, type FileOpenError } from "@effect-block/file"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

const nobody = 65534
const privileged = process.geteuid?.() === 0

/** A fresh directory others may search, removed when the test ends. */
const tempDir = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-file-permissions-"))
    await Fs.chmod(dir, 0o755)
    return dir
  }),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** An image of two zeroed sectors with mode 0444 (readable by all, writable by no one but root). */
const readOnlyImage = Effect.gen(function*() {
  const path = Path.join(yield* tempDir, "disk.img")
  yield* Effect.promise(async () => {
    await Fs.writeFile(path, new Uint8Array(1024))
    await Fs.chmod(path, 0o444)
  })
  return path
})

/** Runs `effect` as the unprivileged user nobody when the test process is root, as itself otherwise. */
const asUnprivileged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  privileged ?
    Effect.acquireUseRelease(
      Effect.sync(() => {
        process.setegid!(nobody)
        process.seteuid!(nobody)
      }),
      () => effect,
      () =>
        Effect.sync(() => {
          process.seteuid!(0)
          process.setegid!(0)
        })
    ) :
    effect

const openFails = (options: Parameters<typeof FileDevice.make>[0]) =>
  Effect.flip(Effect.scoped(FileDevice.make(options)))

describe("FileDevice.make: permissions", () => {
  it.effect("a file the process may not write fails PermissionDenied (EACCES), pointing at readOnly", () =>
    Effect.gen(function*() {
      const path = yield* readOnlyImage
      const error = (yield* asUnprivileged(openFails({ path }))) as FileOpenError
      expect(error._tag).toBe("FileOpenError")
      expect(error.reason).toBe("PermissionDenied")
      expect(error.code).toBe("EACCES")
      expect(error.message).toContain(path)
      expect(error.message).toContain("readOnly: true")
      const info = yield* asUnprivileged(Effect.scoped(Effect.flatMap(FileDevice.make({ path, readOnly: true }), (d) => d.info)))
      expect(info).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 2 })
    }))

  it.effect("a file in a directory the process may not search fails PermissionDenied, even read-only", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const inner = Path.join(dir, "closed")
      yield* Effect.promise(async () => {
        await Fs.mkdir(inner)
        await Fs.writeFile(Path.join(inner, "disk.img"), new Uint8Array(512))
        await Fs.chmod(inner, 0o700)
      })
      for (const readOnly of [false, true]) {
        const error = (yield* asUnprivileged(openFails({ path: Path.join(inner, "disk.img"), readOnly }))) as FileOpenError
        expect(error.reason).toBe("PermissionDenied")
        expect(error.code).toBe("EACCES")
        expect(error.message).toContain("a directory on its path may not be searched")
        expect(error.message).not.toContain("readOnly: true")
      }
    }))

  it.effect.skipIf(!privileged)("an immutable file (chattr +i) fails PermissionDenied (EPERM) even for root", () =>
    Effect.gen(function*() {
      const path = Path.join(yield* tempDir, "disk.img")
      yield* Effect.promise(() => Fs.writeFile(path, new Uint8Array(512)))
      yield* Effect.acquireRelease(
        Effect.sync(() => execFileSync("chattr", ["+i", path])),
        () => Effect.sync(() => execFileSync("chattr", ["-i", path]))
      )
      const error = (yield* openFails({ path })) as FileOpenError
      expect(error.reason).toBe("PermissionDenied")
      expect(error.code).toBe("EPERM")
      expect(error.message).toContain("readOnly: true")
      const device = yield* FileDevice.make({ path, readOnly: true })
      expect((yield* device.info).readWrite).toBe(false)
    }))

  it.live("a file on a read-only file system fails ReadOnlyFileSystem (EROFS); readOnly opens it", () =>
    Effect.gen(function*() {
      const mountPoint = yield* tempDir
      const child = yield* Effect.acquireRelease(
        Effect.callback<ReturnType<typeof spawn>, Error>((resume) => {
          const script = `mount -t tmpfs -o size=64k tmpfs "$0" && head -c 1024 /dev/zero > "$0/disk.img" && ` +
            `mount -o remount,ro "$0" && echo ready && exec sleep 60`
          const process = spawn("unshare", ["--user", "--map-root-user", "--mount", "sh", "-c", script, mountPoint], {
            stdio: ["ignore", "pipe", "pipe"]
          })
          let stderr = ""
          process.stderr!.on("data", (chunk) => stderr += String(chunk))
          process.stdout!.once("data", () => resume(Effect.succeed(process)))
          process.once("exit", (code) => resume(Effect.fail(new Error(`unshare exited ${code}: ${stderr}`))))
          process.once("error", (error) => resume(Effect.fail(error)))
        }).pipe(Effect.timeout("10 seconds")),
        (child) =>
          Effect.callback<void>((resume) => {
            if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
            child.once("exit", () => resume(Effect.void))
            child.kill()
          })
      )
      const path = `/proc/${child.pid}/root${mountPoint}/disk.img`
      const error = (yield* openFails({ path })) as FileOpenError
      expect(error.reason).toBe("ReadOnlyFileSystem")
      expect(error.code).toBe("EROFS")
      expect(error.message).toContain("readOnly: true")
      const device = yield* FileDevice.make({ path, readOnly: true })
      expect(yield* device.info).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 2 })
      const buffer = new Uint8Array(1024).fill(9)
      yield* device.read(0, buffer)
      expect(buffer.every((byte) => byte === 0)).toBe(true)
      yield* device.disconnect
    }), { timeout: 30_000 })
})
