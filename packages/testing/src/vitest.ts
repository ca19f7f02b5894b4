/**
 * `@effect-block/testing/vitest`: the conformance suite and the model test
 * registered as `@effect/vitest` tests. This is the only module of the
 * package that loads vitest; everything it registers is also usable from
 * plain Effect code through the root entry (`conformanceRules` and
 * `runRule`, `runModel` and `runCommands`).
 *
 * @since 0.2.0
 */
import type { BlockDevice } from "@effect-block/block"
import { describeValue } from "@effect-block/block/Implementer"
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { type ConformanceOptions, conformanceRules, runRule } from "./Conformance.js"
import { type ModelOptions, runModel } from "./ModelTest.js"

/** The name to register under: an untyped caller's non-string becomes a description of it, never a throw. */
const testName = (name: unknown): string => typeof name === "string" ? name : describeValue(name)

/**
 * Registers the conformance suite with `@effect/vitest`: a `describe(name)`
 * with one `describe` per operation and one `it` per rule of the contract
 * (docs/semantics.md). Call it at the top level of a test file.
 *
 * Every test builds `layer` afresh, so tests are independent. The layer must
 * provide a zero-filled, writable device of at least 64 sectors; its
 * geometry is read from `info`. Say what the device cannot do, and what the
 * suite may do to it (`controls`: open more handles, destroy the device
 * beneath), in `options`. Tests run with the live clock, so a device with
 * real or simulated latency works.
 *
 * @example
 * ```ts
 * import { Registry, RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { conformance } from "@effect-block/testing/vitest"
 * import { Effect, Layer } from "effect"
 *
 * // Registry stays in the output (provideMerge), so the controls can reach it.
 * const Disk = RamdiskLive({ name: "disk", sizeSectors: 1024 }).pipe(Layer.provideMerge(RegistryLive))
 * const handle = (readOnly: boolean) =>
 *   Registry.use((registry) =>
 *     Effect.acquireRelease(registry.connect({ name: "disk", readOnly }), (handle) => handle.disconnect)
 *   )
 *
 * conformance("ramdisk", Disk, {
 *   controls: {
 *     connect: handle(false),
 *     connectReadOnly: handle(true),
 *     destroy: Registry.use((registry) => registry.destroy("disk"))
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const conformance = <E, R = never>(
  name: string,
  layer: Layer.Layer<BlockDevice | R, E>,
  options?: ConformanceOptions<R>
): void => {
  const rules = conformanceRules(options)
  const operations = Array.from(new Set(rules.map((rule) => rule.operation)))
  describe(testName(name), () => {
    for (const operation of operations) {
      describe(operation, () => {
        for (const rule of rules) {
          if (rule.operation === operation) it.live(rule.rule, () => runRule(rule, layer))
        }
      })
    }
  })
}

/**
 * Registers a model test with `@effect/vitest`: one `it` that runs
 * `runModel` on `layer` and fails with the shrunk sequence and its seed.
 * Call it at the top level of a test file, next to {@link conformance}.
 *
 * @example
 * ```ts
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { modelTest } from "@effect-block/testing/vitest"
 * import { Layer } from "effect"
 *
 * const Disk = RamdiskLive({ name: "disk", sizeSectors: 1024 }).pipe(Layer.provideMerge(RegistryLive))
 * modelTest("ramdisk", Disk, { runs: 200 })
 * // a failure prints `seed: 123456`; replay it exactly with:
 * // modelTest("ramdisk", Disk, { seed: 123456 })
 * ```
 *
 * @since 0.1.0
 */
export const modelTest = <E>(name: string, layer: Layer.Layer<BlockDevice, E>, options?: ModelOptions): void => {
  it.live(
    `${testName(name)}: random sequences of every operation agree with the reference model`,
    () => Effect.asVoid(runModel(layer, options)),
    60_000
  )
}
