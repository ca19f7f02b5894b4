/**
 * The conformance suite: every rule of the contract (docs/semantics.md) as
 * data, runnable against any `Layer<BlockDevice>`, so that whoever writes a
 * block device (the ramdisk, the file device, a wrapper, a user's own)
 * proves it keeps the contract.
 *
 * {@link conformanceRules} lists the rules: each an Effect that fails with
 * {@link ConformanceViolation} when the device breaks it; {@link runRule}
 * runs one. Nothing here loads vitest: `@effect-block/testing/vitest`
 * registers the same list as tests (`conformance(name, layer)`).
 *
 * The rules live by operation family, one module each, under
 * `src/conformance/`: `Info`, `Read`, `Write` (their shared bodies in
 * `Transfer`), `Flush`, `Discard`, `Resize`, `Seek`, `Disconnect`,
 * `Concurrency`, and the rules that need a control over the device
 * (`Handles`, `ReadOnly`, `Destroy`, `Beneath`). `Rule` says what a rule is.
 *
 * @since 0.1.0
 */
import { type BlockDevice, type BlockDeviceShape, InvalidRequest } from "@effect-block/block"
import { describeValue } from "@effect-block/block/Implementer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { concurrencyRules } from "./conformance/Concurrency.js"
import { discardRules } from "./conformance/Discard.js"
import { disconnectRules } from "./conformance/Disconnect.js"
import { flushRules } from "./conformance/Flush.js"
import { infoRules } from "./conformance/Info.js"
import { readRules } from "./conformance/Read.js"
import { resizeRules } from "./conformance/Resize.js"
import { type ConformanceRule, ConformanceViolation, rule } from "./conformance/Rule.js"
import { seekRules } from "./conformance/Seek.js"
import { beneathRules } from "./conformance/Beneath.js"
import { destroyRules } from "./conformance/Destroy.js"
import { handleRules } from "./conformance/Handles.js"
import { readOnlyRules } from "./conformance/ReadOnly.js"
import { vectoredRules } from "./conformance/Vectored.js"
import { writeRules } from "./conformance/Write.js"
import { RuleFailed } from "./internal/ConformanceKit.js"
import { isLayer } from "./internal/Guards.js"
import { decodeOptions } from "./internal/Options.js"

/** What a rule is, and the error a broken rule fails with (defined with the rule builders). */
export { type ConformanceRule, ConformanceViolation } from "./conformance/Rule.js"

/**
 * What the suite may do to the device under test besides calling its
 * operations. Each control is optional and enables the rules that need it;
 * `R` is what the controls need from the layer's output besides
 * `BlockDevice` (a `Registry`, a `Ramdisk` handle...), so the layer given
 * to the suite must provide it too.
 *
 * @since 0.2.0
 */
export interface ConformanceControls<R = never> {
  /**
   * Opens another writable handle of the same device, in the rule's scope
   * (a ramdisk: `Registry.connect` with its name). Enables the rules that
   * every handle sees the same data and size.
   */
  readonly connect?: Effect.Effect<BlockDeviceShape, unknown, R | Scope.Scope> | undefined
  /**
   * Opens a read-only handle of the same device, in the rule's scope.
   * Enables the read-only rules.
   */
  readonly connectReadOnly?: Effect.Effect<BlockDeviceShape, unknown, R | Scope.Scope> | undefined
  /**
   * Destroys the device beneath the handle under test (a ramdisk:
   * `Registry.destroy`), or, for a wrapper, destroys or disconnects the
   * device it wraps. Enables the rule that every operation then fails
   * `Disconnected`.
   */
  readonly destroy?: Effect.Effect<void, unknown, R> | undefined
  /**
   * For a wrapper: the device it wraps (a `Ramdisk` handle kept in the
   * context with `Layer.provideMerge`). Enables the rule that disconnecting
   * the wrapper leaves the device beneath connected.
   */
  readonly beneath?: Effect.Effect<BlockDeviceShape, unknown, R> | undefined
}

/**
 * What the device under test cannot do, and what the suite may do to it.
 * `resize`, `discard` and `seek` default to `true` (supported); set one to
 * `false` and the rules for it expect what `BlockDevice.make` gives a device
 * without it: `Unimplemented` for `resize` and `discard`, and "everything is
 * mapped" (`seekMapped(x) = x`, `seekUnmapped(x) = size`) for `seek`.
 *
 * `seed` and `runs` drive the property rules (random write/discard histories
 * for the seeks). Without a seed each run picks one and prints it in any
 * failure, so a failure replays with `{ seed }`.
 *
 * @since 0.1.0
 */
export interface ConformanceOptions<R = never> {
  readonly resize?: boolean | undefined
  readonly discard?: boolean | undefined
  readonly seek?: boolean | undefined
  readonly seed?: number | undefined
  readonly runs?: number | undefined
  /** Controls over the device, each enabling more rules (see {@link ConformanceControls}). */
  readonly controls?: ConformanceControls<R> | undefined
}

/** A control: any Effect (what it needs is checked by the types, not at run time). */
const Control = Schema.declare((value: unknown): value is Effect.Effect<unknown, unknown, unknown> => Effect.isEffect(value), {
  expected: "an Effect"
})

/**
 * The conformance options as an `effect/Schema` struct: `conformanceRules`
 * and `conformance` decode their options with it, so a malformed option
 * (`seed: "7"`, `resize: null`, a control that is not an Effect, a typo'd
 * name) is reported naming it, as the one rule the suite then has.
 *
 * @since 0.2.0
 */
export const ConformanceOptions = Schema.Struct({
  resize: Schema.optional(Schema.Boolean),
  discard: Schema.optional(Schema.Boolean),
  seek: Schema.optional(Schema.Boolean),
  seed: Schema.optional(Schema.Number.check(Schema.isInt())),
  runs: Schema.optional(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100_000 }))),
  controls: Schema.optional(Schema.Struct({
    connect: Schema.optional(Control),
    connectReadOnly: Schema.optional(Control),
    destroy: Schema.optional(Control),
    beneath: Schema.optional(Control)
  }))
})

const decodeConformanceOptions = decodeOptions(ConformanceOptions, "conformance")

/**
 * Every rule of the contract, as data, for a device with the given
 * capabilities and controls. `conformance` (from
 * `@effect-block/testing/vitest`) registers exactly these; use this list
 * directly to run rules without vitest (see {@link runRule}) or to pick some.
 *
 * @since 0.1.0
 */
export const conformanceRules = <R = never>(options: ConformanceOptions<R> = {}): ReadonlyArray<ConformanceRule<R>> => {
  const decoded = decodeConformanceOptions(options)
  if (decoded instanceof InvalidRequest) {
    // The list is data, so a bad option becomes the one rule it breaks, failing with the decoder's message.
    return [rule("options", "the conformance options are valid", Effect.fail(new RuleFailed({ message: decoded.message })))]
  }
  const discard = decoded.discard ?? true
  const resize = decoded.resize ?? true
  const seek = decoded.seek ?? true
  // The decoder has checked that each control is an Effect; their requirements are the caller's `R`.
  const controls = (decoded.controls ?? {}) as ConformanceControls<R>
  return [
    ...infoRules,
    ...readRules,
    ...writeRules,
    ...vectoredRules,
    ...flushRules,
    ...discardRules(discard),
    ...resizeRules(resize),
    ...seekRules("seekMapped", seek, discard, decoded),
    ...seekRules("seekUnmapped", seek, discard, decoded),
    ...disconnectRules,
    ...concurrencyRules,
    ...(controls.connect === undefined ? [] : handleRules(controls.connect)),
    ...(controls.connectReadOnly === undefined ? [] : readOnlyRules(controls.connectReadOnly, { discard, resize })),
    ...(controls.destroy === undefined ? [] : destroyRules(controls.destroy)),
    ...(controls.beneath === undefined ? [] : beneathRules(controls.beneath))
  ]
}

/**
 * Runs one rule against a device layer: succeeds if the device keeps the
 * rule, fails with {@link ConformanceViolation} otherwise (also when `rule`
 * is not a rule or `layer` not a layer). Use it to check a device outside
 * vitest, or to show that a rule catches a broken device.
 *
 * @since 0.1.0
 */
export const runRule = <R, E>(
  rule: ConformanceRule<R>,
  layer: Layer.Layer<BlockDevice | NoInfer<R>, E>
): Effect.Effect<void, ConformanceViolation> =>
  Effect.suspend(() => {
    const refused = (message: string) =>
      Effect.fail(new ConformanceViolation({ operation: "runRule", rule: "(none)", message: `runRule: ${message}` }))
    let run: unknown
    try {
      run = typeof rule === "object" && rule !== null ? rule.run : undefined
    } catch {
      return refused(`reading rule ${describeValue(rule)} threw`)
    }
    if (typeof run !== "function") return refused(`rule ${describeValue(rule)} is not a conformance rule`)
    if (!isLayer(layer)) return refused(`layer ${describeValue(layer)} is not a Layer`)
    try {
      const result: unknown = run.call(rule, layer)
      return Effect.isEffect(result) ?
        result as Effect.Effect<void, ConformanceViolation> :
        refused(`rule ${describeValue(rule)} is not a conformance rule: its run gave no Effect`)
    } catch {
      return refused(`rule ${describeValue(rule)} threw when run`)
    }
  })
