/**
 * The rule of `info` (docs/semantics.md, "Geometry and addresses"): the
 * geometry it reports is one the contract allows.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { check } from "../internal/ConformanceKit.js"
import { type ConformanceRule, rule, withDevice } from "./Rule.js"

/** Every rule of `info`. */
export const infoRules: ReadonlyArray<ConformanceRule> = [
  rule(
    "info",
    "reports a valid geometry: a power-of-two sectorSize up to 65536, a safe sizeSectors, a safe byte size",
    withDevice((_, info) =>
      Effect.gen(function*() {
        const { sectorSize, sizeSectors } = info
        yield* check(
          Number.isSafeInteger(sectorSize) && sectorSize >= 1 && sectorSize <= 65536 &&
            (sectorSize & (sectorSize - 1)) === 0,
          () => `sectorSize ${sectorSize} is not a power of two from 1 to 65536`
        )
        yield* check(
          Number.isSafeInteger(sizeSectors) && sizeSectors >= 0,
          () => `sizeSectors ${sizeSectors} is not a safe integer ≥ 0`
        )
        yield* check(
          sizeSectors * sectorSize <= Number.MAX_SAFE_INTEGER,
          () => `${sizeSectors} sectors of ${sectorSize} bytes exceed Number.MAX_SAFE_INTEGER bytes`
        )
      })
    )
  )
]
