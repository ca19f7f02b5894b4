/**
 * What a conformance rule is, and the few ways the rule families build one:
 * a rule runs its body on a freshly built device and turns whatever goes
 * wrong (the rule's own verdict, an unexpected device error, a defect, a
 * layer that fails to build) into one {@link ConformanceViolation}.
 *
 * Internal to `@effect-block/testing`: the public names are re-exported by
 * `Conformance.ts`, and `conformanceRules` assembles the rule families.
 *
 * @since 0.2.0
 */
import { BlockDevice, type BlockDeviceShape, type Info } from "@effect-block/block"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import {
  type BadValue,
  type DeviceError,
  describeError,
  device,
  expectFailure,
  expectUnchanged,
  prefill,
  RuleFailed
} from "../internal/ConformanceKit.js"

/**
 * A device broke a rule of the contract. `operation` and `rule` name the
 * rule as the suite registers it; `message` says what the device did.
 *
 * @since 0.1.0
 */
export class ConformanceViolation extends Schema.TaggedError<ConformanceViolation>()("ConformanceViolation", {
  operation: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {}

/**
 * One rule of the contract. `run` builds the given layer afresh (more than
 * once for property rules), checks the rule against the device it provides,
 * and fails with {@link ConformanceViolation} if the device breaks it — or if
 * the layer fails to build, or the device fails unexpectedly or dies.
 *
 * `R` is what the rule's controls need from the layer besides the device
 * (see `ConformanceControls`); `never` for rules that need no control.
 *
 * @since 0.1.0
 */
export interface ConformanceRule<R = never> {
  /** The operation the rule is about: `"read"`, `"resize"`, `"concurrency"`... */
  readonly operation: string
  /** The rule, as a sentence; the name of its test. */
  readonly rule: string
  readonly run: (layer: Layer.Layer<BlockDevice | R, unknown>) => Effect.Effect<void, ConformanceViolation>
}

/** What a rule body may fail with: its own verdict, or a device error it did not expect. */
export type Failure = RuleFailed | DeviceError

/** A rule's body: runs with the device (and the controls' services) in context, in a scope of its own. */
export type Body<R = never> = Effect.Effect<void, Failure, BlockDevice | R | Scope.Scope>

/** What went wrong, for a violation's message. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    if (error instanceof RuleFailed) return error.message
    if (typeof error === "object" && error !== null && "_tag" in error && "message" in error) {
      return `unexpected ${describeError(error as DeviceError)}`
    }
    return `unexpected failure: ${String(error)}`
  }
  return `the device died or was interrupted: ${Cause.pretty(cause)}`
}

const violation = (operation: string, rule: string) => (cause: Cause.Cause<unknown>) =>
  Effect.fail(new ConformanceViolation({ operation, rule, message: describeCause(cause) }))

/**
 * Runs `body` against a freshly built device from `layer`; whatever `body`
 * opens in its scope is closed before the layer is released.
 */
export const onFreshDevice = <A, E, R>(
  layer: Layer.Layer<BlockDevice | R, unknown>,
  body: Effect.Effect<A, E, BlockDevice | R | Scope.Scope>
): Effect.Effect<A, unknown> =>
  // `provide` removes exactly what the layer outputs; TypeScript cannot see that for a generic `R`.
  Effect.provide(Effect.scoped(body), layer, { local: true }) as Effect.Effect<A, unknown>

/** A rule whose body runs once, on a fresh device. */
export const rule = <R = never>(operation: string, name: string, body: Body<R>): ConformanceRule<R> => ({
  operation,
  rule: name,
  run: (layer) => Effect.catchCause(onFreshDevice(layer, body), violation(operation, name))
})

/** A rule that needs the layer itself, to build many devices. */
export const layerRule = (
  operation: string,
  name: string,
  body: (layer: Layer.Layer<BlockDevice, unknown>) => Effect.Effect<void, unknown>
): ConformanceRule => ({
  operation,
  rule: name,
  run: (layer) => Effect.catchCause(Effect.suspend(() => body(layer)), violation(operation, name))
})

/** The rule's body, with the device and its geometry at hand. */
export const withDevice = <R = never>(
  body: (device: BlockDeviceShape, info: Info) => Effect.Effect<void, Failure, R | Scope.Scope>
): Body<R> => Effect.flatMap(device, ({ device, info }) => body(device, info))

/** Prefills the device, runs `body`, and fails with `what` unless the device is as it was. */
export const changesNothing = (
  what: (info: Info) => string,
  body: (device: BlockDeviceShape, info: Info) => Effect.Effect<void, Failure>
): Body =>
  withDevice((device, info) =>
    Effect.gen(function*() {
      const before = yield* prefill(device, info)
      yield* body(device, info)
      yield* expectUnchanged(what(info), device, info.sectorSize, before)
    })
  )

/** The text a message must contain to name a bad value, as a list of mentions. */
export const mentionsOf = (value: BadValue): ReadonlyArray<string> => value.mention === undefined ? [] : [value.mention]

/** A call that must be rejected, what to call it in a failure, and what its message must name. */
export interface Rejected {
  readonly what: string
  readonly call: Effect.Effect<unknown, DeviceError>
  readonly mentions: ReadonlyArray<string>
}

/** One labelled call per bad value, each expected to name the value it was given. */
export const callsWith = (
  values: ReadonlyArray<BadValue>,
  what: (label: string) => string,
  call: (value: unknown) => Effect.Effect<unknown, DeviceError>
): ReadonlyArray<Rejected> =>
  values.map((bad) => ({ what: what(bad.label), call: call(bad.value), mentions: mentionsOf(bad) }))

/** Prefills the device; each call must fail `InvalidRequest` naming its mentions and leave the device as it was. */
export const rejectsWithoutChange = (device: BlockDeviceShape, info: Info, cases: ReadonlyArray<Rejected>) =>
  Effect.gen(function*() {
    const before = yield* prefill(device, info)
    for (const { call, mentions, what } of cases) {
      yield* expectFailure(what, "InvalidRequest", call, mentions)
      yield* expectUnchanged(`after the rejected ${what}`, device, info.sectorSize, before)
    }
  })

/** The seed of a property rule: the option's, or a fresh one that the failure message prints. */
export const pickSeed = (seed: number | undefined): Effect.Effect<number> =>
  seed === undefined ? Random.nextIntBetween(0, 2 ** 31 - 1) : Effect.succeed(seed)

/**
 * Runs one of the suite's controls (see `ConformanceControls`); its failure
 * is the rule's, saying which control failed.
 */
export const control = <A, R>(name: string, effect: Effect.Effect<A, unknown, R>): Effect.Effect<A, RuleFailed, R> =>
  Effect.mapError(effect, (error) =>
    new RuleFailed({
      message: `the ${name} control failed: ${
        typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
      }`
    }))
