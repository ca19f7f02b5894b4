/**
 * The rules of `seekMapped` and `seekUnmapped` (docs/semantics.md,
 * "Operations of BlockDevice"): both guarantees, around known data and over
 * random histories of writes and discards, and the defaults of a device that
 * cannot seek.
 *
 * @since 0.2.0
 */
import type { BlockDeviceShape, Info } from "@effect-block/block"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ConformanceOptions } from "../Conformance.js"
import {
  badSectorValues,
  check,
  checkSeek,
  expectFailure,
  fail,
  headSectors,
  isFilledWith,
  pattern,
  readSectors,
  type Seek,
  unchecked
} from "../internal/ConformanceKit.js"
import { callsWith, describeCause, layerRule, onFreshDevice, pickSeed, rule, withDevice } from "./Rule.js"

/** Which of the first sectors hold non-zero data, read from the device. */
const nonZeroSectors = (device: BlockDeviceShape, sectorSize: number, sectors: number) =>
  Effect.map(readSectors(device, sectorSize, 0, sectors), (bytes) => {
    const result: Array<boolean> = []
    for (let s = 0; s < sectors; s++) {
      result.push(!isFilledWith(bytes.subarray(s * sectorSize, (s + 1) * sectorSize), 0))
    }
    return result
  })

/** Runs `seek` from every sector of the head and from the size, checking each result. */
const checkAllSeeks = (device: BlockDeviceShape, info: Info, seek: Seek, supported: boolean) =>
  Effect.gen(function*() {
    const { sizeSectors } = yield* device.info
    const span = Math.min(sizeSectors, headSectors + 8)
    const nonZero = yield* nonZeroSectors(device, info.sectorSize, span)
    const froms = Array.from({ length: span + 1 }, (_, i) => i)
    if (sizeSectors > span) froms.push(sizeSectors - 1, sizeSectors)
    for (const from of froms) {
      const result = yield* device[seek](from)
      const problem = checkSeek(seek, supported, from, result, sizeSectors, nonZero)
      if (problem !== undefined) return yield* fail(problem)
    }
  })

/** A random history of writes and discards, in the first sectors. */
const History = Schema.Array(Schema.Struct({
  discard: Schema.Boolean,
  sectorStart: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: headSectors + 7 })),
  sectors: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 12 }))
})).check(Schema.isMaxLength(16))

const historyArbitrary = Arbitrary.schema(History)

/** Every rule of one seek, for a device that can (`supported`) or cannot seek, and can or cannot discard. */
export const seekRules = (seek: Seek, supported: boolean, discard: boolean, options: Pick<ConformanceOptions, "seed" | "runs">) => {
  const other: Seek = seek === "seekMapped" ? "seekUnmapped" : "seekMapped"
  const guarantee = seek === "seekMapped" ?
    "returns s in [from, size] with every sector in [from, s) reading as zero" :
    "returns s in [from, size] where s is the size or a sector that reads as zero"
  return [
    rule(
      seek,
      supported ? `${guarantee}, around written, discarded and never-written sectors` : (seek === "seekMapped" ?
        "a device that cannot seek reports everything mapped: seekMapped(x) = x" :
        "a device that cannot seek reports everything mapped: seekUnmapped(x) = size"),
      withDevice((device, info) =>
        Effect.gen(function*() {
          const { sectorSize, sizeSectors } = info
          yield* checkAllSeeks(device, info, seek, supported)
          yield* device.write(10, pattern(20, 10, 2, sectorSize))
          yield* device.write(40, pattern(20, 40, 1, sectorSize))
          yield* device.write(sizeSectors - 1, pattern(20, sizeSectors - 1, 1, sectorSize))
          yield* checkAllSeeks(device, info, seek, supported)
          if (discard) {
            yield* device.discard(10, 1)
            yield* device.discard(40, 1)
            yield* checkAllSeeks(device, info, seek, supported)
          }
        })
      )
    ),
    layerRule(
      seek,
      supported ?
        `${guarantee}, over random histories of writes and discards` :
        `keeps the defaults of a device that cannot seek over random histories of writes${discard ? " and discards" : ""}`,
      (layer) =>
        Effect.gen(function*() {
          const seed = yield* pickSeed(options.seed)
          const result = yield* Arbitrary.checkEffect(
            historyArbitrary,
            (history) =>
              onFreshDevice(
                layer,
                withDevice((device, info) =>
                  Effect.gen(function*() {
                    let tag = 30
                    for (const step of history) {
                      const start = Math.min(step.sectorStart, info.sizeSectors - 1)
                      const sectors = Math.min(step.sectors, info.sizeSectors - start)
                      if (step.discard) {
                        if (discard) yield* device.discard(start, sectors)
                      } else {
                        yield* device.write(start, pattern(tag++, start, sectors, info.sectorSize))
                      }
                    }
                    yield* checkAllSeeks(device, info, seek, supported)
                    // The other seek must not disturb this one's answers.
                    yield* device[other](0)
                    yield* checkAllSeeks(device, info, seek, supported)
                  })
                )
              ).pipe(Effect.catchCause((cause) => Effect.fail(describeCause(cause))), Effect.as(true)),
            { seed, runs: options.runs ?? 50 }
          )
          if (result._tag === "Passed") return
          return yield* fail(
            `${Arbitrary.formatCheckFailure(result) ?? result._tag}\nSeed: ${seed} (replay with the conformance option { seed: ${seed} })`
          )
        })
    ),
    rule(
      seek,
      "from = size returns the size",
      withDevice((device, info) =>
        Effect.gen(function*() {
          yield* device.write(info.sizeSectors - 1, pattern(21, info.sizeSectors - 1, 1, info.sectorSize))
          const result = yield* device[seek](info.sizeSectors)
          yield* check(
            result === info.sizeSectors,
            () => `${seek}(${info.sizeSectors}) returned ${result}, expected the size ${info.sizeSectors}`
          )
        })
      )
    ),
    rule(
      seek,
      "rejects a from that is not a sector number, or past the end, with InvalidRequest naming it",
      withDevice((device, info) =>
        Effect.gen(function*() {
          const calls = [
            ...callsWith(badSectorValues, (bad) => `${seek}(${bad})`, (bad) => device[seek](unchecked(bad))),
            ...[info.sizeSectors + 1, Number.MAX_SAFE_INTEGER].map((from) => ({
              what: `${seek}(${from}) on ${info.sizeSectors} sectors`,
              call: device[seek](from),
              mentions: [String(from)]
            }))
          ]
          for (const { call, mentions, what } of calls) yield* expectFailure(what, "InvalidRequest", call, mentions)
        })
      )
    )
  ]
}
