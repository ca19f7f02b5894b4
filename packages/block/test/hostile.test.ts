/**
 * Hostile values at every public function of block and ramdisk
 * (docs/semantics.md, "Bad input"): whatever is passed where a sector,
 * buffer, device, window, options object, snapshot or name is expected, the
 * call returns an Effect (never throwing while it is built) that succeeds or
 * fails with one of the contract's typed errors — never a defect, never a
 * hang. A failing case prints a `Replay:` token (and fast-check's seed) that
 * reruns it exactly (pass it as `{ arbitrary: { replay } }`).
 */
import {
  BlockDevice,
  compare,
  copy,
  extents,
  fill,
  fold,
  foldMapped,
  foldUnmapped,
  isBlockDevice,
  overlay,
  OverlayLive,
  readOnly,
  ReadOnlyLive,
  sink,
  slice,
  SliceLive,
  sparseCopy,
  stream
} from "@effect-block/block"
import { makeRegistry, RamdiskLive, type RamdiskShape, Registry } from "@effect-block/ramdisk"
import { HostileIndex, hostileValues } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** The errors of the contract; anything else (or a defect) is a failure of the test. */
const contractErrors = new Set(["InvalidRequest", "Disconnected", "IsReadOnly", "Unimplemented", "IOError"])

interface Devices {
  readonly a: RamdiskShape
  readonly b: RamdiskShape
}

/** A call's result: an Effect, a device (whose write is then run), or the function of a data-last call (applied to `b`). */
type Call = readonly [string, (devices: Devices, hostile: any) => unknown]

const settle = (value: unknown, devices: Devices): Effect.Effect<unknown, unknown> =>
  typeof value === "function" ?
    settle((value as (device: RamdiskShape) => unknown)(devices.b), devices) :
    isBlockDevice(value) ?
    Effect.andThen(value.write(0, buffer()), value.read(0, buffer())) :
    (value as Effect.Effect<unknown, unknown>)

const step = (n: number) => Effect.succeed(n)
const buffer = () => new Uint8Array(512)
const onA = (layer: Layer.Layer<BlockDevice, unknown, BlockDevice>, devices: Devices) =>
  Effect.scoped(Effect.asVoid(Layer.build(layer.pipe(Layer.provide(Layer.succeed(BlockDevice, devices.a))))))

/** Every public function, with the hostile value in each argument position a caller controls. */
const calls: ReadonlyArray<Call> = [
  ["read sectorStart", ({ a }, h) => a.read(h, buffer())],
  ["read buffers", ({ a }, h) => a.read(0, h)],
  ["write sectorStart", ({ a }, h) => a.write(h, buffer())],
  ["write buffers", ({ a }, h) => a.write(0, h)],
  ["discard sectorStart", ({ a }, h) => a.discard(h, 1)],
  ["discard sectors", ({ a }, h) => a.discard(0, h)],
  ["resize", ({ a }, h) => a.resize(h)],
  ["seekMapped", ({ a }, h) => a.seekMapped(h)],
  ["seekUnmapped", ({ a }, h) => a.seekUnmapped(h)],
  ["restore", ({ a }, h) => a.restore(h)],
  ["isBlockDevice", (_devices, h) => Effect.sync(() => expect(isBlockDevice(h)).toBe(false))],
  ["readOnly device", (_devices, h) => readOnly(h)],
  ["slice device", (_devices, h) => slice(h, { start: 0, sectors: 1 })],
  ["slice window", ({ a }, h) => slice(a, h)],
  ["slice data-last window", ({ a }, h) => a.pipe(slice(h))],
  ["overlay base", ({ b }, h) => overlay(h, b)],
  ["overlay upper", ({ a }, h) => overlay(a, h)],
  ["overlay options", ({ a, b }, h) => overlay(a, b, h)],
  ["copy source", ({ b }, h) => copy(h, b)],
  ["copy destination", ({ a }, h) => copy(a, h)],
  ["copy options", ({ a, b }, h) => copy(a, b, h)],
  ["sparseCopy source", ({ b }, h) => sparseCopy(h, b)],
  ["sparseCopy destination", ({ a }, h) => sparseCopy(a, h)],
  ["sparseCopy options", ({ a, b }, h) => sparseCopy(a, b, h)],
  ["compare first", ({ b }, h) => compare(h, b)],
  ["compare second", ({ a }, h) => compare(a, h)],
  ["compare options", ({ a, b }, h) => compare(a, b, h)],
  ["fold device", (_devices, h) => fold(h, 0, step)],
  ["fold step", ({ a }, h) => fold(a, 0, h)],
  ["fold options", ({ a }, h) => fold(a, 0, step, h)],
  ["foldMapped device", (_devices, h) => foldMapped(h, 0, step)],
  ["foldMapped options", ({ a }, h) => foldMapped(a, 0, step, h)],
  ["foldUnmapped device", (_devices, h) => foldUnmapped(h, 0, step)],
  ["foldUnmapped step", ({ a }, h) => foldUnmapped(a, 0, h)],
  ["extents", (_devices, h) => extents(h)],
  ["fill device", (_devices, h) => fill(h, { seed: 1 })],
  ["fill options", ({ a }, h) => fill(a, h)],
  ["fill pattern", ({ a }, h) => fill(a, { pattern: h })],
  ["fill seed", ({ a }, h) => fill(a, { seed: h })],
  ["stream device", (_devices, h) => Stream.runDrain(stream(h))],
  ["stream options", ({ a }, h) => Stream.runDrain(stream(a, h))],
  ["sink device", (_devices, h) => Stream.run(Stream.make(buffer()), sink(h))],
  ["sink start", ({ a }, h) => Stream.run(Stream.make(buffer()), sink(a, h))],
  ["sink chunk", ({ a }, h) => Stream.run(Stream.make(h), sink(a))],
  ["SliceLive window", (devices, h) => onA(SliceLive(h), devices)],
  ["ReadOnlyLive", (devices) => onA(ReadOnlyLive, devices)],
  [
    "OverlayLive options",
    (devices, h) =>
      Effect.scoped(Layer.build(
        OverlayLive({ base: Layer.succeed(BlockDevice, devices.a), upper: Layer.succeed(BlockDevice, devices.b) }, h)
      ))
  ],
  ["Registry.connect options", (_devices, h) => Effect.flatMap(makeRegistry, (registry) => registry.connect(h))],
  ["Registry.connect name", (_devices, h) => Effect.flatMap(makeRegistry, (registry) => registry.connect({ name: h }))],
  [
    "Registry.connect geometry",
    (_devices, h) => Effect.flatMap(makeRegistry, (registry) => registry.connect({ name: "x", sizeSectors: h, sectorSize: h }))
  ],
  [
    "Registry.connect readOnly",
    (_devices, h) => Effect.flatMap(makeRegistry, (registry) => registry.connect({ name: "x", readOnly: h }))
  ],
  [
    "Registry.connectScoped",
    (_devices, h) => Effect.scoped(Effect.flatMap(makeRegistry, (registry) => registry.connectScoped(h)))
  ],
  ["Registry.destroy", (_devices, h) => Effect.flatMap(makeRegistry, (registry) => registry.destroy(h))],
  [
    "RamdiskLive options",
    (_devices, h) =>
      Effect.scoped(Layer.build(RamdiskLive(h).pipe(Layer.provide(Layer.effect(Registry, makeRegistry)))))
  ]
]

const CallIndex = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: calls.length - 1 })))

/** Runs one call and describes what went against the contract, or returns undefined. */
const violation = (call: Call, hostile: unknown) =>
  Effect.gen(function*() {
    const registry = yield* makeRegistry
    const a = yield* Effect.orDie(registry.connect({ name: "a", sizeSectors: 8 }))
    const b = yield* Effect.orDie(registry.connect({ name: "b", sizeSectors: 8 }))
    let effect: Effect.Effect<unknown, unknown>
    try {
      effect = settle(call[1]({ a, b }, hostile), { a, b })
    } catch (error) {
      return `threw while building the Effect: ${String(error)}`
    }
    const exit = yield* Effect.exit(Effect.timeout(effect, "5 seconds"))
    if (Exit.isSuccess(exit)) return undefined
    for (const reason of exit.cause.reasons) {
      if (!Cause.isFailReason(reason)) return `died: ${Cause.pretty(exit.cause)}`
      const tag = (reason.error as { readonly _tag?: unknown })._tag
      if (typeof tag !== "string" || !contractErrors.has(tag)) return `failed outside the contract: ${String(tag)}`
    }
    return undefined
  })

describe("every public function of block and ramdisk", () => {
  it.effect.prop(
    "answers every hostile family with success or a typed error, never a throw, a defect or a hang",
    [CallIndex, HostileIndex],
    ([callIndex, hostileIndex]) =>
      Effect.gen(function*() {
        const call = calls[callIndex]!
        const [family, make] = hostileValues[hostileIndex]!
        const problem = yield* violation(call, make())
        expect([call[0], family, problem]).toEqual([call[0], family, undefined])
      }),
    { arbitrary: { runs: 300 } }
  )

  it.effect("answers every hostile family at every call (the whole grid, once)", () =>
    Effect.gen(function*() {
      const problems: Array<string> = []
      for (const call of calls) {
        for (const [family, make] of hostileValues) {
          const problem = yield* violation(call, make())
          if (problem !== undefined) problems.push(`${call[0]} with ${family}: ${problem}`)
        }
      }
      expect(problems).toEqual([])
    }))
})
