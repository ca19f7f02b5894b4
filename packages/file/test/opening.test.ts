/**
 * Opening the file device: what it opens (regular files and block devices, never blocking on anything
 * else), creating an image, and the FileOpenError reasons for what it refuses. Permission refusals have
 * their own file, permissions.test.ts.
 */
import { BlockDevice } from "@effect-block/block"
import { FileDevice, type FileOpenError } from "@effect-block/file"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { execFileSync } from "node:child_process"
import { constants as FsConstants } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"
import {
  createdImage,
  descriptorFlags,
  filled,
  fileSize,
  imagePath,
  openFails,
  pattern,
  readBytes,
  readFile,
  tempDir,
  writeFile
} from "./fixtures/Images.js"

describe("FileLive: opening", () => {
  it.effect("fails NotFound, naming the path, when the file is missing and create is not given", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const error = yield* openFails({ path })
      expect(error._tag).toBe("FileOpenError")
      expect((error as FileOpenError).reason).toBe("NotFound")
      expect((error as FileOpenError).code).toBe("ENOENT")
      expect(error.message).toContain(path)
      expect(error.message).toContain("create")
    }))

  it.effect("create makes a file of sizeSectors × sectorSize bytes that reads as zeros", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(10, 4096)
      expect(yield* device.info).toEqual({ readWrite: true, sectorSize: 4096, sizeSectors: 10 })
      expect(yield* fileSize(path)).toBe(40960)
      const buffer = filled(40960, 0xaa)
      yield* device.read(0, buffer)
      expect(buffer.every((byte) => byte === 0)).toBe(true)
    }))

  it.effect("create fails AlreadyExists and leaves an existing file untouched", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(1024, 7))
      const error = yield* openFails({ path, create: { sizeSectors: 4 } })
      expect((error as FileOpenError).reason).toBe("AlreadyExists")
      expect(yield* readFile(path)).toEqual(filled(1024, 7))
    }))

  it.effect("create in a missing directory fails NotFound", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* openFails({ path: Path.join(dir, "no", "disk.img"), create: { sizeSectors: 4 } })
      expect((error as FileOpenError).reason).toBe("NotFound")
    }))

  it.effect("refuses a file whose size is not a whole number of sectors, naming the size and the sector size", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(1000, 1))
      const error = yield* openFails({ path })
      expect((error as FileOpenError).reason).toBe("BadSize")
      expect(error.message).toContain("1000 bytes")
      expect(error.message).toContain("512-byte")
      const bigSectors = yield* openFails({ path: path, sectorSize: 4096 })
      expect(bigSectors.message).toContain("4096-byte")
    }))

  it.effect("refuses a directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      expect(((yield* openFails({ path: dir })) as FileOpenError).reason).toBe("NotAFile")
      expect(((yield* openFails({ path: dir, readOnly: true })) as FileOpenError).reason).toBe("NotAFile")
    }))

  it.live("refuses a FIFO at once, read-only or not, without opening it for I/O", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fifo = Path.join(dir, "fifo")
      execFileSync("mkfifo", [fifo])
      for (const options of [{ path: fifo, readOnly: true }, { path: fifo }]) {
        // A blocking open of a FIFO waits for a writer (holding a thread-pool thread; it cannot be
        // interrupted). If the device's open is still waiting after 2 seconds, open the write end without
        // blocking: that releases it, so the test ends either way, and records that it had hung.
        const released = yield* Effect.forkChild(
          Effect.delay(
            Effect.promise(() =>
              Fs.open(fifo, FsConstants.O_WRONLY | FsConstants.O_NONBLOCK).then(
                (handle) => handle.close().then(() => true),
                () => false
              )
            ),
            "2 seconds"
          )
        )
        const error = yield* openFails(options)
        const hung = yield* Fiber.join(released).pipe(Effect.timeoutOption("1 millis"))
        expect(hung._tag === "Some" && hung.value, `open ${JSON.stringify(options)} blocked on the FIFO`).toBe(false)
        yield* Fiber.interrupt(released)
        expect((error as FileOpenError).reason).toBe("NotAFile")
        expect(error.message).toContain(fifo)
        expect(error.message).toContain("FIFO")
      }
    }), { timeout: 10_000 })

  it.effect("keeps a blocking descriptor for I/O, and follows a symbolic link to a regular file", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(1024, 1))
      const link = `${path}.link`
      yield* Effect.promise(() => Fs.symlink(path, link))
      for (const readOnly of [true, false]) {
        const flags = yield* Effect.scoped(Effect.gen(function*() {
          const device = yield* FileDevice.make({ path: link, readOnly })
          expect((yield* device.info).sizeSectors).toBe(2)
          return yield* descriptorFlags(path)
        }))
        expect(flags).toHaveLength(1)
        expect(flags[0]! & FsConstants.O_NONBLOCK).toBe(0)
      }
    }))

  it.effect("opens a block-device node with the size /sys gives it, and cannot resize it", () =>
    Effect.gen(function*() {
      // An unattached loop device is a real block device of 0 bytes: opening it reads and changes nothing.
      const loop = yield* Effect.promise(async () => {
        for (const name of (await Fs.readdir("/sys/block")).filter((name) => /^loop\d+$/.test(name)).reverse()) {
          const size = await Fs.readFile(`/sys/block/${name}/size`, "utf8").catch(() => "")
          if (size.trim() === "0") return `/dev/${name}`
        }
        return undefined
      })
      expect(loop, "this test needs an unattached /dev/loopN").toBeDefined()
      for (const readOnly of [true, false]) {
        const device = yield* FileDevice.make({ path: loop!, readOnly })
        expect(yield* device.info).toEqual({ readWrite: !readOnly, sectorSize: 512, sizeSectors: 0 })
        expect((yield* Effect.flip(device.resize(8)))._tag).toBe("Unimplemented")
        expect((yield* Effect.flip(device.read(0, new Uint8Array(512))))._tag).toBe("InvalidRequest")
        yield* device.disconnect
      }
    }))

  it.live("refuses a Unix socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const socket = Path.join(dir, "socket")
      yield* Effect.acquireRelease(
        Effect.callback<Net.Server>((resume) => {
          const server = Net.createServer()
          server.listen(socket, () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      for (const options of [{ path: socket, readOnly: true }, { path: socket }]) {
        const error = yield* Effect.timeout(openFails(options), "2 seconds")
        expect((error as FileOpenError).reason).toBe("NotAFile")
        expect(error.message).toContain("socket")
      }
    }))

  it.live("refuses a character device", () =>
    Effect.gen(function*() {
      for (const options of [{ path: "/dev/null", readOnly: true }, { path: "/dev/null" }]) {
        const error = yield* Effect.timeout(openFails(options), "2 seconds")
        expect((error as FileOpenError).reason).toBe("NotAFile")
        expect(error.message).toContain("character device")
      }
    }))

  it.effect("opens an existing file with the size it has", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, pattern(8192, 3))
      const device = yield* FileDevice.make({ path, sectorSize: 1024 })
      expect(yield* device.info).toEqual({ readWrite: true, sectorSize: 1024, sizeSectors: 8 })
      const buffer = yield* readBytes(device, 0, 8192)
      expect(buffer).toEqual(pattern(8192, 3))
    }))

  it.effect("an empty file is a device of zero sectors", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, new Uint8Array(0))
      const device = yield* FileDevice.make({ path })
      expect((yield* device.info).sizeSectors).toBe(0)
    }))

  it.effect("bad options fail InvalidRequest and create nothing", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const cases = [
        { path, sectorSize: 3, create: { sizeSectors: 4 } },
        { path, sectorSize: 131072, create: { sizeSectors: 4 } },
        { path, create: { sizeSectors: -1 } },
        { path, create: { sizeSectors: 1.5 } },
        { path, create: { sizeSectors: Number.MAX_SAFE_INTEGER } },
        { path, create: { sizeSectors: 4 }, readOnly: true },
        { path: "" }
      ]
      for (const options of cases) {
        const error = yield* openFails(options)
        expect(error._tag).toBe("InvalidRequest")
      }
      expect(yield* Effect.promise(() => Fs.access(path).then(() => true, () => false))).toBe(false)
      const sectorSize = yield* openFails({ path, sectorSize: 3, create: { sizeSectors: 4 } })
      expect(sectorSize.message).toContain("option sectorSize is 3")
    }))

  it.effect("a file without write permission opens read-write only for a privileged user (root ignores the mode)", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(512, 1))
      yield* Effect.promise(() => Fs.chmod(path, 0o444))
      const exit = yield* Effect.exit(Effect.scoped(FileDevice.make({ path })))
      const privileged = process.getuid?.() === 0
      if (privileged) expect(Exit.isSuccess(exit)).toBe(true)
      else {
        expect(Exit.isFailure(exit)).toBe(true)
        const error = yield* openFails({ path })
        expect((error as FileOpenError).reason).toBe("PermissionDenied")
        expect(error.message).toContain("readOnly")
      }
      // Opening it read-only always works.
      const device = yield* FileDevice.make({ path, readOnly: true })
      expect((yield* device.info).readWrite).toBe(false)
    }))
})

describe("FileLive: open or create", () => {
  it.effect("opening first and creating on NotFound makes the image once and reopens it afterwards", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const Disk = Layer.effect(
        BlockDevice,
        FileDevice.make({ path }).pipe(
          Effect.catchTag("FileOpenError", (error) =>
            error.reason === "NotFound" ? FileDevice.make({ path, create: { sizeSectors: 16 } }) : Effect.fail(error))
        )
      )
      yield* Effect.provide(Effect.flatMap(BlockDevice, (device) => device.write(2, filled(512, 4))), Disk)
      const back = yield* Effect.provide(
        Effect.gen(function*() {
          const device = yield* BlockDevice
          const buffer = yield* readBytes(device, 2, 512)
          return [yield* device.info, buffer] as const
        }),
        Disk
      )
      expect(back[0].sizeSectors).toBe(16)
      expect(back[1]).toEqual(filled(512, 4))
    }))
})

