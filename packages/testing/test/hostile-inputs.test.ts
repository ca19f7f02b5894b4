/**
 * Every public function of the testing kit's root entry that takes input
 * (the conformance rules and their runner, the model runner and replayer,
 * the fault injector, its layer, its options decoder and its switch) given
 * hostile values in each argument: Proxies, revoked Proxies, throwing
 * getters and traps, fake and lying Uint8Arrays, other typed arrays and
 * DataViews, strings, null, NaN, symbols, functions. Each call must succeed
 * or fail with a typed error; never throw synchronously, never die.
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
  type ModelCommand,
  runCommands,
  runModel,
  runRule
} from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Schema } from "effect"
import { flatDevice } from "./broken-devices.js"

const boom = () => {
  throw new Error("hostile")
}

/** Every name the kit's functions read from their arguments, each a getter that throws. */
const throwingGetters: object = Object.defineProperties(
  {},
  Object.fromEntries(
    [
      "seed", "runs", "steps", "sectors", "snapshots", "disconnect", "resize", "discard", "seek", "maxShrinks",
      "controls", "connect", "connectReadOnly", "destroy", "beneath", "enabled", "readErrorRate", "writeErrorRate",
      "flushErrorRate", "readCorruptionRate", "misdirectedWriteRate", "badSectors", "latency", "operation", "rule",
      "run", "_tag", "sectorStart", "fill", "from", "snapshot", "sizeSectors", "info", "read", "write", "length",
      "then"
    ].map((name) => [name, { get: boom, enumerable: true }])
  )
)

const everyTrapThrows = new Proxy({}, {
  get: boom,
  has: boom,
  ownKeys: boom,
  getOwnPropertyDescriptor: boom,
  getPrototypeOf: boom,
  set: boom,
  defineProperty: boom,
  apply: boom
})

const revoked = () => {
  const proxy = Proxy.revocable({}, {})
  proxy.revoke()
  return proxy.proxy
}

class LyingUint8Array extends Uint8Array {
  override get byteLength(): number {
    return 1 << 30
  }
  override get length(): number {
    return boom()
  }
}

const hostiles: ReadonlyArray<readonly [string, unknown]> = [
  ["a Proxy of {}", new Proxy({}, {})],
  ["a Proxy whose every trap throws", everyTrapThrows],
  ["a revoked Proxy", revoked()],
  ["an object whose getters throw", throwingGetters],
  ["a fake Uint8Array", Object.create(Uint8Array.prototype)],
  ["a Uint8Array subclass with a lying byteLength", new LyingUint8Array(8)],
  ["an Int16Array", new Int16Array(8)],
  ["a DataView", new DataView(new ArrayBuffer(8))],
  ["a string", "hostile"],
  ["null", null],
  ["NaN", Number.NaN],
  ["-1", -1],
  ["a symbol", Symbol("hostile")],
  ["a function", () => 1],
  ["a bigint", BigInt(3)],
  ["a list of a revoked Proxy and null", [revoked(), null]],
  ["an object whose toString and valueOf throw", { toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom }],
  ["a list of commands, one with a throwing getter", [{ _tag: "Flush" }, throwingGetters]]
]

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
      hostile: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: hostiles.length - 1 }))
    },
    ({ hostile, target }) =>
      Effect.gen(function*() {
        const [label, value] = hostiles[hostile]!
        const problem = target < effectful.length ?
          yield* problemWith(effectful[target]![1], value) :
          syncProblemWith(synchronous[target - effectful.length]![1], value)
        const name = target < effectful.length ? effectful[target]![0] : synchronous[target - effectful.length]![0]
        expect(problem, `${name} given ${label}`).toBeUndefined()
      }),
    { arbitrary: { runs: 200 } }
  )

  it.effect("every pairing of public function and hostile value, exhaustively", () =>
    Effect.gen(function*() {
      const problems: Array<string> = []
      for (const [label, value] of hostiles) {
        for (const [name, call] of effectful) {
          const problem = yield* problemWith(call, value)
          if (problem !== undefined) problems.push(`${name} given ${label}: ${problem}`)
        }
        for (const [name, call] of synchronous) {
          const problem = syncProblemWith(call, value)
          if (problem !== undefined) problems.push(`${name} given ${label}: ${problem}`)
        }
      }
      expect(problems).toEqual([])
    }))
})
