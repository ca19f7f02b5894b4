/**
 * The options of the file device (`FileOptions`), decoded before anything is opened: wrong types, `null`
 * for an absent option, unknown keys and hostile objects are each an `InvalidRequest` naming the option
 * and the value, and never open, create or change a file.
 */
import { FileDevice, FileLive, FileOptions } from "@effect-block/file"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import { filled, fileSize, imagePath, readFile, writeFile } from "./fixtures/Images.js"

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

