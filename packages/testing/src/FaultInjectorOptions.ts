/**
 * The fault injector's options, as an `effect/Schema` struct: the one
 * source of what each option means and accepts. `FaultInjectorLive` and
 * `faultInjector` decode whatever they are given with it, so a malformed
 * option (a string seed, a NaN rate, `latency: { read: {} }`, a typo'd
 * option name, a throwing getter) is an `InvalidRequest` naming the option
 * and its value, never a silent default and never a defect.
 *
 * @since 0.2.0
 */
import type { InvalidRequest } from "@effect-block/block"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { decodeOptions } from "./internal/Options.js"

/** Whether `value` is a `Duration.Input` that decodes to a finite, non-negative duration. */
const isLatency = (value: unknown): value is Duration.Input => {
  // `Duration.fromInput` reads NaN as zero; a NaN latency is a bug in the caller, so refuse it.
  if (typeof value === "number" && Number.isNaN(value)) return false
  if (Array.isArray(value) && value.some((part) => typeof part !== "number" || !Number.isFinite(part))) return false
  if (typeof value === "object" && value !== null && !Array.isArray(value) && !Duration.isDuration(value)) return false
  const decoded = Duration.fromInput(value as Duration.Input)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) && !Duration.isNegative(decoded.value)
}

/**
 * How long an operation takes: any finite, non-negative `Duration.Input`
 * (`10` milliseconds, `"5 millis"`, `Duration.seconds(1)`).
 *
 * @since 0.2.0
 */
export const Latency = Schema.declare(isLatency, { expected: "a finite, non-negative duration" })

/**
 * A probability per call, from 0 (never) to 1 (every call).
 *
 * @since 0.2.0
 */
export const Rate = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/**
 * A sector number: a safe integer ≥ 0.
 *
 * @since 0.2.0
 */
export const SectorNumber = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/**
 * A range of sectors: `sectors` sectors from `start`.
 *
 * @since 0.1.0
 */
export const SectorRange = Schema.Struct({
  start: SectorNumber,
  sectors: SectorNumber
})

/**
 * A range of sectors, as {@link SectorRange} decodes it.
 *
 * @since 0.1.0
 */
export interface SectorRange extends Schema.Schema.Type<typeof SectorRange> {}

/**
 * How long each operation takes before it reaches the wrapped device, slept
 * through Effect's `Clock` (so under `TestClock` time passes only when the
 * test adjusts it).
 *
 * @since 0.1.0
 */
export const LatencyOptions = Schema.Struct({
  read: Schema.optional(Latency),
  write: Schema.optional(Latency),
  flush: Schema.optional(Latency)
})

/**
 * How long reads, writes and flushes take, as {@link LatencyOptions} decodes it.
 *
 * @since 0.1.0
 */
export interface LatencyOptions extends Schema.Schema.Type<typeof LatencyOptions> {}

/**
 * What the fault injector does. Every fault is off by default, so
 * `faultInjector(device, {})` is a transparent pass-through. Every rate is a
 * probability per call, from 0 (never) to 1 (every call).
 *
 * @since 0.1.0
 */
export const FaultInjectorOptions = Schema.Struct({
  /**
   * Drives every random choice: the same seed and the same sequence of
   * operations give the same faults and the same ledger. Any safe integer,
   * negative ones included; distinct seeds give distinct random streams
   * (-1 and 4294967295 are different seeds). Default 0, so a test without
   * a seed is still reproducible.
   */
  seed: Schema.optional(Schema.Number.check(Schema.isInt())),
  /** Whether faults are on when the injector is built (default true); see `setEnabled`. */
  enabled: Schema.optional(Schema.Boolean),
  /**
   * A read fails `IOError` without reaching the device (a transient error: a
   * re-read may succeed). The caller's buffers are not touched.
   */
  readErrorRate: Schema.optional(Rate),
  /**
   * A write fails `IOError` after a seeded prefix of its sectors has been
   * applied: 0 to all of them, uniformly, whole sectors in order from
   * `sectorStart` (the device's sectors are atomic, its writes are not). The
   * ledger records how many sectors were applied.
   */
  writeErrorRate: Schema.optional(Rate),
  /**
   * A flush fails `IOError` without reaching the device, so nothing is made
   * durable by it (under a crash simulator the pending writes stay pending).
   */
  flushErrorRate: Schema.optional(Rate),
  /**
   * Latent sector errors: every read touching one of these sectors fails
   * `IOError`, whatever the rates, and fills no buffer. Writing a bad sector
   * heals it, the way a drive remaps a sector on write; so does discarding
   * it, and a shrink drops the bad sectors past the new end. Each range must
   * lie inside the device when the injector is built.
   */
  badSectors: Schema.optional(Schema.Array(SectorRange)),
  /**
   * A successful read comes back with one seeded bit flipped in one of its
   * sectors. Only the caller's buffer is damaged: the device keeps the clean
   * data, so a re-read with faults off returns it.
   */
  readCorruptionRate: Schema.optional(Rate),
  /**
   * A write reports success but its data lands at another, seeded place on
   * the device that does not overlap the intended sectors, which are left
   * as they were. A write with no such place (no room for it before or
   * after the intended sectors) lands where intended.
   */
  misdirectedWriteRate: Schema.optional(Rate),
  /** How long reads, writes and flushes take. */
  latency: Schema.optional(LatencyOptions)
})

/**
 * What the fault injector does, as the {@link FaultInjectorOptions} schema decodes it.
 *
 * @since 0.1.0
 */
export interface FaultInjectorOptions extends Schema.Schema.Type<typeof FaultInjectorOptions> {}

/**
 * Decodes `options` (anything a caller passes, `undefined` for none) into
 * the fault injector's options, or the `InvalidRequest` that names the first
 * bad option. Never throws: a getter that throws while being read is
 * answered the same way.
 *
 * @since 0.2.0
 */
export const decodeFaultInjectorOptions: (options: unknown) => FaultInjectorOptions | InvalidRequest = decodeOptions(
  FaultInjectorOptions,
  "FaultInjector"
)
