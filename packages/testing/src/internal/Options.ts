/**
 * Decoding of the testing kit's options objects (fault injector, model test,
 * conformance suite) with their exported `effect/Schema` structs: unknown
 * option names are refused, `null` is never "absent", and whatever goes
 * wrong, a throwing getter or a revoked Proxy included, is one
 * `InvalidRequest` naming the option, its value and what it should be.
 *
 * @since 0.2.0
 * @internal
 */
import { InvalidRequest } from "@effect-block/block"
import { describeValue } from "@effect-block/block/Implementer"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

/** `latency.read`, `badSectors[0].start`: a path as an option name. */
const optionName = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`).join("")

/** The first problem in an issue tree, with the path that leads to it. */
const firstProblem = (
  issue: SchemaIssue.Issue,
  path: ReadonlyArray<PropertyKey>
): { readonly path: ReadonlyArray<PropertyKey>; readonly issue: SchemaIssue.Issue } => {
  switch (issue._tag) {
    case "Pointer":
      return firstProblem(issue.issue, [...path, ...issue.path])
    case "Composite":
      return firstProblem(issue.issues[0], path)
    case "AnyOf":
      return issue.issues[0] === undefined ? { path, issue } : firstProblem(issue.issues[0], path)
    default:
      return { path, issue }
  }
}

const formatIssue = SchemaIssue.makeFormatterDefault()

/** The schema's own words for one problem: its first line, without the value (named separately, safely). */
const schemaWords = (issue: SchemaIssue.Issue): string =>
  (formatIssue(issue).split("\n")[0] ?? "").replace(/, got .*$/, "").replace(/^Expected /, "expected ")

/** One line naming the bad option, its value, and what it should be. */
const describeIssue = (issue: SchemaIssue.Issue, known: ReadonlyArray<string>): string => {
  const problem = firstProblem(issue, [])
  const name = optionName(problem.path)
  if (problem.issue._tag === "UnexpectedKey") {
    return `${name} is not an option${problem.path.length === 1 ? ` (the options are ${known.join(", ")})` : ""}`
  }
  const value = SchemaIssue.hasInput(problem.issue) ? ` ${describeValue(problem.issue.input)}` : ""
  return `${name === "" ? "options" : `option ${name}`}${value} is invalid: ${schemaWords(problem.issue)}`
}

/**
 * A decoder for the options struct `schema`, for error messages starting
 * `operation: `. It returns the decoded options (`undefined` decodes as no
 * options) or the `InvalidRequest` naming the first bad one, and never
 * throws.
 */
export const decodeOptions = <S extends Schema.ConstraintDecoder<unknown> & { readonly fields: object }>(
  schema: S,
  operation: string
) => {
  const decode = Schema.decodeUnknownExit(schema)
  const known = Object.keys(schema.fields)
  const invalid = (message: string) => new InvalidRequest({ operation, message: `${operation}: ${message}` })
  return (options: unknown): S["Type"] | InvalidRequest => {
    let exit: Exit.Exit<S["Type"], Schema.SchemaError>
    try {
      exit = decode(options === undefined ? {} : options, { onExcessProperty: "error", reportInput: true })
    } catch (thrown) {
      return invalid(`reading the options threw: ${describeValue(thrown)}`)
    }
    if (Exit.isSuccess(exit)) return exit.value
    const reason = exit.cause.reasons[0]
    if (reason !== undefined && reason._tag === "Fail") {
      try {
        return invalid(describeIssue(reason.error.issue, known))
      } catch {
        return invalid("the options are malformed")
      }
    }
    return invalid(`reading the options threw: ${reason?._tag === "Die" ? describeValue(reason.defect) : "interrupted"}`)
  }
}
