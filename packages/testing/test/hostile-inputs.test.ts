/**
 * Every public function of the testing kit's root entry that takes input
 * (the conformance rules and their runner, the model runner and replayer,
 * the fault injector, its layer, its options decoder and its switch) given
 * hostile values in each argument: Proxies, revoked Proxies, throwing
 * getters and traps, fake and lying Uint8Arrays, other typed arrays and
 * DataViews, strings, null, NaN, symbols, functions — every family of the
 * kit's own `hostileValues`. Each call must succeed or fail with a typed
 * error; never throw synchronously, never die.
 *
 * (The CrashSimulator's functions are tested by its own suite; the vitest
 * entry's registrations run inside vitest's collector and are not called
 * here; the Schema error classes validate their constructor's fields, as
 * every Schema class does.)
 */
import { BlockDevice } from "@effect-block/block"
import {
  conformanceRules,
  decodeFaultInjectorOptions,
  faultInjector,
  FaultInjectorLive,
  formatCommand,
  hostileFamily,
  HostileIndex,
  hostileValues,
  type ModelCommand,
  runCommands,
  runModel,
  runRule
} from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Exit, Layer, Schema } from "effect"
import { flatDevice } from "./broken-devices.js"

/** A quick, valid device for the arguments that are not under attack. */
const device = flatDevice({}, { sizeSectors: 64 })
const quickModel = { runs: 1, steps: 2 }
const infoRule = conformanceRules().find((rule) => rule.operation === "info")!

/** Each public function that returns an Effect, with the hostile value in one argument and valid ones elsewhere. */
const effectful: ReadonlyArray<readonly [string, (value: unknown) => Effect.Effect<unknown, unknown>]> = [
  ["runRule(rule)", (value) => runRule(value as typeof infoRule, device)],
  ["runRule(_, layer)", (value) => runRule(infoRule, value as typeof device)],
  ["runModel(layer)", (value) => runModel(value as typeof device, quickModel)],
  ["runModel(_, options)", (value) => runModel(device, value as typeof quickModel)],
  ["runCommands(layer)", (value) => runCommands(value as typeof device, [])],
  ["runCommands(_, commands)", (value) => runCommands(device, value as ReadonlyArray<ModelCommand>)],
  ["runCommands(_, _, options)", (value) => runCommands(device, [{ _tag: "Flush" }], value as { readonly seek: boolean })],
  ["faultInjector(device)", (value) => faultInjector(value as never, {})],
  [
    "faultInjector(_, options)",
    (value) => Effect.flatMap(BlockDevice, (clean) => faultInjector(clean, value as never)).pipe(Effect.provide(device))
  ],
  ["FaultInjectorLive(options)", (value) => Layer.build(FaultInjectorLive(value as never).pipe(Layer.provide(device))).pipe(Effect.scoped)],
  [
    "injector.setEnabled(on)",
    (value) =>
      Effect.flatMap(BlockDevice, (clean) => faultInjector(clean, {})).pipe(
        Effect.flatMap(({ injector }) => injector.setEnabled(value as boolean)),
        Effect.provide(device)
      )
  ],
  ["conformanceRules(options), its first rule run", (value) => runRule(conformanceRules(value as never)[0]!, device)]
]

/** Each public function that answers synchronously, with what its answer must be. */
const synchronous: ReadonlyArray<readonly [string, (value: unknown) => boolean]> = [
  ["formatCommand(command)", (value) => typeof formatCommand(value as ModelCommand) === "string"],
  [
    "decodeFaultInjectorOptions(options)",
    (value) => {
      const decoded = decodeFaultInjectorOptions(value)
      return typeof decoded === "object" && decoded !== null
    }
  ],
  ["conformanceRules(options)", (value) => Array.isArray(conformanceRules(value as never))]
]

/** What went wrong with one call, or undefined if it succeeded or failed with a typed error. */
const problemWith = (call: (value: unknown) => Effect.Effect<unknown, unknown>, value: unknown) =>
  Effect.gen(function*() {
    let effect: Effect.Effect<unknown, unknown>
    try {
      effect = call(value)
    } catch (thrown) {
      return `threw synchronously: ${String(thrown)}`
    }
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return undefined
    if (exit.cause.reasons.some((reason) => reason._tag !== "Fail")) return `died: ${Cause.pretty(exit.cause)}`
    const error = Cause.squash(exit.cause) as { readonly _tag?: unknown; readonly message?: unknown }
    return typeof error._tag === "string" && typeof error.message === "string" && error.message.length > 0 ?
      undefined :
      `failed with an untyped error: ${String(error)}`
  })

const syncProblemWith = (call: (value: unknown) => boolean, value: unknown) => {
  try {
    return call(value) ? undefined : "returned a value of the wrong kind"
  } catch (thrown) {
    return `threw: ${String(thrown)}`
  }
}

describe("hostile inputs", () => {
  it.effect.prop(
    "any public function, any hostile value in any argument: a success or a typed failure, never a throw or a defect",
    {
      target: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: effectful.length + synchronous.length - 1 })),
      hostile: HostileIndex
    },
    ({ hostile, target }) =>
      Effect.gen(function*() {
        const [label, make] = hostileValues[hostile]!
        const problem = target < effectful.length ?
          yield* problemWith(effectful[target]![1], make()) :
          syncProblemWith(synchronous[target - effectful.length]![1], make())
        const name = target < effectful.length ? effectful[target]![0] : synchronous[target - effectful.length]![0]
        expect(problem, `${name} given ${label}`).toBeUndefined()
      }),
    { arbitrary: { runs: 200 } }
  )

  it.effect("every pairing of public function and hostile value, exhaustively", () =>
    Effect.gen(function*() {
      const problems: Array<string> = []
      for (const [label, make] of hostileValues) {
        for (const [name, call] of effectful) {
          const problem = yield* problemWith(call, make())
          if (problem !== undefined) problems.push(`${name} given ${label}: ${problem}`)
        }
        for (const [name, call] of synchronous) {
          const problem = syncProblemWith(call, make())
          if (problem !== undefined) problems.push(`${name} given ${label}: ${problem}`)
        }
      }
      expect(problems).toEqual([])
    }))
})

describe("hostileValues", () => {
  it("names every family once, and HostileIndex draws exactly their indices", () => {
    const names = hostileValues.map(([name]) => name)
    expect(new Set(names).size).toBe(names.length)
    const decode = Schema.decodeUnknownOption(HostileIndex)
    expect(decode(0)._tag).toBe("Some")
    expect(decode(hostileValues.length - 1)._tag).toBe("Some")
    expect(decode(hostileValues.length)._tag).toBe("None")
    expect(decode(-1)._tag).toBe("None")
  })

  it("builds each family without throwing, a fresh object on every call", () => {
    for (const [name, make] of hostileValues) {
      const first = make()
      const second = make()
      if ((typeof first === "object" && first !== null) || typeof first === "function") {
        expect(first === second, name).toBe(false)
      }
    }
  })

  it.effect("hostileFamily draws families of the list", () =>
    Effect.gen(function*() {
      const drawn = yield* Arbitrary.sampleEffect(hostileFamily, { count: 50, seed: 1 })
      for (const family of drawn) expect(hostileValues).toContain(family)
    }))
})
