/**
 * Decoding of options objects with `effect/Schema`, shared by every public
 * function of block and ramdisk that takes options: one exported schema per
 * options type (so `null` is never "absent" and `readOnly: 1` is never
 * truthy), decoded once into a fresh plain object, and a bad option answered
 * with an `InvalidRequest` naming it, its value and what was expected.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { InvalidRequest } from "../Errors.js"
import { describeValue } from "../Geometry.js"

/**
 * A sector address or count: a safe integer ≥ 0.
 *
 * @since 0.2.0
 */
export const SectorNumber = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= 0, {
    expected: `a sector number (a safe integer from 0 to ${Number.MAX_SAFE_INTEGER})`
  })
)

/**
 * A positive safe integer (`chunkSectors`, `concurrency`, `blockSectors`).
 *
 * @since 0.2.0
 */
export const PositiveInteger = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= 1, {
    expected: `a positive safe integer (from 1 to ${Number.MAX_SAFE_INTEGER})`
  })
)

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The value at `path` inside `root`, read from data properties only (no getter or trap is run twice). */
const valueAt = (root: unknown, path: ReadonlyArray<PropertyKey>): { readonly value: unknown } | undefined => {
  let value = root
  try {
    for (const key of path) {
      if (typeof value !== "object" || value === null) return undefined
      const descriptor = Reflect.getOwnPropertyDescriptor(value, key)
      if (descriptor === undefined) return { value: undefined }
      if (!("value" in descriptor)) return undefined
      value = descriptor.value
    }
    return { value }
  } catch {
    return undefined
  }
}

const lowerFirst = (text: string) => text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1)

/**
 * A decoder for `schema` that never throws: it returns the decoded options
 * (a fresh object; undefined stays undefined when the schema allows it) or an
 * `InvalidRequest` whose message reads
 * `"<operation>: <what> <path> is <value>; expected <...>"`.
 *
 * @since 0.2.0
 */
export const decodeOptions = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, what: string) => {
  const decode = Schema.decodeUnknownExit(schema)
  return (operation: string, value: unknown): S["Type"] | InvalidRequest => {
    let exit: Exit.Exit<S["Type"], Schema.SchemaError>
    try {
      exit = decode(value)
    } catch {
      exit = Exit.die("unreadable")
    }
    if (Exit.isSuccess(exit)) return exit.value
    const failure = exit.cause.reasons.find(Cause.isFailReason)
    if (failure === undefined) {
      return new InvalidRequest({
        operation,
        message: `${operation}: ${what} ${describeValue(value)} could not be read (reading it threw)`
      })
    }
    const [first] = formatter(failure.error.issue).issues
    const path = (first?.path ?? []).map((segment): PropertyKey =>
      typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
    )
    const label = path.length === 0 ? what : `${what === "options" ? "option" : what} ${path.map(String).join(".")}`
    const found = valueAt(value, path)
    const expected = lowerFirst(first?.message ?? "a valid value")
    return new InvalidRequest({
      operation,
      message: found === undefined ?
        `${operation}: ${label} could not be read (${expected})` :
        `${operation}: ${label} is ${describeValue(found.value)}; ${expected}`
    })
  }
}
