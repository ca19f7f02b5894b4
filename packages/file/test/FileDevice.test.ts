/**
 * What the file device adds to the block-device contract: opening and
 * creating files, read-only handles, real flush/resize/discard on the file,
 * persistence across opens, the closing of the descriptor, and atomicity of
 * concurrent overlapping I/O. The generic rules are checked by the
 * conformance suite in conformance.test.ts.
 *
 * Every test works in its own temporary directory, removed when it ends.
 */
import { BlockDevice, type BlockDeviceShape } from "@effect-block/block"
import { FileDevice, FileLive, type FileOpenError, FileOptions } from "@effect-block/file"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { execFileSync } from "node:child_process"
import { constants as FsConstants } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** A fresh directory for one test, removed (after the devices in it are closed) when the test ends. */
const tempDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-file-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

const imagePath = Effect.map(tempDir, (dir) => Path.join(dir, "disk.img"))

/** A new image of `sizeSectors` zeroed sectors in a fresh directory, open read-write, and its path. */
const createdImage = (sizeSectors: number, sectorSize?: number) =>
  Effect.gen(function*() {
    const path = yield* imagePath
    const geometry = sectorSize === undefined ? {} : { sectorSize }
    const device = yield* FileDevice.make({ path, ...geometry, create: { sizeSectors } })
    return { device, path }
  })

const writeFile = (path: string, bytes: Uint8Array) => Effect.promise(() => Fs.writeFile(path, bytes))
const readFile = (path: string) => Effect.promise(async () => new Uint8Array(await Fs.readFile(path)))
const fileSize = (path: string) => Effect.promise(async () => (await Fs.stat(path)).size)

/** The `bytes` bytes from sector `sectorStart` of `device`, read into a new buffer. */
const readBytes = (device: BlockDeviceShape, sectorStart: number, bytes: number) =>
  Effect.suspend(() => {
    const buffer = new Uint8Array(bytes)
    return Effect.as(device.read(sectorStart, buffer), buffer)
  })

const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte)
const pattern = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff)

const openFails = (options: Parameters<typeof FileLive>[0]) =>
  Effect.flip(Effect.scoped(FileDevice.make(options)))

const openFileDescriptors = Effect.promise(async () => (await Fs.readdir("/proc/self/fd")).length)

/** The `open` flags of every descriptor of this process open on `path` (from Linux's /proc/self/fdinfo). */
const descriptorFlags = (path: string) =>
  Effect.promise(async () => {
    const flags: Array<number> = []
    for (const fd of await Fs.readdir("/proc/self/fd")) {
      const target = await Fs.readlink(`/proc/self/fd/${fd}`).catch(() => "")
      if (target !== path) continue
      const info = await Fs.readFile(`/proc/self/fdinfo/${fd}`, "utf8").catch(() => "")
      const match = /^flags:\s*([0-7]+)$/m.exec(info)
      if (match !== null) flags.push(parseInt(match[1]!, 8))
    }
    return flags
  })

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

describe("FileLive: options", () => {
  const decodeFails = (options: unknown) =>
    Effect.flip(Effect.scoped(FileDevice.make(options as Parameters<typeof FileDevice.make>[0])))

  it.effect("options that are not an object fail InvalidRequest, not a defect", () =>
    Effect.gen(function*() {
      for (const options of [undefined, null, 7, "disk.img", []]) {
        const error = yield* decodeFails(options)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("FileDevice.make: the options")
      }
    }))

  it.effect("readOnly must be true or false: 1, \"true\" and null are refused, naming it, and nothing is opened for writing", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(512, 1))
      for (const [readOnly, shown] of [[1, "1"], ["true", "\"true\""], [null, "null"]] as const) {
        const error = yield* decodeFails({ path, readOnly })
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(`option readOnly is ${shown}`)
        expect(error.message).toContain("true or false")
      }
      expect(yield* readFile(path)).toEqual(filled(512, 1))
    }))

  it.effect("null is not absent: sectorSize, create and create.sizeSectors refuse it, naming the option", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const cases = [
        [{ path, sectorSize: null }, "option sectorSize is null"],
        [{ path, create: null }, "option create is null"],
        [{ path, create: { sizeSectors: null } }, "option create.sizeSectors is null"],
        [{ path, create: {} }, "option create.sizeSectors is missing"],
        [{ path: null }, "option path is null"],
        [{}, "option path is missing"]
      ] as const
      for (const [options, message] of cases) {
        const error = yield* decodeFails(options)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(message)
      }
      expect(yield* Effect.promise(() => Fs.access(path).then(() => true, () => false))).toBe(false)
    }))

  it.effect("FileLive decodes its options the same way, naming itself", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(512, 1))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(FileLive({ path, readOnly: 1 as unknown as boolean }))))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("FileLive: option readOnly is 1")
    }))

  it.effect("a key that is not an option is refused, so a misspelt readonly: true never opens read-write", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, filled(512, 1))
      const error = yield* decodeFails({ path, readonly: true })
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("readonly is not an option")
    }))

  it.effect("a path with a NUL character is refused before the file system sees it", () =>
    Effect.gen(function*() {
      const error = yield* decodeFails({ path: "disk\u0000.img" })
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("option path")
    }))

  it.effect("hostile options (Proxies, revoked Proxies, throwing getters) fail InvalidRequest, never a defect", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const revoked = Proxy.revocable({ path }, {})
      revoked.revoke()
      const throwing = (key: string) =>
        Object.defineProperty({ path, create: { sizeSectors: 4 } }, key, {
          enumerable: true,
          get: () => {
            throw new Error(`${key} exploded`)
          }
        })
      const unreadable: Array<unknown> = [
        revoked.proxy,
        new Proxy({ path }, { get: () => { throw new Error("get trap") } }),
        throwing("path"),
        throwing("readOnly"),
        throwing("create"),
        { path, create: Object.defineProperty({}, "sizeSectors", { enumerable: true, get: () => { throw 42 } }) },
        // What the getter throws is itself hostile: an Error whose message is an object that cannot be shown.
        Object.defineProperty({}, "path", {
          enumerable: true,
          get: () => {
            const error = new Error("x")
            Object.defineProperty(error, "message", { value: { toString: () => { throw new Error("again") } } })
            throw error
          }
        })
      ]
      for (const options of unreadable) {
        const exit = yield* Effect.exit(Effect.scoped(FileDevice.make(options as { path: string })))
        expect(exit._tag).toBe("Failure")
        if (exit._tag === "Failure") expect(String(exit.cause)).toMatch(/^Cause\(\[Fail\(InvalidRequest/)
      }
      // Traps the decoder does not need may throw without harm: the options read fine, and opening the
      // missing file fails as it should.
      const harmless: Array<unknown> = [
        new Proxy({ path }, { ownKeys: () => { throw new Error("ownKeys trap") } }),
        new Proxy({ path }, { getOwnPropertyDescriptor: () => { throw new Error("descriptor trap") } })
      ]
      for (const options of harmless) {
        const exit = yield* Effect.exit(Effect.scoped(FileDevice.make(options as { path: string })))
        expect(exit._tag).toBe("Failure")
        if (exit._tag === "Failure") expect(String(exit.cause)).toMatch(/^Cause\(\[Fail\((InvalidRequest|FileOpenError)/)
      }
      expect(yield* Effect.promise(() => Fs.access(path).then(() => true, () => false))).toBe(false)
    }))

  it.effect("each option is read once, so a getter that changes its answer cannot pass one value and use another", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      let reads = 0
      const options = {
        get path() {
          reads++
          return reads === 1 ? path : ""
        },
        create: { sizeSectors: 4 }
      }
      const device = yield* FileDevice.make(options)
      expect(reads).toBe(1)
      expect((yield* device.info).sizeSectors).toBe(4)
      expect(yield* fileSize(path)).toBe(2048)
    }))

  it("FileOptions is the schema the options are decoded with", () => {
    expect(Schema.decodeUnknownSync(FileOptions)({ path: "a", readOnly: true })).toEqual({ path: "a", readOnly: true })
    expect(() => Schema.decodeUnknownSync(FileOptions)({ path: "a", readOnly: 1 })).toThrow()
  })
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

describe("FileLive: readOnly", () => {
  it.effect("reads, and refuses write, discard and resize with IsReadOnly, leaving the file unchanged", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* writeFile(path, pattern(4096, 5))
      const device = yield* FileDevice.make({ path, readOnly: true })
      expect(yield* device.info).toEqual({ readWrite: false, sectorSize: 512, sizeSectors: 8 })
      const buffer = yield* readBytes(device, 0, 4096)
      expect(buffer).toEqual(pattern(4096, 5))
      expect((yield* Effect.flip(device.write(0, filled(512, 9))))._tag).toBe("IsReadOnly")
      expect((yield* Effect.flip(device.discard(0, 8)))._tag).toBe("IsReadOnly")
      expect((yield* Effect.flip(device.resize(16)))._tag).toBe("IsReadOnly")
      yield* device.flush
      expect(yield* readFile(path)).toEqual(pattern(4096, 5))
    }))
})

describe("read and write", () => {
  it.effect("write puts the bytes at sectorStart × sectorSize in the file, and read gets them back", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(16)
      yield* device.write(3, pattern(1024, 1))
      const file = yield* readFile(path)
      expect(file.subarray(3 * 512, 5 * 512)).toEqual(pattern(1024, 1))
      expect(file.subarray(0, 3 * 512).every((byte) => byte === 0)).toBe(true)
      const buffer = yield* readBytes(device, 3, 1024)
      expect(buffer).toEqual(pattern(1024, 1))
    }))

  it.effect("several buffers, including views with a byteOffset, map to consecutive sectors", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(16)
      const backing = pattern(4096, 2)
      const views = [backing.subarray(512, 1024), new Uint8Array(0), backing.subarray(2048, 3584)]
      yield* device.write(5, views)
      const expected = new Uint8Array(2048)
      expected.set(backing.subarray(512, 1024), 0)
      expected.set(backing.subarray(2048, 3584), 512)
      const whole = yield* readBytes(device, 5, 2048)
      expect(whole).toEqual(expected)
      const outer = new Uint8Array(4096)
      const parts = [outer.subarray(100 * 0 + 512, 1536), outer.subarray(2048, 3072)]
      yield* device.read(5, parts)
      expect(outer.subarray(512, 1536)).toEqual(expected.subarray(0, 1024))
      expect(outer.subarray(2048, 3072)).toEqual(expected.subarray(1024, 2048))
      expect(outer.subarray(0, 512).every((byte) => byte === 0)).toBe(true)
    }))

  it.effect("more buffers than one vectored call takes are all transferred", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(3000, 16)
      const source = pattern(3000 * 16, 4)
      const pieces = Array.from({ length: 3000 }, (_, i) => source.subarray(i * 16, (i + 1) * 16))
      yield* device.write(0, pieces)
      expect(yield* readFile(path)).toEqual(source)
      const target = new Uint8Array(3000 * 16)
      yield* device.read(0, Array.from({ length: 3000 }, (_, i) => target.subarray(i * 16, (i + 1) * 16)))
      expect(target).toEqual(source)
    }))

  it.effect("the caller may reuse its buffer as soon as write completes", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(4)
      const buffer = filled(512, 1)
      yield* device.write(0, buffer)
      buffer.fill(2)
      const back = yield* readBytes(device, 0, 512)
      expect(back).toEqual(filled(512, 1))
    }))

  it.effect("data persists after the layer is released and the file is opened again", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* Effect.gen(function*() {
        const device = yield* BlockDevice
        yield* device.write(7, pattern(2048, 9))
        yield* device.flush
      }).pipe(Effect.provide(FileLive({ path, create: { sizeSectors: 32 } })))
      const back = yield* Effect.gen(function*() {
        const device = yield* BlockDevice
        expect((yield* device.info).sizeSectors).toBe(32)
        return yield* readBytes(device, 7, 2048)
      }).pipe(Effect.provide(FileLive({ path })))
      expect(back).toEqual(pattern(2048, 9))
    }))

  it.effect("a file shortened by another program makes reads past its end fail IOError, not zeros", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* Effect.promise(() => Fs.truncate(path, 1024))
      const error = yield* Effect.flip(device.read(0, new Uint8Array(4096)))
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain("1024 bytes long")
    }))

  it.effect("the end-of-file error names the file's length, not the position the read reached", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* Effect.promise(() => Fs.truncate(path, 1024))
      const error = yield* Effect.flip(device.read(4, new Uint8Array(2048)))
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain("1024 bytes long")
      expect(error.message).toContain("4096 bytes")
      expect(error.message).not.toContain("2048")
    }))

  it.effect("a buffer whose byteLength lies moves its real bytes only: nothing outside it is read or written", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(16)
      yield* device.write(0, filled(16 * 512, 7))
      class Liar extends Uint8Array {
        override get byteLength() {
          return 8192
        }
      }
      const ownProperty = Object.defineProperty(filled(512, 1), "byteLength", { value: 8192 })
      const changing = new (class extends Uint8Array {
        reads = 0
        override get byteLength() {
          return this.reads++ === 0 ? 512 : 8192
        }
      })(512).fill(1)
      for (const liar of [new Liar(512).fill(1), ownProperty, changing]) {
        const exit = yield* Effect.exit(device.write(0, liar))
        if (exit._tag === "Failure") expect(String(exit.cause)).toMatch(/^Cause\(\[Fail\(InvalidRequest/)
        const file = yield* readFile(path)
        expect(file.subarray(0, 512)).toEqual(filled(512, exit._tag === "Success" ? 1 : 7))
        expect(file.subarray(512)).toEqual(filled(15 * 512, 7))
        yield* device.write(0, filled(512, 7))
        // Reading into it fills its own 512 bytes, or nothing.
        const read = yield* Effect.exit(device.read(1, liar))
        if (read._tag === "Failure") expect(String(read.cause)).toMatch(/^Cause\(\[Fail\(InvalidRequest/)
        else expect(new Uint8Array(liar.buffer, liar.byteOffset, 512)).toEqual(filled(512, 7))
      }
    }))

  it.effect("Node Buffers and plain views with an offset are real Uint8Arrays and move data", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(4)
      const buffer = Buffer.alloc(2048, 3)
      yield* device.write(0, [buffer.subarray(512, 1024), Buffer.from(filled(512, 4))])
      const back = yield* readBytes(device, 0, 1024)
      expect(back).toEqual(Uint8Array.from([...filled(512, 3), ...filled(512, 4)]))
    }))

  it.effect.prop(
    "any sequence of writes, discards and reads agrees with an in-memory model",
    [Schema.Array(Schema.Tuple([
      Schema.Literals(["write", "discard", "read"]),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 63 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 })),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))
    ])).check(Schema.isMaxLength(25))],
    ([history]) =>
      Effect.gen(function*() {
        const { device, path } = yield* createdImage(64, 64)
        const model = new Uint8Array(64 * 64)
        for (const [op, start, length, seed] of history) {
          const sectors = Math.min(length, 64 - start)
          if (op === "write") {
            const data = pattern(sectors * 64, seed)
            yield* device.write(start, data)
            model.set(data, start * 64)
          } else if (op === "discard") {
            yield* device.discard(start, sectors)
            model.fill(0, start * 64, (start + sectors) * 64)
          } else {
            const buffer = yield* readBytes(device, start, sectors * 64)
            expect(buffer).toEqual(model.subarray(start * 64, (start + sectors) * 64))
          }
        }
        expect(yield* readFile(path)).toEqual(model)
      }),
    { timeout: 60_000 }
  )
})

describe("concurrency", () => {
  it.effect("concurrent overlapping writes and reads never show half of a write", () =>
    Effect.gen(function*() {
      // 2048 buffers of 512 bytes take more than one vectored system call, so without the range lock a
      // reader running between two calls would see a torn write.
      const sectors = 2048
      const { device } = yield* createdImage(sectors)
      const writer = (byte: number) =>
        device.write(0, Array.from({ length: sectors }, () => filled(512, byte)))
      const torn: Array<string> = []
      const reader = Effect.gen(function*() {
        const buffer = new Uint8Array(sectors * 512)
        yield* device.read(0, Array.from({ length: sectors }, (_, i) => buffer.subarray(i * 512, (i + 1) * 512)))
        const first = buffer[0]!
        const other = buffer.findIndex((byte) => byte !== first)
        if (other >= 0) torn.push(`byte 0 is ${first} but byte ${other} is ${buffer[other]}`)
      })
      const work = Array.from({ length: 40 }, (_, i) => i % 2 === 0 ? writer(i + 1) : reader)
      yield* Effect.all(work, { concurrency: "unbounded", discard: true })
      expect(torn).toEqual([])
    }), { timeout: 60_000 })

  it.effect("writes to disjoint ranges from many fibers all land", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(256)
      yield* Effect.all(
        Array.from({ length: 64 }, (_, i) => device.write(i * 4, pattern(2048, i))),
        { concurrency: "unbounded", discard: true }
      )
      const file = yield* readFile(path)
      for (let i = 0; i < 64; i++) expect(file.subarray(i * 2048, (i + 1) * 2048)).toEqual(pattern(2048, i))
    }))

  it.effect("a resize waits for I/O in flight, and I/O queued behind it is checked against the new size", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(64)
      const results = yield* Effect.all([
        Effect.exit(device.write(32, filled(32 * 512, 1))),
        Effect.exit(device.resize(16)),
        Effect.exit(device.write(32, filled(32 * 512, 2)))
      ], { concurrency: "unbounded" })
      expect(Exit.isSuccess(results[0])).toBe(true)
      expect(Exit.isSuccess(results[1])).toBe(true)
      expect(results[2]._tag === "Failure" && String(results[2].cause)).toContain("InvalidRequest")
      expect(yield* fileSize(path)).toBe(16 * 512)
    }))
  it.effect("a request interrupted while it waits for its range gives the range up to those queued behind it", () =>
    Effect.gen(function*() {
      const sectors = 64 * 2048
      const { device } = yield* createdImage(sectors)
      const big = filled(sectors * 512, 1)
      const first = yield* Effect.forkChild(device.write(0, big))
      yield* Effect.yieldNow
      const waiting = yield* Effect.forkChild(device.read(0, new Uint8Array(512)))
      yield* Effect.yieldNow
      const queued = yield* Effect.forkChild(device.write(0, filled(512, 2)))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiting)
      yield* Fiber.join(first)
      yield* Fiber.join(queued)
      const back = yield* readBytes(device, 0, 1024)
      expect(back.subarray(0, 512)).toEqual(filled(512, 2))
      expect(back.subarray(512)).toEqual(filled(512, 1))
    }), { timeout: 60_000 })
})

describe("interruption", () => {
  it.live("an interrupted write that has started runs to its end: later reads see all of it, never a part", () =>
    Effect.gen(function*() {
      // 16 MiB in 2048 buffers takes several system calls, so an interruption lands between them.
      const sectors = 32768
      const { device } = yield* createdImage(sectors)
      for (const delay of [0, 1, 2, 5]) {
        const data = filled(sectors * 512, delay + 1)
        const buffers = Array.from({ length: 2048 }, (_, i) => data.subarray(i * 8192, (i + 1) * 8192))
        const fiber = yield* Effect.forkChild(device.write(0, buffers))
        yield* Effect.sleep(delay)
        yield* Fiber.interrupt(fiber)
        const back = yield* readBytes(device, 0, sectors * 512)
        const seen = new Set<number>()
        for (let sector = 0; sector < sectors; sector++) seen.add(back[sector * 512]!)
        // Old data everywhere (the write had not started) or new data everywhere.
        expect(seen.size, `after ${delay} ms the device shows the bytes ${[...seen].join(", ")}`).toBe(1)
        expect([delay, delay + 1]).toContain([...seen][0])
      }
    }), { timeout: 60_000 })
})

describe("flush", () => {
  it.effect("succeeds after writes, and the data is in the file", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* device.write(1, filled(512, 3))
      yield* device.flush
      expect((yield* readFile(path)).subarray(512, 1024)).toEqual(filled(512, 3))
    }))
})

describe("discard", () => {
  it.effect("makes the range read as zeros and leaves its neighbours alone", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* device.write(0, filled(4096, 5))
      yield* device.discard(2, 3)
      const file = yield* readFile(path)
      expect(file.subarray(0, 1024)).toEqual(filled(1024, 5))
      expect(file.subarray(1024, 2560)).toEqual(filled(1536, 0))
      expect(file.subarray(2560)).toEqual(filled(1536, 5))
    }))

  it.effect("zeros ranges larger than its one-megabyte chunk, up to the last sector", () =>
    Effect.gen(function*() {
      const sectors = 5000
      const { device, path } = yield* createdImage(sectors)
      yield* device.write(0, filled(sectors * 512, 0xff))
      yield* device.discard(1, 1)
      yield* device.discard(3, sectors - 4)
      const file = yield* readFile(path)
      expect(file[0]).toBe(0xff)
      expect(file.subarray(512, 1024).every((byte) => byte === 0)).toBe(true)
      expect(file.subarray(1024, 1536).every((byte) => byte === 0xff)).toBe(true)
      expect(file.subarray(1536, (sectors - 1) * 512).every((byte) => byte === 0)).toBe(true)
      expect(file.subarray((sectors - 1) * 512).every((byte) => byte === 0xff)).toBe(true)
    }))
})

describe("resize", () => {
  it.effect("changes the file's length; growing exposes zeros and shrinking then growing reads zeros", () =>
    Effect.gen(function*() {
      const { device, path } = yield* createdImage(8)
      yield* device.write(0, filled(4096, 6))
      yield* device.resize(4)
      expect(yield* fileSize(path)).toBe(2048)
      expect((yield* device.info).sizeSectors).toBe(4)
      expect((yield* Effect.flip(device.read(4, new Uint8Array(512))))._tag).toBe("InvalidRequest")
      yield* device.resize(12)
      expect(yield* fileSize(path)).toBe(6144)
      const buffer = yield* readBytes(device, 0, 6144)
      expect(buffer.subarray(0, 2048)).toEqual(filled(2048, 6))
      expect(buffer.subarray(2048).every((byte) => byte === 0)).toBe(true)
    }))

  it.effect("the new size is what the file has when it is opened again", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      yield* Effect.scoped(Effect.flatMap(FileDevice.make({ path, create: { sizeSectors: 8 } }), (d) => d.resize(3)))
      const device = yield* FileDevice.make({ path })
      expect((yield* device.info).sizeSectors).toBe(3)
    }))
})

describe("seeks", () => {
  it.effect("report every sector as mapped", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(8)
      for (let from = 0; from <= 8; from++) {
        expect(yield* device.seekMapped(from)).toBe(from)
        expect(yield* device.seekUnmapped(from)).toBe(8)
      }
    }))
})

describe("disconnect", () => {
  it.effect("closes the file; afterwards every operation but info fails Disconnected", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(8)
      const before = yield* openFileDescriptors
      yield* device.disconnect
      yield* device.disconnect
      expect(yield* openFileDescriptors).toBe(before - 1)
      expect((yield* device.info).sizeSectors).toBe(8)
      const buffer = new Uint8Array(512)
      for (
        const operation of [
          device.read(0, buffer),
          device.write(0, buffer),
          device.flush,
          device.discard(0, 1),
          device.resize(4),
          device.seekMapped(0),
          device.seekUnmapped(0)
        ]
      ) {
        expect((yield* Effect.flip(operation))._tag).toBe("Disconnected")
      }
    }))

  it.effect("I/O racing with disconnect either completes or fails Disconnected, never IOError", () =>
    Effect.gen(function*() {
      const { device } = yield* createdImage(1024)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0 ? device.write(i * 16, filled(16 * 512, i)) : device.read(i * 16, new Uint8Array(16 * 512))),
        (operation) => Effect.forkChild(Effect.exit(operation))
      )
      yield* device.disconnect
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      for (const exit of exits) {
        if (exit._tag === "Failure") expect(String(exit.cause)).toContain("Disconnected")
      }
    }))

  it.effect("releasing the layer closes the file", () =>
    Effect.gen(function*() {
      const path = yield* imagePath
      const before = yield* openFileDescriptors
      const during = yield* Effect.provide(openFileDescriptors, FileLive({ path, create: { sizeSectors: 8 } }))
      expect(during).toBe(before + 1)
      expect(yield* openFileDescriptors).toBe(before)
    }))
})
