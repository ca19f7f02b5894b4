/**
 * The options of a file device, as an `effect/Schema`: what `FileDevice.make`
 * and `FileLive` accept. The options are decoded, never just read: a value of
 * the wrong type (`readOnly: 1`, `sectorSize: null`, `create: null`), a
 * misspelt key, or an object whose getters throw is refused with an
 * `InvalidRequest` naming the option and the value, before anything is
 * opened. The rules are those of docs/semantics.md and docs/file-device.md.
 *
 * @since 0.1.0
 */
import { defaultSectorSize, InvalidRequest, maxSectorSize } from "@effect-block/block"
import { checkGeometry, describeValue } from "@effect-block/block/Implementer"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

/**
 * What each option must be, in words: the options' `description` annotations
 * and the second half of every error message about them ("option readOnly is
 * 1; it must be true or false, or absent (false)").
 */
const optionRules = {
  path: "a non-empty string without NUL characters",
  sectorSize: `a power of two from 1 to ${maxSectorSize}, or absent (512)`,
  readOnly: "true or false, or absent (false)",
  create: "an object { sizeSectors }, or absent",
  "create.sizeSectors": `a safe integer from 0 to ${Number.MAX_SAFE_INTEGER}`
} as const

const isPowerOfTwo = Schema.makeFilter<number>(
  (n) => n >= 1 && n <= maxSectorSize && (n & (n - 1)) === 0,
  { expected: optionRules.sectorSize }
)

const SectorCount = Schema.Int.check(
  Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
).annotate({ description: optionRules["create.sizeSectors"] })

/**
 * The `create` option: make a new file of `sizeSectors` sectors.
 *
 * @since 0.1.0
 */
export const FileCreateOptions = Schema.Struct({
  /** The new file's size in sectors (it reads as zeros). */
  sizeSectors: SectorCount
}).annotate({ identifier: "FileCreateOptions", description: optionRules.create })

/**
 * The decoded `create` option.
 *
 * @since 0.1.0
 */
export type FileCreateOptions = typeof FileCreateOptions.Type

/**
 * How to open a file device:
 *
 * - `path`: the file or block-device node to open.
 * - `sectorSize`: bytes per sector, a power of two from 1 to 65536 (default
 *   512). The file's size must be a whole number of sectors.
 * - `readOnly`: open the file for reading only; every write-type operation
 *   then fails `IsReadOnly` (default false).
 * - `create`: `{ sizeSectors }`, create a new file of that many sectors
 *   (reading as zeros). Opening then fails `FileOpenError` (reason
 *   `AlreadyExists`) if the path exists, so existing data is never
 *   overwritten. Cannot be combined with `readOnly: true`.
 *
 * An absent option and `undefined` mean the default; `null` is not absent.
 * Keys it does not know are refused, so a misspelt `readonly: true` never
 * opens a file read-write.
 *
 * @since 0.1.0
 */
export const FileOptions = Schema.Struct({
  path: Schema.String.check(
    Schema.isNonEmpty(),
    Schema.makeFilter<string>((path) => !path.includes("\u0000"), { expected: optionRules.path })
  ).annotate({ description: optionRules.path }),
  sectorSize: Schema.optional(
    Schema.Int.check(isPowerOfTwo).annotate({ description: optionRules.sectorSize })
  ),
  readOnly: Schema.optional(Schema.Boolean.annotate({ description: optionRules.readOnly })),
  create: Schema.optional(FileCreateOptions)
}).annotate({ identifier: "FileOptions" })

/**
 * The decoded options: what `FileDevice.make` and `FileLive` take.
 *
 * @since 0.1.0
 */
export type FileOptions = typeof FileOptions.Type

const decodeExit = Schema.decodeUnknownExit(FileOptions, { onExcessProperty: "error", reportInput: true })

/** What a getter or trap threw, for the message; reading it may throw again, and a message may not be a string. */
const causeText = (cause: unknown): string => {
  try {
    const text: unknown = cause instanceof Error ? cause.message : cause
    return typeof text === "string" ? text : describeValue(text)
  } catch {
    return "a value that cannot be shown"
  }
}

/** The first leaf of a decoding issue, with the path of option names that leads to it. */
const firstLeaf = (
  issue: SchemaIssue.Issue,
  path: ReadonlyArray<PropertyKey>
): { readonly path: ReadonlyArray<PropertyKey>; readonly issue: SchemaIssue.Issue } => {
  if (issue._tag === "Pointer") return firstLeaf(issue.issue, [...path, ...issue.path])
  if (issue._tag === "Composite" && issue.issues.length > 0) return firstLeaf(issue.issues[0]!, path)
  // An optional option is a union with `undefined`: when only its other member was tried, look inside it.
  if (issue._tag === "AnyOf" && issue.issues.length === 1) return firstLeaf(issue.issues[0]!, path)
  return { path, issue }
}

const describeIssue = (operation: string, issue: SchemaIssue.Issue): string => {
  const leaf = firstLeaf(issue, [])
  const name = leaf.path.map(String).join(".")
  if (name === "") {
    const given = SchemaIssue.hasInput(leaf.issue) ? ` ${describeValue(leaf.issue.input)}` : ""
    return `${operation}: the options${given} are not an object { path, sectorSize?, readOnly?, create? }`
  }
  if (leaf.issue._tag === "UnexpectedKey") {
    return `${operation}: ${name} is not an option (the options are ${Object.keys(optionRules).filter((key) =>
      !key.includes(".")
    ).join(", ")})`
  }
  const rule = name in optionRules ? optionRules[name as keyof typeof optionRules] : "valid"
  if (leaf.issue._tag === "MissingKey") return `${operation}: option ${name} is missing; it must be ${rule}`
  const given = SchemaIssue.hasInput(leaf.issue) ? describeValue(leaf.issue.input) : "not valid"
  return `${operation}: option ${name} is ${given}; it must be ${rule}`
}

/**
 * Decodes `FileDevice.make`'s options, read once, without throwing whatever
 * the value is (a Proxy, a revoked Proxy, an object whose getters throw), and
 * checks the rules that join two options: the byte size of `create` and
 * `create` beside `readOnly: true`.
 *
 * @internal
 */
export const decode = (operation: string, input: unknown): FileOptions | InvalidRequest => {
  let exit: Exit.Exit<FileOptions, Schema.SchemaError>
  try {
    exit = decodeExit(input)
  } catch (cause) {
    return new InvalidRequest({ operation, message: `${operation}: the options cannot be read: ${causeText(cause)}` })
  }
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    return new InvalidRequest({
      operation,
      message: error._tag === "Some" ?
        describeIssue(operation, error.value.issue) :
        `${operation}: the options cannot be read: ${causeText(Cause.squash(exit.cause))}`
    })
  }
  const options = exit.value
  if (options.create !== undefined && options.readOnly === true) {
    return new InvalidRequest({
      operation,
      message: `${operation}: create and readOnly: true together would make a device that can only ever read zeros`
    })
  }
  return checkGeometry(operation, {
    sectorSize: options.sectorSize ?? defaultSectorSize,
    sizeSectors: options.create === undefined ? 0 : options.create.sizeSectors
  }) ?? options
}
