/**
 * Driving devices from synchronous code: which devices can be, and the
 * typed answer from `runDeviceSync` for those that cannot.
 */
import { BlockDevice, type BlockDeviceShape } from "@effect-block/block"
import { FileDevice } from "@effect-block/file"
import { makeRegistry } from "@effect-block/ramdisk"
import { CrashSimulator, runDeviceSync } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

const sectorSize = 512

const ramdisk = Effect.gen(function*() {
  const registry = yield* makeRegistry
  return yield* Effect.orDie(registry.connect({ name: "sync", sizeSectors: 16 }))
})

/** A device over a ramdisk whose writes wait a millisecond first: asynchronous. */
const delayed = (device: BlockDeviceShape): BlockDeviceShape => ({
  ...device,
  write: (sectorStart, buffers) => Effect.andThen(Effect.sleep("1 millis"), device.write(sectorStart, buffers))
})

describe("runDeviceSync", () => {
  it.effect("drives the ramdisk synchronously", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk
      expect(Exit.isSuccess(runDeviceSync(device.write(0, new Uint8Array(sectorSize).fill(3))))).toBe(true)
      const buffer = new Uint8Array(sectorSize)
      expect(Exit.isSuccess(runDeviceSync(device.read(0, buffer)))).toBe(true)
      expect(buffer[0]).toBe(3)
    }))

  for (const backend of ["journal", "snapshot"] as const) {
    it.effect(`drives the crash simulator over a ramdisk synchronously (${backend}), states and crash included`, () =>
      Effect.gen(function*() {
        const device = yield* ramdisk
        const { devices, simulator } = yield* CrashSimulator.make({
          devices: [backend === "snapshot" ? { device, snapshots: device } : { device }]
        })
        const simulated = devices[0]
        if (simulated === undefined) return expect.unreachable("one device")
        expect(Exit.isSuccess(runDeviceSync(simulated.write(0, new Uint8Array(sectorSize).fill(3))))).toBe(true)
        expect(Exit.isSuccess(runDeviceSync(simulated.flush))).toBe(true)
        expect(Exit.isSuccess(runDeviceSync(simulated.write(1, new Uint8Array(sectorSize).fill(4))))).toBe(true)
        const states = runDeviceSync(simulator.states())
        expect(Exit.isSuccess(states)).toBe(true)
        if (Exit.isSuccess(states)) expect(Exit.isSuccess(runDeviceSync(simulator.crash(states.value[0])))).toBe(true)
      }))
  }

  it.live("answers an asynchronous device with NotSynchronous, and the interrupted write is pending with unknown extent", () =>
    Effect.gen(function*() {
      const device = delayed(yield* ramdisk)
      const { devices, simulator } = yield* CrashSimulator.make({ devices: [{ device }] })
      const simulated = devices[0]
      if (simulated === undefined) return expect.unreachable("one device")
      const exit = runDeviceSync(simulated.write(0, new Uint8Array(sectorSize).fill(3)))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/NotSynchronous/)
      // The write was interrupted before it reached the device: it may not have happened, and never will.
      yield* Effect.sleep("5 millis")
      const buffer = new Uint8Array(sectorSize)
      yield* simulated.read(0, buffer)
      expect(buffer[0]).toBe(0)
      expect(yield* simulator.pending).toBeLessThanOrEqual(1)
    }))

  it.live("answers the file device with NotSynchronous", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-sync-"))),
      (dir) =>
        Effect.scoped(Effect.gen(function*() {
          const file = yield* FileDevice.make({ path: Path.join(dir, "d.img"), create: { sizeSectors: 16 } })
          const exit = runDeviceSync(file.write(0, new Uint8Array(sectorSize)))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/NotSynchronous/)
          void BlockDevice
        })),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    ))
})
