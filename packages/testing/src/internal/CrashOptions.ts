/**
 * The option schemas of the crash simulator, and how they are decoded:
 * every malformed option, and anything that throws while being read (a
 * revoked Proxy, a throwing getter), is an `InvalidRequest` naming it.
 * Re-exported by `CrashSimulator.ts`.
 */
import { InvalidRequest } from "@effect-block/block"
import { describeValue } from "@effect-block/block/Implementer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/**
 * A seed: an integer from 0 to 4294967295 (2^32 - 1). Other numbers are
 * refused rather than folded, so two different seeds never drive the same
 * run.
 *
 * @since 0.2.0
 */
export const Seed = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4294967295 }))

/**
 * The options of {@link CrashSimulatorShape.states}, as a schema.
 *
 * - `epoch`: the epoch to crash in (0 is the first); default the open one.
 * - `seed`: the seed of the sample; default a fresh one drawn from the
 *   simulator's generator, reported in `coverage.seed`.
 * - `limit`: at most this many states (an integer ≥ 2), beyond the in-order
 *   prefixes, which are always all listed. Default 256.
 * - `torn`: a pending write may land in part (any subset of its sectors).
 *   Default false. A write that failed in flight may land in part anyway.
 * - `damage`: what a torn write leaves in the first of its sectors that did
 *   not land (its tear point): `"none"` (the old data, the default),
 *   `"zeros"`, or `"garbage"` (seeded bytes).
 *
 * @since 0.2.0
 */
export const StatesOptions = Schema.Struct({
  epoch: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  seed: Schema.optional(Seed),
  limit: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(2))),
  torn: Schema.optional(Schema.Boolean),
  damage: Schema.optional(Schema.Literals(["none", "zeros", "garbage"]))
})

/**
 * Options of {@link CrashSimulatorShape.states}.
 *
 * @since 0.1.0
 */
export type StatesOptions = typeof StatesOptions.Type

/**
 * Decodes `input` with `schema`, answering anything malformed, or anything
 * that throws while being read (a revoked Proxy, a throwing getter), with an
 * `InvalidRequest` that names `operation` and the bad option.
 */
export const decodeOptions = <A>(
  schema: Schema.Codec<A, unknown, never, never>,
  operation: string,
  input: unknown
): Result.Result<A, InvalidRequest> => {
  try {
    return Result.mapError(
      Schema.decodeUnknownResult(schema)(input),
      (error) =>
        new InvalidRequest({
          operation,
          message: `${operation}: bad options ${describeValue(input)}: ${error.message.replace(/\n\s*/g, " ")}`
        })
    )
  } catch {
    return Result.fail(
      new InvalidRequest({ operation, message: `${operation}: options ${describeValue(input)} could not be read` })
    )
  }
}

