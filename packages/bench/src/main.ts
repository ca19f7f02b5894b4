/**
 * `npm run bench`: runs every benchmark suite, one after another in this
 * process, and prints one table (benchmark, value, unit, target, result) to
 * stdout. Progress notes go to stderr.
 *
 * Options:
 *   --markdown <file>   also write the table as markdown to <file>
 *   --only <suite>      run only the named suite (repeatable)
 *   --quick             shrink every workload: checks the benchmark runs, measures nothing
 *
 * A suite is a module exporting a `Suite` (a name and an Effect returning
 * rows); add one by importing it into `suites` below. Missed targets are
 * reported in the table, not through the exit code; the exit code is 1 only
 * when a suite fails to run or the arguments are wrong.
 */
import { writeFileSync } from "node:fs"
import { parseArgs } from "node:util"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { canCollectGarbage, formatMarkdown, formatTable, progress, Quick, type Row, type Suite } from "./harness.js"
import * as Combinators from "./combinators.js"
import * as Crash from "./crash.js"
import * as CrashExplore from "./crashExplore.js"
import * as File from "./file.js"
import * as Floor from "./floor.js"
import * as Memory from "./memory.js"
import * as NbdClient from "./nbdClient.js"
import * as NbdServer from "./nbdServer.js"
import * as Ramdisk from "./ramdisk.js"
import * as Sqlite from "./sqlite.js"

const suites: ReadonlyArray<Suite> = [
  Ramdisk.suite,
  Floor.suite,
  Memory.suite,
  Crash.suite,
  CrashExplore.suite,
  Combinators.suite,
  File.suite,
  Sqlite.suite,
  NbdClient.suite,
  NbdServer.suite
]

const usage = "usage: node --expose-gc packages/bench/dist/main.js [--markdown <file>] [--only <suite>]... [--quick]"

const parseOptions = () => {
  try {
    const { values } = parseArgs({
      options: {
        markdown: { type: "string" },
        only: { type: "string", multiple: true },
        quick: { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      },
      allowPositionals: false
    })
    return values
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`)
    return undefined
  }
}

const main = Effect.gen(function*() {
  const options = parseOptions()
  if (options === undefined) return 1
  if (options.help) {
    process.stdout.write(`${usage}\nsuites: ${suites.map((suite) => suite.name).join(", ")}\n`)
    return 0
  }
  const only = options.only ?? []
  const unknown = only.filter((name) => !suites.some((suite) => suite.name === name))
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(", ")}; known: ${suites.map((suite) => suite.name).join(", ")}\n`)
    return 1
  }
  if (!canCollectGarbage()) {
    yield* progress("warning: run node with --expose-gc; memory rows and timings are noisier without it")
  }
  const selected = only.length === 0 ? suites : suites.filter((suite) => only.includes(suite.name))
  const rows: Array<Row> = []
  let failed = false
  for (const suite of selected) {
    yield* progress(`suite ${suite.name}`)
    const started = performance.now()
    const exit = yield* Effect.exit(Effect.provideService(suite.run, Quick, options.quick))
    if (Exit.isSuccess(exit)) {
      rows.push(...exit.value)
      yield* progress(`suite ${suite.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    } else {
      failed = true
      process.stderr.write(`suite ${suite.name} failed:\n${Cause.pretty(exit.cause)}\n`)
    }
  }
  process.stdout.write(formatTable(rows))
  if (options.markdown !== undefined) {
    writeFileSync(options.markdown, formatMarkdown(rows))
    yield* progress(`markdown table written to ${options.markdown}`)
  }
  return failed ? 1 : 0
})

Effect.runPromise(main).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exitCode = 1
  }
)
