/**
 * The model test's command generator: an Arbitrary of command sequences in
 * which every kind of operation appears with a weight, sector numbers reach
 * a little past the end, and shrinking tends toward a short run of small
 * writes.
 *
 * @since 0.2.0
 * @internal
 */
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"
import type { ModelCommand } from "../ModelTest.js"

type Kind = ModelCommand["_tag"]

/** How often each command appears; Disconnect is rare because it ends the interesting part. */
const weights: ReadonlyArray<readonly [Kind, number]> = [
  ["Write", 28],
  ["Read", 14],
  ["Discard", 10],
  ["Resize", 6],
  ["Flush", 4],
  ["SeekMapped", 10],
  ["SeekUnmapped", 10],
  ["Snapshot", 6],
  ["Restore", 6],
  ["Disconnect", 1]
]

const between = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/**
 * An Arbitrary of command sequences addressing sectors `[0, reach]`. Shrinks
 * by dropping commands and by moving numbers toward 0 (a shrunk command
 * tends toward a small write).
 *
 */
export const modelCommands = (options: {
  readonly reach: number
  readonly steps: number
  readonly snapshots: boolean
  readonly disconnect: boolean
}): Arbitrary.Arbitrary<Array<ModelCommand>> => {
  const table = weights.filter(([kind]) =>
    (options.snapshots || (kind !== "Snapshot" && kind !== "Restore")) && (options.disconnect || kind !== "Disconnect")
  )
  const total = table.reduce((sum, [, weight]) => sum + weight, 0)
  const kindOf = (roll: number): Kind => {
    let rest = roll
    for (const [kind, weight] of table) {
      if (rest < weight) return kind
      rest -= weight
    }
    return "Write"
  }
  const step = Arbitrary.all({
    roll: between(0, total - 1),
    a: between(0, options.reach),
    b: between(0, 8),
    fill: between(0, 255)
  }).pipe(Arbitrary.map(({ a, b, fill, roll }): ModelCommand => {
    const kind = kindOf(roll)
    switch (kind) {
      case "Write":
        return { _tag: "Write", sectorStart: a, sectors: b, fill }
      case "Read":
      case "Discard":
        return { _tag: kind, sectorStart: a, sectors: b }
      case "Resize":
        return { _tag: "Resize", sizeSectors: a }
      case "SeekMapped":
      case "SeekUnmapped":
        return { _tag: kind, from: a }
      case "Restore":
        return { _tag: "Restore", snapshot: a }
      case "Flush":
      case "Snapshot":
      case "Disconnect":
        return { _tag: kind }
    }
  }))
  return Arbitrary.array(step, { maxLength: options.steps })
}
