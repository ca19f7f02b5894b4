/**
 * The wrappers' contract, one `describe` per wrapper and one `it` per rule,
 * then stacking. Property tests run over random write histories; a failing
 * property prints a `Replay:` token to rerun exactly that case (pass it as
 * `{ arbitrary: { replay } }` in the test's options).
 */
import {
  BlockDevice,
  type BlockDeviceShape,
  compare,
  extents,
  fill,
  overlay,
  OverlayLive,
  readOnly,
  ReadOnlyLive,
  slice,
  SliceLive
} from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import {
  apply,
  applyModelled,
  expectFilled,
  History,
  historySectors,
  intBetween,
  ramdisk,
  ramdisks,
  readAll
} from "./fixtures/Devices.js"

const Window = Schema.Struct({
  start: intBetween(0, 40),
  sectors: intBetween(0, 40)
})

/** The runs of `runs` inside `[start, end)`, shifted to start at 0, neighbours of one kind merged. */
const clip = (
  runs: ReadonlyArray<{ start: number; sectors: number; mapped: boolean }>,
  start: number,
  end: number
) => {
  const out: Array<{ start: number; sectors: number; mapped: boolean }> = []
  for (const run of runs) {
    const from = Math.max(run.start, start)
    const to = Math.min(run.start + run.sectors, end)
    if (from >= to) continue
    const last = out[out.length - 1]
    if (last !== undefined && last.mapped === run.mapped) last.sectors += to - from
    else out.push({ start: from - start, sectors: to - from, mapped: run.mapped })
  }
  return out
}

/** Checks the extents of `device` against its bytes: holes read as zeros, runs tile the device. */
const checkExtents = (device: BlockDeviceShape) =>
  Effect.gen(function*() {
    const bytes = yield* readAll(device)
    const runs = yield* extents(device)
    let next = 0
    for (const run of runs) {
      expect(run.start).toBe(next)
      if (!run.mapped) expectFilled(bytes.subarray(run.start * 512, (run.start + run.sectors) * 512), 0)
      next += run.sectors
    }
    expect(next * 512).toBe(bytes.length)
  })

describe("readOnly", () => {
  it.effect("reads and seeks pass through to the device", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(64)
      yield* fill(device, { seed: 1, start: 16, sectors: 8 })
      const view = readOnly(device)
      expect(yield* compare(view, device)).toBe(0)
      expect(yield* extents(view)).toEqual(yield* extents(device))
    }))

  it.effect("reports readWrite false and the device's geometry", () =>
    Effect.gen(function*() {
      const view = readOnly(yield* ramdisk(64, 4096))
      expect(yield* view.info).toEqual({ readWrite: false, sectorSize: 4096, sizeSectors: 64 })
    }))

  it.effect("refuses write, discard and resize with IsReadOnly, leaving the device unchanged", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      const view = readOnly(device)
      const errors = [
        yield* Effect.flip(view.write(0, new Uint8Array(512).fill(1))),
        yield* Effect.flip(view.discard(0, 1)),
        yield* Effect.flip(view.resize(4))
      ]
      expect(errors.map((error) => error._tag)).toEqual(["IsReadOnly", "IsReadOnly", "IsReadOnly"])
      expect(yield* extents(device)).toEqual([{ start: 0, sectors: 8, mapped: false }])
      expect((yield* device.info).sizeSectors).toBe(8)
    }))

  it.effect("disconnecting the view leaves the device connected", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      const view = readOnly(device)
      yield* view.disconnect
      expect((yield* Effect.flip(view.read(0, new Uint8Array(512))))._tag).toBe("Disconnected")
      yield* device.read(0, new Uint8Array(512))
    }))

  it.effect("fails Disconnected once the device is disconnected", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(8)
      const view = readOnly(device)
      yield* device.disconnect
      expect((yield* Effect.flip(view.read(0, new Uint8Array(512))))._tag).toBe("Disconnected")
    }))

  it.effect("ReadOnlyLive makes the context's device read-only", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      expect((yield* device.info).readWrite).toBe(false)
      expect((yield* Effect.flip(device.write(0, new Uint8Array(512))))._tag).toBe("IsReadOnly")
    }).pipe(Effect.provide(ReadOnlyLive.pipe(Layer.provide(RamdiskLive({ name: "ro", sizeSectors: 8 })), Layer.provide(RegistryLive)))))
})

describe("slice", () => {
  it.effect.prop(
    "maps sector s of the slice to sector start + s of the device, and nothing outside the window changes",
    { window: Window, history: History, before: History },
    ({ before, history, window }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(128)
        const model = new Uint8Array(128 * 512)
        // Apply the same history to the device first, so there is data outside the window to keep.
        yield* apply(device, before, model)
        const part = slice(device, window)
        const inside = new Uint8Array(window.sectors * 512)
        const steps = history.filter((step) => step.start < window.sectors)
        yield* apply(part, steps.map((step) => ({ ...step, sectors: Math.min(step.sectors, window.sectors - step.start) })), inside)
        // The model of the window is what was there, overwritten by the steps.
        const expected = model.slice()
        const windowBefore = model.subarray(window.start * 512, (window.start + window.sectors) * 512)
        const merged = windowBefore.slice()
        for (const step of steps) {
          const sectors = Math.min(step.sectors, window.sectors - step.start)
          merged.set(inside.subarray(step.start * 512, (step.start + sectors) * 512), step.start * 512)
        }
        expected.set(merged, window.start * 512)
        expect(yield* readAll(device)).toEqual(expected)
        expect(yield* readAll(part)).toEqual(merged)
      })
  )

  it.effect.prop(
    "translates and clamps seeks: its extents are the device's, cut to the window",
    { window: Window, history: History },
    ({ history, window }) =>
      Effect.gen(function*() {
        const device = yield* ramdisk(historySectors + 16)
        yield* apply(device, history)
        const runs = yield* extents(device)
        expect(yield* extents(slice(device, window))).toEqual(clip(runs, window.start, window.start + window.sectors))
      })
  )

  it.effect("has the window's size and refuses requests past its end with InvalidRequest", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(64)
      const part = slice(device, { start: 8, sectors: 16 })
      expect((yield* part.info).sizeSectors).toBe(16)
      const error = yield* Effect.flip(part.write(15, new Uint8Array(1024).fill(1)))
      expect(error._tag).toBe("InvalidRequest")
      expect((yield* Effect.flip(part.discard(16, 1)))._tag).toBe("InvalidRequest")
      expect(yield* extents(device)).toEqual([{ start: 0, sectors: 64, mapped: false }])
    }))

  it.effect("fails resize with Unimplemented", () =>
    Effect.gen(function*() {
      const part = slice(yield* ramdisk(64), { start: 0, sectors: 8 })
      expect((yield* Effect.flip(part.resize(4)))._tag).toBe("Unimplemented")
    }))

  it.effect("fails InvalidRequest on every operation when the window lies outside the device", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16)
      for (const window of [{ start: 10, sectors: 8 }, { start: -1, sectors: 2 }, { start: 0, sectors: 1.5 }]) {
        const part = slice(device, window)
        const error = yield* Effect.flip(part.read(0, new Uint8Array(0)))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toMatch(/^slice: /)
        expect((yield* Effect.flip(part.seekMapped(0)))._tag).toBe("InvalidRequest")
      }
    }))

  it.effect("fails InvalidRequest once the device shrinks below the window", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16)
      const part = slice(device, { start: 8, sectors: 8 })
      yield* device.resize(12)
      const error = yield* Effect.flip(part.read(0, new Uint8Array(512)))
      expect(error.message).toMatch(/window \[8, 16\) runs past the end of the device \(12 sectors\)/)
    }))

  it.effect("reads data-last: pipe(device, slice(window))", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16)
      const part = pipe(device, slice({ start: 4, sectors: 4 }))
      expect((yield* part.info).sizeSectors).toBe(4)
    }))

  it.effect("SliceLive fails InvalidRequest at build for a window outside the device", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(BlockDevice.use(Effect.succeed), SliceLive({ start: 4, sectors: 8 }).pipe(Layer.provide(RamdiskLive({ name: "s", sizeSectors: 8 })), Layer.provide(RegistryLive)))
      )
      expect(error._tag).toBe("InvalidRequest")
    }))

  it.effect("SliceLive provides the window of the context's device", () =>
    Effect.gen(function*() {
      const device = yield* BlockDevice
      expect((yield* device.info).sizeSectors).toBe(4)
    }).pipe(Effect.provide(SliceLive({ start: 4, sectors: 4 }).pipe(Layer.provide(RamdiskLive({ name: "s", sizeSectors: 8 })), Layer.provide(RegistryLive)))))
})

describe("overlay", () => {
  it.effect.prop(
    "reads base where nothing was written through it, and what was written elsewhere; base never changes",
    { base: History, writes: History },
    ({ base: baseHistory, writes }) =>
      Effect.gen(function*() {
        const [base, upper] = yield* ramdisks(2, { sizeSectors: historySectors })
        const model = yield* applyModelled(base!, baseHistory)
        const golden = model.slice()
        const cow = overlay(base!, upper!)
        yield* apply(cow, writes, model)
        expect(yield* readAll(cow)).toEqual(model)
        expect(yield* readAll(base!)).toEqual(golden)
        yield* checkExtents(cow)
      })
  )

  it.effect.prop(
    "never hides base data, whatever upper's mapping granularity and blockSectors (a record of its own)",
    { base: History, writes: History, blockSectors: intBetween(1, 16), offset: intBetween(0, 7) },
    ({ base: baseHistory, blockSectors, offset, writes }) =>
      Effect.gen(function*() {
        const base = yield* ramdisk(historySectors)
        const upperDisk = yield* ramdisk(historySectors + 8)
        const model = yield* applyModelled(base, baseHistory)
        const golden = model.slice()
        // A slice at an odd offset maps in pages that straddle the overlay's blocks.
        const cow = overlay(base, slice(upperDisk, { start: offset, sectors: historySectors }), { blockSectors })
        yield* apply(cow, writes, model)
        expect(yield* readAll(cow)).toEqual(model)
        expect(yield* readAll(base)).toEqual(golden)
        yield* checkExtents(cow)
      })
  )

  it.effect("keeps base's neighbours of a one-sector write with blockSectors 1 over a ramdisk", () =>
    Effect.gen(function*() {
      const [base, upper] = yield* ramdisks(2, { sizeSectors: 16 })
      yield* fill(base!, { pattern: new Uint8Array([7]) })
      const cow = overlay(base!, upper!, { blockSectors: 1 })
      yield* cow.write(0, new Uint8Array(512).fill(1))
      const bytes = yield* readAll(cow)
      expectFilled(bytes.subarray(0, 512), 1)
      expectFilled(bytes.subarray(512), 7)
    }))

  it.effect("makes a discarded range read zeros even where base holds data", () =>
    Effect.gen(function*() {
      const [base, upper] = yield* ramdisks(2, { sizeSectors: 32 })
      yield* fill(base!, { pattern: new Uint8Array([7]) })
      const cow = overlay(base!, upper!)
      yield* cow.discard(4, 8)
      const bytes = yield* readAll(cow)
      expectFilled(bytes.subarray(4 * 512, 12 * 512), 0)
      expect(bytes[3 * 512]).toBe(7)
      expect(bytes[12 * 512]).toBe(7)
    }))

  it.effect("has base's size and upper's writability", () =>
    Effect.gen(function*() {
      const base = yield* ramdisk(16)
      const upper = yield* ramdisk(32)
      expect(yield* overlay(base, upper).info).toEqual({ readWrite: true, sectorSize: 512, sizeSectors: 16 })
      const frozen = overlay(base, readOnly(upper))
      expect((yield* frozen.info).readWrite).toBe(false)
      expect((yield* Effect.flip(frozen.write(0, new Uint8Array(512))))._tag).toBe("IsReadOnly")
    }))

  it.effect("fails InvalidRequest when upper is smaller than base or has another sector size", () =>
    Effect.gen(function*() {
      const base = yield* ramdisk(16)
      const small = overlay(base, yield* ramdisk(8))
      const smallError = yield* Effect.flip(small.read(0, new Uint8Array(512)))
      expect(smallError.message).toMatch(/upper device has 8 sectors, fewer than the base's 16/)
      const other = overlay(base, yield* ramdisk(16, 4096))
      expect((yield* Effect.flip(other.read(0, new Uint8Array(512))))._tag).toBe("InvalidRequest")
    }))

  it.effect("fails resize with Unimplemented", () =>
    Effect.gen(function*() {
      const [base, upper] = yield* ramdisks(2, { sizeSectors: 8 })
      expect((yield* Effect.flip(overlay(base!, upper!).resize(16)))._tag).toBe("Unimplemented")
    }))

  it.live("never lets a read see half of a write", () =>
    Effect.gen(function*() {
      const [base, upper] = yield* ramdisks(2, { sizeSectors: 64 })
      yield* fill(base!, { pattern: new Uint8Array([1]) })
      const cow = overlay(base!, upper!)
      // Upper mapped in stripes, so every full read is split between the two devices.
      for (let s = 0; s < 64; s += 16) yield* cow.write(s, new Uint8Array(8 * 512).fill(1))
      const ones = new Uint8Array(64 * 512).fill(1)
      const twos = new Uint8Array(64 * 512).fill(2)
      const writer = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
        Effect.andThen(cow.write(0, i % 2 === 0 ? twos : ones), Effect.yieldNow), { discard: true }))
      for (let i = 0; i < 200; i++) {
        const bytes = yield* readAll(cow)
        expectFilled(bytes, bytes[0]!)
        yield* Effect.yieldNow
      }
      yield* Fiber.join(writer)
    }))

  it.effect("reads data-last: pipe(base, overlay(upper))", () =>
    Effect.gen(function*() {
      const [base, upper] = yield* ramdisks(2, { sizeSectors: 8 })
      yield* fill(base!, { seed: 4 })
      expect(yield* compare(pipe(base!, overlay(upper!)), base!)).toBe(0)
    }))

  it.effect("OverlayLive builds base and upper from their own layers", () =>
    Effect.gen(function*() {
      const cow = yield* BlockDevice
      yield* cow.write(0, new Uint8Array(512).fill(5))
      expect((yield* readAll(cow))[0]).toBe(5)
    }).pipe(Effect.provide(
      OverlayLive({
        base: RamdiskLive({ name: "golden", sizeSectors: 8 }),
        upper: RamdiskLive({ name: "scratch", sizeSectors: 8 })
      }).pipe(Layer.provide(RegistryLive))
    )))

  it.effect("OverlayLive fails InvalidRequest at build when upper is too small", () =>
    Effect.gen(function*() {
      const layer = OverlayLive({
        base: RamdiskLive({ name: "golden", sizeSectors: 16 }),
        upper: RamdiskLive({ name: "scratch", sizeSectors: 8 })
      }).pipe(Layer.provide(RegistryLive))
      expect((yield* Effect.flip(Effect.provide(BlockDevice.use(Effect.succeed), layer)))._tag).toBe("InvalidRequest")
    }))
})

describe("stacking", () => {
  it.effect.prop(
    "an overlay of a slice of a read-only device reads and writes like a plain device, leaving the device alone",
    { base: History, writes: History },
    ({ base: baseHistory, writes }) =>
      Effect.gen(function*() {
        const [device, upper] = yield* ramdisks(2, { sizeSectors: historySectors + 32 })
        yield* apply(device!, baseHistory)
        const golden = yield* readAll(device!)
        const window = slice(readOnly(device!), { start: 16, sectors: historySectors })
        const model = (yield* readAll(window)).slice()
        const stack = overlay(window, upper!)
        yield* apply(stack, writes, model)
        expect(yield* readAll(stack)).toEqual(model)
        expect(yield* readAll(device!)).toEqual(golden)
        // A slice of the stack, read-only, sees the same bytes.
        expect(yield* readAll(readOnly(slice(stack, { start: 8, sectors: 8 })))).toEqual(model.subarray(8 * 512, 16 * 512))
      })
  )

  it.effect("disconnecting an outer wrapper leaves the wrappers and device beneath it connected", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16)
      const inner = slice(device, { start: 0, sectors: 8 })
      const outer = readOnly(inner)
      yield* outer.disconnect
      yield* inner.read(0, new Uint8Array(512))
      yield* device.read(0, new Uint8Array(512))
    }))
})
