/**
 * A wrapper answers for the device beneath it (docs/semantics.md,
 * "Wrappers, interruption and vectored requests"): once that device is
 * disconnected or destroyed, every operation of the wrapper but `info` and
 * `disconnect` fails `Disconnected`, never `InvalidRequest` computed from the
 * lost device's size nor success; disconnecting the wrapper leaves the device
 * beneath connected. Each rule is checked for every wrapper of this package.
 */
import {
  type BlockDeviceShape,
  compare,
  copy,
  extents,
  fill,
  fold,
  foldMapped,
  foldUnmapped,
  overlay,
  readOnly,
  sink,
  slice,
  sparseCopy,
  stream
} from "@effect-block/block"
import { makeRegistry, type RegistryShape } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** Every wrapper, built over `inner` (the device under test) and, where needed, a second device of its own. */
const wrappers: ReadonlyArray<readonly [string, (inner: BlockDeviceShape, other: BlockDeviceShape) => BlockDeviceShape]> = [
  ["readOnly", (inner) => readOnly(inner)],
  ["slice at an odd offset", (inner) => slice(inner, { start: 3, sectors: 8 })],
  ["overlay, over the lost device as base", (inner, other) => overlay(inner, other)],
  ["overlay, with the lost device as upper", (inner, other) => overlay(other, inner)],
  ["a stack: readOnly(slice(overlay))", (inner, other) => readOnly(slice(overlay(inner, other), { start: 1, sectors: 8 }))]
]

/** Every operation of a device but `info` and `disconnect`, by name. */
const operations = (device: BlockDeviceShape) => {
  const buffer = new Uint8Array(512)
  return [
    ["read", device.read(0, buffer)],
    ["write", device.write(0, buffer)],
    ["flush", device.flush],
    ["discard", device.discard(0, 1)],
    ["resize", device.resize(4)],
    ["seekMapped", device.seekMapped(0)],
    ["seekUnmapped", device.seekUnmapped(0)]
  ] as const
}

/** The ways a device beneath a wrapper can be lost. */
const losses: ReadonlyArray<readonly [string, (registry: RegistryShape, inner: BlockDeviceShape) => Effect.Effect<void>]> = [
  ["disconnected", (_registry, inner) => inner.disconnect],
  ["destroyed", (registry) => registry.destroy("inner")]
]

const setup = Effect.gen(function*() {
  const registry = yield* makeRegistry
  const inner = yield* Effect.orDie(registry.connect({ name: "inner", sizeSectors: 16 }))
  const other = yield* Effect.orDie(registry.connect({ name: "other", sizeSectors: 16 }))
  return { registry, inner, other }
})

describe("a wrapper over a lost device", () => {
  for (const [wrapperName, wrap] of wrappers) {
    for (const [lossName, lose] of losses) {
      it.effect(`${wrapperName}: every operation fails Disconnected once the device beneath is ${lossName}`, () =>
        Effect.gen(function*() {
          const { inner, other, registry } = yield* setup
          const wrapper = wrap(inner, other)
          expect(yield* wrapper.isConnected).toBe(true)
          yield* lose(registry, inner)
          expect(yield* wrapper.isConnected).toBe(false)
          for (const [name, operation] of operations(wrapper)) {
            const error = yield* Effect.flip(operation)
            expect([name, error._tag]).toEqual([name, "Disconnected"])
          }
        }))
    }

    it.effect(`${wrapperName}: disconnecting the wrapper leaves the devices beneath connected`, () =>
      Effect.gen(function*() {
        const { inner, other } = yield* setup
        const wrapper = wrap(inner, other)
        yield* wrapper.disconnect
        expect(yield* wrapper.isConnected).toBe(false)
        expect((yield* Effect.flip(wrapper.read(0, new Uint8Array(512))))._tag).toBe("Disconnected")
        expect(yield* inner.isConnected).toBe(true)
        expect(yield* other.isConnected).toBe(true)
        yield* inner.write(0, new Uint8Array(512).fill(1))
        yield* other.write(0, new Uint8Array(512).fill(1))
      }))
  }
})

/** Every tool over devices, run with `lost` in each device position it has (and a healthy `other`). */
const tools: ReadonlyArray<readonly [string, (lost: BlockDeviceShape, other: BlockDeviceShape) => Effect.Effect<unknown, { readonly _tag: string }>]> = [
  ["copy (lost source)", (lost, other) => copy(lost, other)],
  ["copy (lost destination)", (lost, other) => copy(other, lost)],
  ["sparseCopy (lost source)", (lost, other) => sparseCopy(lost, other)],
  ["sparseCopy (lost destination)", (lost, other) => sparseCopy(other, lost)],
  ["compare (lost first)", (lost, other) => compare(lost, other)],
  ["compare (lost second)", (lost, other) => compare(other, lost)],
  ["fold", (lost) => fold(lost, 0, (n) => Effect.succeed(n))],
  ["foldMapped", (lost) => foldMapped(lost, 0, (n) => Effect.succeed(n))],
  ["foldUnmapped", (lost) => foldUnmapped(lost, 0, (n) => Effect.succeed(n))],
  ["extents", (lost) => extents(lost)],
  ["fill", (lost) => fill(lost, { seed: 1 })],
  ["stream", (lost) => Stream.runDrain(stream(lost))],
  ["sink", (lost) => Stream.run(Stream.make(new Uint8Array(512)), sink(lost))]
]

describe("a tool over a lost device", () => {
  for (const [toolName, run] of tools) {
    for (const [lossName, lose] of losses) {
      it.effect(`${toolName} fails Disconnected once the device is ${lossName}, never an answer from size 0`, () =>
        Effect.gen(function*() {
          const { inner, other, registry } = yield* setup
          yield* lose(registry, inner)
          const error = yield* Effect.flip(run(inner, other))
          expect(error._tag).toBe("Disconnected")
        }))
    }
  }
})
