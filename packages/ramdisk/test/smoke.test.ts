import { it, expect } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive, Ramdisk } from "@effect-block/ramdisk"

it.effect("smoke", () => Effect.gen(function*() {
  const d = yield* BlockDevice
  const r = yield* Ramdisk
  yield* d.write(1, new Uint8Array(512).fill(7))
  const b = new Uint8Array(1024)
  yield* d.read(0, b)
  expect(b[0]).toBe(0); expect(b[600]).toBe(7)
  const s = yield* r.snapshot
  yield* d.write(1, new Uint8Array(512).fill(9))
  yield* r.restore(s)
  yield* d.read(0, b)
  expect(b[600]).toBe(7)
  const e = yield* Effect.flip(d.read(1.5, b))
  expect(e._tag).toBe("InvalidRequest")
  expect(yield* d.seekMapped(0)).toBe(0)
  expect(yield* d.seekUnmapped(0)).toBe(8)
}).pipe(Effect.provide(RamdiskLive({ name: "a" }).pipe(Layer.provide(RegistryLive)))))
