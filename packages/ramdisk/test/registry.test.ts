/**
 * The registry's rules (shared/SPEC.md, "The ramdisk and its registry"):
 * connect by name, shared devices, per-handle read-only and disconnect,
 * destroy, names, and RamdiskLive's lifetime.
 */
import { BlockDevice } from "@effect-block/block"
import { Ramdisk, RamdiskLive, Registry, RegistryLive } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"

const sector = (sectorSize: number, byte: number) => new Uint8Array(sectorSize).fill(byte)

describe("Registry.connect", () => {
  it.effect("creates a zeroed device with the default geometry (512-byte sectors, 32768 sectors)", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const disk = yield* registry.connect({ name: "a" })
      expect(yield* disk.info).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 32768 })
      const buffer = sector(512, 0xff)
      yield* disk.read(32767, buffer)
      expect(buffer.every((b) => b === 0)).toBe(true)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("honours the requested geometry", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const disk = yield* registry.connect({ name: "a", sectorSize: 4096, sizeSectors: 10 })
      expect(yield* disk.info).toEqual({ readWrite: true, sectorSize: 4096, sizeSectors: 10 })
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("gives a second handle to the same device when the name exists, ignoring geometry options", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const first = yield* registry.connect({ name: "shared", sizeSectors: 64 })
      const second = yield* registry.connect({ name: "shared", sizeSectors: 8, sectorSize: 4096 })
      expect(yield* second.info).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 64 })
      yield* first.write(3, sector(512, 7))
      const buffer = sector(512, 0)
      yield* second.read(3, buffer)
      expect(buffer.every((b) => b === 7)).toBe(true)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("applies readOnly to the new handle only", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const writer = yield* registry.connect({ name: "d" })
      const reader = yield* registry.connect({ name: "d", readOnly: true })
      expect((yield* reader.info).readWrite).toBe(false)
      const error = yield* Effect.flip(reader.write(0, sector(512, 1)))
      expect(error._tag).toBe("IsReadOnly")
      yield* writer.write(0, sector(512, 2))
      const buffer = sector(512, 0)
      yield* reader.read(0, buffer)
      expect(buffer[0]).toBe(2)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("refuses an empty name with InvalidRequest and creates nothing", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const error = yield* Effect.flip(registry.connect({ name: "" }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(`name ""`)
      expect(yield* registry.names).toEqual([])
    }).pipe(Effect.provide(RegistryLive)))

  it.effect.each([
    [{ sectorSize: 0 }, "sectorSize 0"],
    [{ sectorSize: 3 }, "sectorSize 3"],
    [{ sectorSize: 131072 }, "sectorSize 131072"],
    [{ sectorSize: Number.NaN }, "sectorSize NaN"],
    [{ sizeSectors: -1 }, "sizeSectors -1"],
    [{ sizeSectors: 1.5 }, "sizeSectors 1.5"],
    [{ sizeSectors: Number.POSITIVE_INFINITY }, "sizeSectors Infinity"],
    [{ sizeSectors: 2 ** 52, sectorSize: 4096 }, "sizeSectors 4503599627370496"]
  ] as const)("refuses invalid geometry %j with InvalidRequest naming the value, creating nothing", ([geometry, named]) =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const error = yield* Effect.flip(registry.connect({ name: "bad", ...geometry }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(named)
      expect(yield* registry.names).toEqual([])
    }).pipe(Effect.provide(RegistryLive)))

  it.effect.each([
    [{ name: "x", readOnly: 1 }, "option readOnly is 1"],
    [{ name: "x", readOnly: "true" }, `option readOnly is "true"`],
    [{ name: "x", readOnly: null }, "option readOnly is null"],
    [{ name: "x", sizeSectors: null }, "option sizeSectors is null"],
    [{ name: "x", sectorSize: null }, "option sectorSize is null"],
    [{ name: 7 }, "option name is 7"],
    [null, "options is null"],
    [undefined, "options is undefined"]
  ] as const)("decodes options %j: a malformed option fails InvalidRequest naming it, creating nothing", ([options, named]) =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const error = yield* Effect.flip(registry.connect(options as never))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain(named)
      expect(yield* registry.names).toEqual([])
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("reads a name getter once, so a name that changes between reads cannot create a device named \"\"", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      let reads = 0
      const options = Object.defineProperty({}, "name", { get: () => (reads++ === 0 ? "disk" : ""), enumerable: true })
      const disk = yield* registry.connect(options as { name: string })
      expect(disk.name).toBe("disk")
      expect(yield* registry.names).toEqual(["disk"])
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("keeps the other handle working when one handle disconnects", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const first = yield* registry.connect({ name: "d" })
      const second = yield* registry.connect({ name: "d" })
      yield* first.disconnect
      expect((yield* Effect.flip(first.read(0, sector(512, 0))))._tag).toBe("Disconnected")
      yield* second.write(0, sector(512, 4))
      expect(yield* registry.names).toEqual(["d"])
    }).pipe(Effect.provide(RegistryLive)))
})

describe("Registry.connectScoped", () => {
  it.effect("connects for the scope and disconnects the handle when the scope closes", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const scope = yield* Scope.make()
      const disk = yield* Scope.provide(registry.connectScoped({ name: "s", sizeSectors: 8 }), scope)
      yield* disk.write(0, sector(512, 1))
      yield* Scope.close(scope, Exit.void)
      expect(yield* disk.isConnected).toBe(false)
      expect((yield* Effect.flip(disk.read(0, sector(512, 0))))._tag).toBe("Disconnected")
      expect(yield* registry.names).toEqual(["s"])
    }).pipe(Effect.provide(RegistryLive)))
})

describe("Registry.destroy", () => {
  it.effect("makes every existing handle fail Disconnected", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const first = yield* registry.connect({ name: "d" })
      const second = yield* registry.connect({ name: "d", readOnly: true })
      yield* registry.destroy("d")
      for (const handle of [first, second]) {
        expect((yield* Effect.flip(handle.read(0, sector(512, 0))))._tag).toBe("Disconnected")
        expect((yield* Effect.flip(handle.write(0, sector(512, 0))))._tag).toMatch(/Disconnected|IsReadOnly/)
        expect((yield* Effect.flip(handle.flush))._tag).toBe("Disconnected")
        expect((yield* Effect.flip(handle.seekMapped(0)))._tag).toBe("Disconnected")
        expect((yield* Effect.flip(handle.snapshot))._tag).toBe("Disconnected")
        expect((yield* Effect.flip(handle.stats))._tag).toBe("Disconnected")
      }
      expect((yield* Effect.flip(first.write(0, sector(512, 0))))._tag).toBe("Disconnected")
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("gives the next connect with that name a fresh zeroed device", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const old = yield* registry.connect({ name: "d", sizeSectors: 16 })
      yield* old.write(0, sector(512, 9))
      yield* registry.destroy("d")
      const fresh = yield* registry.connect({ name: "d", sizeSectors: 32 })
      expect((yield* fresh.info).sizeSectors).toBe(32)
      const buffer = sector(512, 0xff)
      yield* fresh.read(0, buffer)
      expect(buffer.every((b) => b === 0)).toBe(true)
      expect((yield* fresh.stats).allocatedBytes).toBe(0)
      expect((yield* Effect.flip(old.read(0, buffer)))._tag).toBe("Disconnected")
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("succeeds for a name that does not exist", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      yield* registry.destroy("nothing here")
      yield* registry.destroy("")
      expect(yield* registry.names).toEqual([])
    }).pipe(Effect.provide(RegistryLive)))
})

describe("Registry.names", () => {
  it.effect("lists the devices that exist now, sorted", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      yield* registry.connect({ name: "b" })
      yield* registry.connect({ name: "a" })
      yield* registry.connect({ name: "c" })
      yield* registry.destroy("b")
      expect(yield* registry.names).toEqual(["a", "c"])
    }).pipe(Effect.provide(RegistryLive)))
})

describe("RegistryLive", () => {
  it.effect("is a separate namespace per layer build, so parallel tests never share a disk", () =>
    Effect.gen(function*() {
      const one = yield* Effect.provide(Effect.service(Registry), RegistryLive)
      const two = yield* Effect.provide(Effect.service(Registry), RegistryLive)
      const a = yield* one.connect({ name: "same" })
      yield* a.write(0, sector(512, 1))
      const b = yield* two.connect({ name: "same" })
      const buffer = sector(512, 0)
      yield* b.read(0, buffer)
      expect(buffer[0]).toBe(0)
    }))
})

describe("RamdiskLive", () => {
  it.effect("provides BlockDevice and Ramdisk backed by the same handle", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      const ramdisk = yield* Ramdisk
      yield* device.write(1, sector(512, 5))
      const buffer = sector(512, 0)
      yield* ramdisk.read(1, buffer)
      expect(buffer[0]).toBe(5)
      expect(ramdisk.name).toBe("live")
    }).pipe(Effect.provide(RamdiskLive({ name: "live", sizeSectors: 8 }).pipe(Layer.provide(RegistryLive)))))

  it.effect("connects when built and disconnects when released, leaving the device in the registry", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(RamdiskLive({ name: "scoped", sizeSectors: 8 }), scope)
      const device = yield* Effect.provide(Effect.service(BlockDevice), Layer.succeedContext(context))
      yield* device.write(0, sector(512, 3))
      expect(yield* registry.names).toEqual(["scoped"])
      yield* Scope.close(scope, Exit.void)
      expect((yield* Effect.flip(device.read(0, sector(512, 0))))._tag).toBe("Disconnected")
      const again = yield* registry.connect({ name: "scoped" })
      const buffer = sector(512, 0)
      yield* again.read(0, buffer)
      expect(buffer[0]).toBe(3)
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("fails to build with InvalidRequest for an empty name", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(Effect.service(BlockDevice), RamdiskLive({ name: "" })))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(Effect.provide(Effect.service(BlockDevice), RamdiskLive({ name: "" })))
      expect(error._tag).toBe("InvalidRequest")
    }).pipe(Effect.provide(RegistryLive)))
})
