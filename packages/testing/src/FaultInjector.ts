/**
 * The fault injector: a `BlockDevice` wrapper that makes the device beneath
 * it fail the way real disks fail (I/O errors, latent bad sectors, torn and
 * misdirected writes, bit flips on the way back, slow operations), chosen by
 * a seed, so a failing test replays exactly.
 *
 * After TigerBeetle's simulated storage, the clean data and the record of
 * what was injected are kept apart: the wrapped device only ever holds data
 * that was really written (a corrupted read damages the caller's copy, never
 * the device's), and every fault goes into a ledger a test oracle can read to
 * tell injected damage from a bug in the code under test. One switch
 * (`setEnabled(false)`) turns every fault and all latency off, so a test can
 * verify the surviving data through the same device.
 *
 * Stack it over any device: `FaultInjectorLive(options)` as a layer over a
 * `BlockDevice` layer, or `faultInjector(device, options)` over a value.
 *
 * @since 0.1.0
 */
import {
  BlockDevice,
  type BlockDeviceShape,
  InvalidRequest,
  IOError,
  type ReadError,
  type WriteError
} from "@effect-block/block"
import { checkRange, checkSector, describeValue, subBuffers } from "@effect-block/block/Implementer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { below, seedKey, Slot, unit } from "./internal/FaultRandom.js"
import { firstIn, flipBit, normalise, type Span, subtract } from "./internal/FaultSectors.js"

/**
 * A range of sectors: `sectors` sectors from `start`.
 *
 * @since 0.1.0
 */
export interface SectorRange {
  readonly start: number
  readonly sectors: number
}

/**
 * How long each operation takes before it reaches the wrapped device. Any
 * finite, non-negative `Duration.Input` (`10`, `"5 millis"`,
 * `Duration.seconds(1)`). Slept through Effect's `Clock`, so under
 * `TestClock` time passes only when the test adjusts it.
 *
 * @since 0.1.0
 */
export interface LatencyOptions {
  readonly read?: Duration.Input | undefined
  readonly write?: Duration.Input | undefined
  readonly flush?: Duration.Input | undefined
}

/**
 * What the fault injector does. Every fault is off by default, so
 * `faultInjector(device, {})` is a transparent pass-through. Every rate is a
 * probability per call, from 0 (never) to 1 (every call).
 *
 * @since 0.1.0
 */
export interface FaultInjectorOptions {
  /**
   * Drives every random choice: the same seed and the same sequence of
   * operations give the same faults and the same ledger. A safe integer;
   * default 0, so a test without a seed is still reproducible.
   */
  readonly seed?: number | undefined
  /** Whether faults are on when the injector is built (default true); see `setEnabled`. */
  readonly enabled?: boolean | undefined
  /**
   * A read fails `IOError` without reaching the device (a transient error: a
   * re-read may succeed). The caller's buffers are not touched.
   */
  readonly readErrorRate?: number | undefined
  /**
   * A write fails `IOError` after a seeded prefix of its sectors has been
   * applied: 0 to all of them, uniformly, whole sectors in order from
   * `sectorStart` (the device's sectors are atomic, its writes are not). The
   * ledger records how many sectors were applied.
   */
  readonly writeErrorRate?: number | undefined
  /**
   * A flush fails `IOError` without reaching the device, so nothing is made
   * durable by it (under a crash simulator the pending writes stay pending).
   */
  readonly flushErrorRate?: number | undefined
  /**
   * Latent sector errors: every read touching one of these sectors fails
   * `IOError`, whatever the rates, and fills no buffer. Writing a bad sector
   * heals it, the way a drive remaps a sector on write; so does discarding
   * it, and a shrink drops the bad sectors past the new end. Each range must
   * lie inside the device when the injector is built.
   */
  readonly badSectors?: ReadonlyArray<SectorRange> | undefined
  /**
   * A successful read comes back with one seeded bit flipped in one of its
   * sectors. Only the caller's buffer is damaged: the device keeps the clean
   * data, so a re-read with faults off returns it.
   */
  readonly readCorruptionRate?: number | undefined
  /**
   * A write reports success but its data lands at another, seeded place on
   * the device that does not overlap the intended sectors, which are left
   * as they were. A write with no such place (no room for it before or
   * after the intended sectors) lands where intended.
   */
  readonly misdirectedWriteRate?: number | undefined
  /** How long reads, writes and flushes take. */
  readonly latency?: LatencyOptions | undefined
}

/**
 * The kinds of fault the injector records.
 *
 * @since 0.1.0
 */
export type FaultKind = FaultRecord["kind"]

/**
 * What every ledger entry says: the operation it happened to, that
 * operation's requested range (`0, 0` for a flush), and the operation's
 * number among the reads, writes and flushes this injector has seen
 * (counting from 0), which identifies it in a replay.
 *
 * @since 0.1.0
 */
export interface FaultRecordBase {
  readonly operation: "read" | "write" | "flush"
  readonly sectorStart: number
  readonly sectors: number
  readonly operationIndex: number
}

/**
 * A read failed `IOError` at random; nothing was read.
 *
 * @since 0.1.0
 */
export interface ReadErrorFault extends FaultRecordBase {
  readonly kind: "readError"
  readonly operation: "read"
}

/**
 * A read touched a bad sector and failed `IOError`; `badSector` is the first
 * one it touched.
 *
 * @since 0.1.0
 */
export interface BadSectorFault extends FaultRecordBase {
  readonly kind: "badSector"
  readonly operation: "read"
  readonly badSector: number
}

/**
 * A read succeeded but one bit of the returned data was flipped: bit `bit`
 * (0 is the low bit of the sector's first byte) of sector `corruptedSector`.
 *
 * @since 0.1.0
 */
export interface CorruptionFault extends FaultRecordBase {
  readonly kind: "corruption"
  readonly operation: "read"
  readonly corruptedSector: number
  readonly bit: number
}

/**
 * A write failed `IOError` after its first `appliedSectors` sectors (maybe
 * none, maybe all) reached the device.
 *
 * @since 0.1.0
 */
export interface WriteErrorFault extends FaultRecordBase {
  readonly kind: "writeError"
  readonly operation: "write"
  readonly appliedSectors: number
}

/**
 * A write reported success, but its data went to `targetSector` onwards
 * instead of `sectorStart` onwards.
 *
 * @since 0.1.0
 */
export interface MisdirectedWriteFault extends FaultRecordBase {
  readonly kind: "misdirectedWrite"
  readonly operation: "write"
  readonly targetSector: number
}

/**
 * A flush failed `IOError`; nothing was flushed.
 *
 * @since 0.1.0
 */
export interface FlushErrorFault extends FaultRecordBase {
  readonly kind: "flushError"
  readonly operation: "flush"
}

/**
 * One injected fault, as the ledger records it. Switch on `kind`.
 *
 * @since 0.1.0
 */
export type FaultRecord =
  | ReadErrorFault
  | BadSectorFault
  | CorruptionFault
  | WriteErrorFault
  | MisdirectedWriteFault
  | FlushErrorFault

/**
 * The controls of a fault injector.
 *
 * @since 0.1.0
 */
export interface FaultInjectorShape {
  /** The seed in use (the option, or the default 0): print it to replay a failure. */
  readonly seed: number
  /**
   * Turns every fault on or off, latency included: while off, the wrapped
   * device is reached directly, as if there were no injector (bad sectors
   * are remembered and fail reads again once faults are back on). Random
   * choices are numbered by operation, so turning faults off for a while
   * does not change which of the later operations fail.
   */
  readonly setEnabled: (on: boolean) => Effect.Effect<void>
  /** Whether faults are on now. */
  readonly enabled: Effect.Effect<boolean>
  /** Every fault injected so far, oldest first. */
  readonly ledger: Effect.Effect<ReadonlyArray<FaultRecord>>
  /** Empties the ledger (the operation numbering goes on). */
  readonly clearLedger: Effect.Effect<void>
  /** The sectors that are bad now: the option's ranges minus what has been healed, merged and sorted. */
  readonly badSectors: Effect.Effect<ReadonlyArray<SectorRange>>
}

/**
 * The fault injector service, provided by {@link FaultInjectorLive} next to
 * the faulty `BlockDevice`.
 *
 * @since 0.1.0
 */
export class FaultInjector extends Context.Service<FaultInjector, FaultInjectorShape>()(
  "@effect-block/testing/FaultInjector"
) {}

const operationName = "FaultInjector"

const invalid = (message: string) => new InvalidRequest({ operation: operationName, message: `${operationName}: ${message}` })

interface Settings {
  readonly seed: number
  readonly enabled: boolean
  readonly readErrorRate: number
  readonly writeErrorRate: number
  readonly flushErrorRate: number
  readonly readCorruptionRate: number
  readonly misdirectedWriteRate: number
  readonly badSectors: ReadonlyArray<Span>
  readonly latency: {
    readonly read: Duration.Duration | undefined
    readonly write: Duration.Duration | undefined
    readonly flush: Duration.Duration | undefined
  }
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** An option's value, or `fallback` when it is absent; `null` is not absent, so it is refused like any wrong type. */
const option = (options: Readonly<Record<string, unknown>>, name: string, fallback: unknown): unknown =>
  options[name] === undefined ? fallback : options[name]

const rateNames = [
  "readErrorRate",
  "writeErrorRate",
  "flushErrorRate",
  "readCorruptionRate",
  "misdirectedWriteRate"
] as const

const checkDuration = (what: string, value: unknown): Duration.Duration | undefined | InvalidRequest => {
  if (value === undefined) return undefined
  const bad = invalid(`latency.${what} ${describeValue(value)} is not a finite, non-negative duration`)
  // `Duration.fromInput` reads NaN as zero; a NaN latency is a bug in the caller, so refuse it.
  if (typeof value === "number" && Number.isNaN(value)) return bad
  if (Array.isArray(value) && value.some((part) => typeof part !== "number" || !Number.isFinite(part))) return bad
  const decoded = Duration.fromInput(value as Duration.Input)
  if (Option.isNone(decoded) || !Duration.isFinite(decoded.value) || Duration.isNegative(decoded.value)) return bad
  return decoded.value
}

/** Checks the options against the wrapped device's size; never throws, whatever it is given. */
const checkOptions = (options: unknown, sizeSectors: number): Settings | InvalidRequest => {
  if (options === undefined) options = {}
  if (!isRecord(options)) return invalid(`options ${describeValue(options)} is not an object`)
  const seed = option(options, "seed", 0)
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    return invalid(`seed ${describeValue(seed)} is not a safe integer (from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER})`)
  }
  const enabled = option(options, "enabled", true)
  if (typeof enabled !== "boolean") return invalid(`enabled ${describeValue(enabled)} is not a boolean`)
  const rates: Record<(typeof rateNames)[number], number> = {
    readErrorRate: 0,
    writeErrorRate: 0,
    flushErrorRate: 0,
    readCorruptionRate: 0,
    misdirectedWriteRate: 0
  }
  for (const name of rateNames) {
    const rate = option(options, name, 0)
    if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) {
      return invalid(`${name} ${describeValue(rate)} is not a probability (a number from 0 to 1)`)
    }
    rates[name] = rate
  }
  const rangesOption = option(options, "badSectors", [])
  if (!Array.isArray(rangesOption)) {
    return invalid(`badSectors ${describeValue(rangesOption)} is not an array of sector ranges`)
  }
  const ranges: ReadonlyArray<unknown> = rangesOption
  const spans: Array<Span> = []
  for (let i = 0; i < ranges.length; i++) {
    const range: unknown = ranges[i]
    if (!isRecord(range)) return invalid(`badSectors[${i}] ${describeValue(range)} is not a { start, sectors } range`)
    const { sectors, start } = range
    const bad = checkSector(operationName, `badSectors[${i}].start`, start) ??
      checkSector(operationName, `badSectors[${i}].sectors`, sectors)
    if (bad !== undefined) return bad
    // `checkSector` has just shown both are sector numbers.
    const first = start as number
    const count = sectors as number
    const outside = checkRange(`${operationName} badSectors[${i}]`, first, count, sizeSectors)
    if (outside !== undefined) return new InvalidRequest({ operation: operationName, message: outside.message })
    spans.push({ start: first, end: first + count })
  }
  const latency = option(options, "latency", {})
  if (!isRecord(latency)) return invalid(`latency ${describeValue(latency)} is not a { read?, write?, flush? } object`)
  const read = checkDuration("read", latency["read"])
  if (read instanceof InvalidRequest) return read
  const write = checkDuration("write", latency["write"])
  if (write instanceof InvalidRequest) return write
  const flush = checkDuration("flush", latency["flush"])
  if (flush instanceof InvalidRequest) return flush
  return { seed, enabled, ...rates, badSectors: normalise(spans), latency: { read, write, flush } }
}

const injected = (operation: "read" | "write" | "flush", sectorStart: number, sectors: number, what: string) =>
  new IOError({
    operation,
    message: operation === "flush" ?
      `flush: ${what} (injected by FaultInjector)` :
      `${operation} of sectors [${sectorStart}, ${sectorStart + sectors}): ${what} (injected by FaultInjector)`,
    ...(operation === "flush" ? {} : { sectorStart, sectors })
  })

/**
 * Wraps `device` in a fault injector: returns the faulty device and the
 * injector's controls. Use it to stack fault injection with other wrappers
 * by hand; {@link FaultInjectorLive} is the same as a layer.
 *
 * Requests are validated first (an invalid request fails `InvalidRequest`
 * and is never counted or faulted); `discard`, `resize` and the seeks pass
 * straight through, and `disconnect` disconnects the wrapped device too.
 *
 * Fails `InvalidRequest` if an option is out of range: a rate that is not a
 * number from 0 to 1, a seed that is not a safe integer, a bad-sector range
 * that is malformed or outside the device, a latency that is negative,
 * infinite or not a duration.
 *
 * @example
 * ```ts
 * import { BlockDevice } from "@effect-block/block"
 * import { faultInjector } from "@effect-block/testing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const clean = yield* BlockDevice
 *   const { device, injector } = yield* faultInjector(clean, { seed: 7, readErrorRate: 0.1 })
 *   // ... run the code under test against `device`, then:
 *   return yield* injector.ledger
 * })
 * ```
 *
 * @since 0.1.0
 */
export const faultInjector = (
  device: BlockDeviceShape,
  options?: FaultInjectorOptions
): Effect.Effect<{ readonly device: BlockDeviceShape; readonly injector: FaultInjectorShape }, InvalidRequest> =>
  Effect.flatMap(device.info, (info) => {
    const settings = checkOptions(options, info.sizeSectors)
    return settings instanceof InvalidRequest ? Effect.fail(settings) : Effect.sync(() => build(device, settings))
  })

const build = (
  inner: BlockDeviceShape,
  settings: Settings
): { readonly device: BlockDeviceShape; readonly injector: FaultInjectorShape } => {
  const key = seedKey(settings.seed)
  let enabled = settings.enabled
  let nextIndex = 0
  let ledger: Array<FaultRecord> = []
  let bad = settings.badSectors

  const record = (fault: FaultRecord) =>
    Effect.sync(() => {
      ledger.push(fault)
    })

  const heal = (start: number, sectors: number) =>
    Effect.sync(() => {
      bad = subtract(bad, start, start + sectors)
    })

  /** Numbers the operation, then runs it with faults or straight through, as the switch says at its start. */
  const faulty = <A, E>(
    latency: Duration.Duration | undefined,
    withFaults: (index: number) => Effect.Effect<A, E>,
    plain: Effect.Effect<A, E>
  ): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const index = nextIndex++
      if (!enabled) return plain
      const body = withFaults(index)
      return latency === undefined || Duration.isZero(latency) ? body : Effect.andThen(Effect.sleep(latency), body)
    })

  const read = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) =>
    faulty(
      settings.latency.read,
      (index): Effect.Effect<void, ReadError> => {
        const base = { operation: "read", sectorStart, sectors, operationIndex: index } as const
        const badSector = firstIn(bad, sectorStart, sectorStart + sectors)
        if (badSector !== undefined) {
          return Effect.andThen(
            record({ ...base, kind: "badSector", badSector }),
            Effect.fail(injected("read", sectorStart, sectors, `bad sector ${badSector}`))
          )
        }
        if (unit(key, index, Slot.fails) < settings.readErrorRate) {
          return Effect.andThen(
            record({ ...base, kind: "readError" }),
            Effect.fail(injected("read", sectorStart, sectors, "read error"))
          )
        }
        const corrupt = sectors > 0 && unit(key, index, Slot.corrupt) < settings.readCorruptionRate
        if (!corrupt) return inner.read(sectorStart, buffers)
        return Effect.flatMap(inner.info, ({ sectorSize }) => {
          const sectorBits = sectorSize * 8
          const bit = below(key, index, Slot.bit, sectors * sectorBits)
          return inner.read(sectorStart, buffers).pipe(
            Effect.andThen(Effect.sync(() => flipBit(buffers, bit))),
            Effect.andThen(record({
              ...base,
              kind: "corruption",
              corruptedSector: sectorStart + Math.floor(bit / sectorBits),
              bit: bit % sectorBits
            }))
          )
        })
      },
      inner.read(sectorStart, buffers)
    )

  const write = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) =>
    faulty(
      settings.latency.write,
      (index): Effect.Effect<void, WriteError> => {
        const base = { operation: "write", sectorStart, sectors, operationIndex: index } as const
        if (unit(key, index, Slot.fails) < settings.writeErrorRate) {
          const applied = below(key, index, Slot.extent, sectors + 1)
          return Effect.flatMap(inner.info, ({ sectorSize }) =>
            (applied === 0 ? Effect.void : inner.write(sectorStart, subBuffers(buffers, 0, applied * sectorSize))).pipe(
              Effect.andThen(heal(sectorStart, applied)),
              Effect.andThen(record({ ...base, kind: "writeError", appliedSectors: applied })),
              Effect.andThen(Effect.fail(injected("write", sectorStart, sectors, `write error after ${applied} of ${sectors} sectors`)))
            ))
        }
        if (sectors > 0 && unit(key, index, Slot.misdirect) < settings.misdirectedWriteRate) {
          return Effect.flatMap(inner.info, ({ sizeSectors }) => {
            // Places that do not overlap [sectorStart, sectorStart + sectors): those before it, then those after it.
            const before = Math.max(0, sectorStart - sectors + 1)
            const after = Math.max(0, sizeSectors - sectorStart - 2 * sectors + 1)
            if (before + after === 0) return plainWrite(sectorStart, buffers, sectors)
            const choice = below(key, index, Slot.target, before + after)
            const target = choice < before ? choice : sectorStart + sectors + (choice - before)
            return inner.write(target, buffers).pipe(
              Effect.andThen(heal(target, sectors)),
              Effect.andThen(record({ ...base, kind: "misdirectedWrite", targetSector: target }))
            )
          })
        }
        return plainWrite(sectorStart, buffers, sectors)
      },
      plainWrite(sectorStart, buffers, sectors)
    )

  const plainWrite = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>, sectors: number) =>
    Effect.andThen(inner.write(sectorStart, buffers), heal(sectorStart, sectors))

  const flush = faulty(
    settings.latency.flush,
    (index): Effect.Effect<void, WriteError> =>
      unit(key, index, Slot.fails) < settings.flushErrorRate ?
        Effect.andThen(
          record({ operation: "flush", sectorStart: 0, sectors: 0, operationIndex: index, kind: "flushError" }),
          Effect.fail(injected("flush", 0, 0, "flush error"))
        ) :
        inner.flush,
    inner.flush
  )

  const device = BlockDevice.makeUnsafe({
    name: "FaultInjector",
    info: inner.info,
    read,
    write,
    flush,
    discard: (sectorStart, sectors) => Effect.andThen(inner.discard(sectorStart, sectors), heal(sectorStart, sectors)),
    resize: (sizeSectors) =>
      Effect.andThen(
        inner.resize(sizeSectors),
        Effect.sync(() => {
          bad = subtract(bad, sizeSectors, Number.MAX_SAFE_INTEGER)
        })
      ),
    seekMapped: inner.seekMapped,
    seekUnmapped: inner.seekUnmapped,
    disconnect: inner.disconnect
  })

  const injector: FaultInjectorShape = {
    seed: settings.seed,
    setEnabled: (on) =>
      Effect.sync(() => {
        enabled = on
      }),
    enabled: Effect.sync(() => enabled),
    ledger: Effect.sync(() => ledger.slice()),
    clearLedger: Effect.sync(() => {
      ledger = []
    }),
    badSectors: Effect.sync(() => bad.map((span) => ({ start: span.start, sectors: span.end - span.start })))
  }

  return { device, injector }
}

/**
 * A layer that wraps the `BlockDevice` beneath it in a fault injector: it
 * provides the faulty `BlockDevice` in place of the clean one, and the
 * `FaultInjector` controls. Build it with `Layer.provideMerge` over a
 * ramdisk layer to keep the `Ramdisk` service for reading the clean data.
 *
 * Fails `InvalidRequest` when building if an option is out of range (see
 * {@link faultInjector}): options are user input, and the only alternatives
 * to a typed error, clamping or dying, would hide the mistake.
 *
 * @example
 * ```ts
 * import { FaultInjectorLive } from "@effect-block/testing"
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { Layer } from "effect"
 *
 * const FaultyDiskLive = FaultInjectorLive({ seed: 42, writeErrorRate: 0.01, badSectors: [{ start: 100, sectors: 4 }] })
 *   .pipe(Layer.provideMerge(RamdiskLive({ name: "data", sizeSectors: 1024 }).pipe(Layer.provide(RegistryLive))))
 * ```
 *
 * @since 0.1.0
 */
export const FaultInjectorLive = (
  options?: FaultInjectorOptions
): Layer.Layer<BlockDevice | FaultInjector, InvalidRequest, BlockDevice> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const { device, injector } = yield* faultInjector(yield* BlockDevice, options)
      return Context.make(FaultInjector, injector).pipe(Context.add(BlockDevice, device))
    })
  )
