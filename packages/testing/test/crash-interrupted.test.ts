/**
 * A write-type operation that fails or is interrupted in flight may have
 * changed the medium in part (docs/semantics.md, "Wrappers, interruption and
 * vectored requests"): the crash simulator records it as pending with
 * unknown extent, so its states cover every mixture of old and new sectors.
 */
import { BlockDevice, type BlockDeviceShape, IOError } from "@effect-block/block"
import { FileDevice } from "@effect-block/file"
import { Ramdisk, RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { CrashSimulator, CrashSimulatorLive } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

const sectorSize = 512
const size = 64

const Disk = () => RamdiskLive({ name: "disk", sizeSectors: size }).pipe(Layer.provide(RegistryLive))

/** A device beneath the simulator whose first write lands, then never returns (until interrupted). */
const LandThenHang = Layer.effect(
  BlockDevice,
  Effect.map(BlockDevice, (device): BlockDeviceShape => {
    let first = true
    return {
      ...device,
      write: (sectorStart, buffers) =>
        Effect.suspend(() => {
          const hang = first
          first = false
          return hang ? Effect.andThen(device.write(sectorStart, buffers), Effect.never) : device.write(sectorStart, buffers)
        })
    }
  })
)

/** A device beneath the simulator whose first write lands in its first sector only, then fails `IOError`. */
const FirstSectorThenFail = Layer.effect(
  BlockDevice,
  Effect.map(BlockDevice, (device): BlockDeviceShape => {
    let first = true
    return {
      ...device,
      write: (sectorStart, buffers) =>
        Effect.suspend(() => {
          if (!first) return device.write(sectorStart, buffers)
          first = false
          const part = buffers instanceof Uint8Array ? buffers.subarray(0, sectorSize) : new Uint8Array(sectorSize)
          return Effect.andThen(
            device.write(sectorStart, part),
            Effect.fail(new IOError({ operation: "write", message: "write: injected failure after the first sector" }))
          )
        })
    }
  })
)

const simulatorOver = (backend: "journal" | "snapshot", beneath: Layer.Layer<BlockDevice, never, BlockDevice>) => {
  const devices = Layer.provideMerge(beneath, Disk())
  return backend === "snapshot" ?
    CrashSimulatorLive({ backend }).pipe(Layer.provideMerge(devices)) :
    CrashSimulatorLive({ backend }).pipe(Layer.provideMerge(devices))
}

const filled = (value: number, sectors = 1) => new Uint8Array(sectors * sectorSize).fill(value)

/** The first byte of sectors `[0, count)`, read through the ramdisk's own handle. */
const firstBytes = (count: number) =>
  Effect.gen(function*() {
    const raw = yield* Ramdisk
    const buffer = new Uint8Array(count * sectorSize)
    yield* raw.read(0, buffer)
    return Array.from({ length: count }, (_, s) => buffer[s * sectorSize])
  })

for (const backend of ["journal", "snapshot"] as const) {
  describe(`CrashSimulator (${backend} backend) over a device that fails in flight`, () => {
    describe("write interrupted after it changed the medium", () => {
      it.effect("is pending with unknown extent, and every state holds old or new data in each sector", () =>
        Effect.gen(function*() {
          const device = yield* BlockDevice
          const simulator = yield* CrashSimulator
          const fiber = yield* Effect.forkChild(device.write(0, filled(9, 4)))
          // Bounded wait for the write to reach the medium.
          for (let i = 0; i < 100 && (yield* firstBytes(1))[0] !== 9; i++) yield* Effect.yieldNow
          yield* Fiber.interrupt(fiber)
          expect(yield* simulator.pending).toBe(1)
          const states = yield* simulator.states()
          expect(states[0]?.pending[0]?.extent).toBe("unknown")
          // Four sectors, each old or new: all 16 mixtures, without asking for torn writes.
          expect(states.length).toBe(16)
          const pictures = new Set<string>()
          for (const state of states) {
            yield* simulator.crash(state)
            const bytes = yield* firstBytes(4)
            expect(bytes.every((b) => b === 0 || b === 9)).toBe(true)
            pictures.add(bytes.join(","))
          }
          expect(pictures.size).toBe(16)
        }).pipe(Effect.provide(simulatorOver(backend, LandThenHang))))
    })

    describe("write that fails IOError after a part landed", () => {
      it.effect("is pending with unknown extent; the state the medium really holds is among its states", () =>
        Effect.gen(function*() {
          const device = yield* BlockDevice
          const simulator = yield* CrashSimulator
          const error = yield* Effect.flip(device.write(0, filled(9, 3)))
          expect(error._tag).toBe("IOError")
          expect(yield* firstBytes(3)).toEqual([9, 0, 0])
          expect(yield* simulator.pending).toBe(1)
          const states = yield* simulator.states()
          expect(states.length).toBe(8)
          const pictures: Array<string> = []
          for (const state of states) {
            yield* simulator.crash(state)
            pictures.push((yield* firstBytes(3)).join(","))
          }
          expect(pictures).toContain("9,0,0")
          expect(pictures).toContain("0,0,0")
          expect(pictures).toContain("9,9,9")
        }).pipe(Effect.provide(simulatorOver(backend, FirstSectorThenFail))))
    })
  })
}

describe("CrashSimulator (journal backend) over the file device", () => {
  describe("large write interrupted while the medium is being written", () => {
    const sectors = 32 * 1024 * 1024 / sectorSize
    /** Polls the image file (not through the device) until its first byte is `value`; bounded. */
    const untilFileShows = (path: string, value: number) =>
      Effect.acquireUseRelease(
        Effect.promise(() => Fs.open(path, "r")),
        (handle) =>
          Effect.gen(function*() {
            const peek = Buffer.alloc(1)
            for (let i = 0; i < 20_000; i++) {
              yield* Effect.promise(() => handle.read(peek, 0, 1, 0))
              if (peek[0] === value) return true
            }
            return false
          }),
        (handle) => Effect.promise(() => handle.close())
      )

    const attempt = (dir: string, round: number) =>
      Effect.scoped(Effect.gen(function*() {
        const path = Path.join(dir, `disk-${round}.img`)
        const file = yield* FileDevice.make({ path, create: { sizeSectors: sectors } })
        const layer = CrashSimulatorLive().pipe(Layer.provide(Layer.succeed(BlockDevice, file)))
        return yield* Effect.gen(function*() {
          const device = yield* BlockDevice
          const simulator = yield* CrashSimulator
          const fiber = yield* Effect.forkChild(device.write(0, new Uint8Array(sectors * sectorSize).fill(7)))
          const started = yield* untilFileShows(path, 7)
          yield* Fiber.interrupt(fiber)
          // Reading through the device waits until the interrupted pwrite has settled.
          const first = new Uint8Array(sectorSize)
          yield* file.read(0, first)
          // The bug this guards against: the medium changed, and nothing was pending.
          if (first[0] === 7) expect(yield* simulator.pending).toBe(1)
          const states = yield* simulator.states({ limit: 4 })
          const extent = states[0]?.pending[0]?.extent
          // Whatever the medium holds now, "none landed" gives back the old contents and "all" the new.
          const last = new Uint8Array(sectorSize)
          for (const [state, value] of [[states[0], 0], [states.find((s) => s.landed.length === 1), 7]] as const) {
            if (state === undefined) continue
            yield* simulator.crash(state)
            yield* file.read(0, first)
            yield* file.read(sectors - 1, last)
            expect([first[0], last[0]]).toEqual([value, value])
          }
          return { started, extent }
        }).pipe(Effect.provide(layer))
      }))

    it.live("is pending with unknown extent; a crash gives back the old or the new contents", () =>
      Effect.acquireUseRelease(
        Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-crash-"))),
        (dir) =>
          Effect.gen(function*() {
            const outcomes = [yield* attempt(dir, 0), yield* attempt(dir, 1)]
            expect(outcomes.every((o) => o.started)).toBe(true)
            // Interrupted as soon as the first sector showed: the write was still in flight.
            expect(outcomes.some((o) => o.extent === "unknown")).toBe(true)
          }),
        (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
      ), { timeout: 60_000 })
  })
})
