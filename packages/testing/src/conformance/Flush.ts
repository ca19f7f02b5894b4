/**
 * The rule of `flush` (docs/semantics.md, "Operations of BlockDevice"): it
 * succeeds and keeps what was written.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { expectSectors, pattern } from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"

/** Every rule of `flush`. */
export const flushRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "flush",
    "succeeds, and everything written before it still reads back",
    withDevice((device, { sectorSize }) =>
      Effect.gen(function*() {
        const data = pattern(18, 2, 3, sectorSize)
        yield* device.write(2, data)
        yield* device.flush
        yield* device.flush
        yield* expectSectors("the sectors written before the flush", device, sectorSize, 2, data)
      })
    )
  )
]
