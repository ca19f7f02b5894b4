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
  isBlockDevice,
  IOError,
  type ReadError,
  type WriteError
} from "@effect-block/block"
import { checkRange, describeValue, subBuffers } from "@effect-block/block/Implementer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { decodeFaultInjectorOptions, type FaultInjectorOptions, type SectorRange } from "./FaultInjectorOptions.js"
import type { FaultRecord } from "./FaultRecord.js"
import { below, seedKey, Slot, unit } from "./internal/FaultRandom.js"
import { firstIn, flipBit, normalise, type Span, subtract } from "./internal/FaultSectors.js"

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
   * does not change which of the later operations fail. Anything but a
   * boolean fails `InvalidRequest` and changes nothing.
   */
  readonly setEnabled: (on: boolean) => Effect.Effect<void, InvalidRequest>
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

/** The decoded options, checked against the device beneath and made ready for use. */
const settingsFor = (options: FaultInjectorOptions, sizeSectors: number): Settings | InvalidRequest => {
  const spans: Array<Span> = []
  const ranges = options.badSectors ?? []
  for (let i = 0; i < ranges.length; i++) {
    const { sectors, start } = ranges[i]!
    const outside = checkRange(`${operationName} badSectors[${i}]`, start, sectors, sizeSectors)
    if (outside !== undefined) return new InvalidRequest({ operation: operationName, message: outside.message })
    spans.push({ start, end: start + sectors })
  }
  const duration = (input: Duration.Input | undefined) =>
    input === undefined ? undefined : Option.getOrUndefined(Duration.fromInput(input))
  return {
    seed: options.seed ?? 0,
    enabled: options.enabled ?? true,
    readErrorRate: options.readErrorRate ?? 0,
    writeErrorRate: options.writeErrorRate ?? 0,
    flushErrorRate: options.flushErrorRate ?? 0,
    readCorruptionRate: options.readCorruptionRate ?? 0,
    misdirectedWriteRate: options.misdirectedWriteRate ?? 0,
    badSectors: normalise(spans),
    latency: {
      read: duration(options.latency?.read),
      write: duration(options.latency?.write),
      flush: duration(options.latency?.flush)
    }
  }
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
 * straight through. Over a device beneath that is disconnected or
 * destroyed, every operation fails `Disconnected`: nothing is injected or
 * recorded. `disconnect` disconnects the injector only; the device beneath
 * stays connected for its owner (docs/semantics.md, "Wrappers").
 *
 * The options are decoded with the {@link FaultInjectorOptions} schema:
 * fails `InvalidRequest` naming the option for any that is malformed (a rate
 * that is not a number from 0 to 1, a seed that is not a safe integer, a
 * latency that is not a finite, non-negative duration, an unknown option),
 * and for a bad-sector range outside the device.
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
  Effect.suspend(() => {
    if (!isBlockDevice(device)) {
      return Effect.fail(
        new InvalidRequest({
          operation: operationName,
          message: `${operationName}: device ${describeValue(device)} is not a BlockDevice`
        })
      )
    }
    const decoded = decodeFaultInjectorOptions(options)
    if (decoded instanceof InvalidRequest) return Effect.fail(decoded)
    return Effect.flatMap(device.info, (info) => {
      const settings = settingsFor(decoded, info.sizeSectors)
      return settings instanceof InvalidRequest ? Effect.fail(settings) : Effect.sync(() => build(device, settings))
    })
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
    // While the device beneath is disconnected or destroyed, every operation fails `Disconnected` before
    // it is validated, numbered or faulted. No `disconnect`: it disconnects this wrapper only.
    wraps: [inner]
  })

  const injector: FaultInjectorShape = {
    seed: settings.seed,
    setEnabled: (on) =>
      Effect.suspend(() => {
        if (typeof on !== "boolean") {
          return Effect.fail(
            new InvalidRequest({
              operation: "setEnabled",
              message: `FaultInjector setEnabled: ${describeValue(on)} is not a boolean`
            })
          )
        }
        enabled = on
        return Effect.void
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
 * Fails `InvalidRequest` when building if an option is malformed or out of
 * range (see {@link faultInjector}): options are user input, and the only
 * alternatives to a typed error, clamping or dying, would hide the mistake.
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
