/**
 * The SQLite crash matrix (docs/sqlite-crash-testing.md): each journal mode
 * and synchronous level, with and without torn writes, plus a VFS whose
 * xSync does nothing, explored with the crash simulator's `explore` on a
 * small workload, and judged against what SQLite documents. The full
 * workload runs in `npm run bench`.
 */
import { type Allowance, type Configuration, nameOf, type Workload } from "@effect-block/sqlite"
import { type ExploreSummary, formatSummary } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exploreSqlite } from "./support/Explore.js"

/** Small enough for `npm test`; `npm run bench` runs the full 30-commit workload. */
const workload: Workload = { commits: 4, payloadBytes: 600, checkpointEvery: 2 }
const statesPerEpoch = 24

/** Runs the workload, then explores every epoch it recorded, judging each recovery against `allowance`. */
const exploreCell = (configuration: Configuration, torn: boolean, seed: number, allowance?: Allowance) =>
  exploreSqlite({
    configuration,
    workload,
    seed,
    limit: statesPerEpoch,
    torn,
    ...(allowance === undefined ? {} : { allowance })
  })

const cell = (
  journalMode: Configuration["journalMode"],
  synchronous: Configuration["synchronous"],
  sync: Configuration["sync"] = "flush"
): Configuration => ({ journalMode, synchronous, sync })

const expectNoViolations = (summary: ExploreSummary) => {
  expect(summary.explored).toBeGreaterThan(0)
  expect(summary.violationCount, formatSummary(summary)).toBe(0)
}

describe("crash matrix", () => {
  for (const torn of [false, true]) {
    const suffix = torn ? "with torn writes" : "without torn writes"

    it.effect.each([cell("DELETE", "OFF"), cell("WAL", "OFF")])(
      `catches synchronous=OFF: $journalMode+$synchronous ${suffix}`,
      (configuration) =>
        Effect.gen(function*() {
          const summary = yield* exploreCell(configuration, torn, 11, "nothing")
          expect(summary.violationCount, nameOf(configuration)).toBeGreaterThan(0)
        })
    )

    it.effect.each([cell("DELETE", "EXTRA", "skip"), cell("WAL", "FULL", "skip")])(
      `catches a VFS whose xSync does nothing: $journalMode+$synchronous ${suffix}`,
      (configuration) =>
        Effect.gen(function*() {
          const summary = yield* exploreCell(configuration, torn, 12, "nothing")
          expect(summary.violationCount, nameOf(configuration)).toBeGreaterThan(0)
        })
    )

    it.effect.each([cell("WAL", "FULL"), cell("WAL", "EXTRA"), cell("DELETE", "EXTRA")])(
      `passes every state: $journalMode+$synchronous ${suffix}`,
      (configuration) => Effect.map(exploreCell(configuration, torn, 13, "nothing"), expectNoViolations)
    )

    it.effect(`DELETE+FULL loses at most the last acknowledged commit, and does lose it ${suffix}`, () =>
      Effect.gen(function*() {
        expectNoViolations(yield* exploreCell(cell("DELETE", "FULL"), torn, 14))
        const strict = yield* exploreCell(cell("DELETE", "FULL"), torn, 14, "nothing")
        expect(strict.violationsByKind).toEqual({ LostCommits: strict.violationCount })
        expect(strict.violationCount).toBeGreaterThan(0)
      }))

    it.effect(`DELETE+NORMAL loses at most the last acknowledged commit ${suffix}`, () =>
      Effect.map(exploreCell(cell("DELETE", "NORMAL"), torn, 16), expectNoViolations))

    it.effect(`WAL+NORMAL loses only commits since the last checkpoint, never corrupts ${suffix}`, () =>
      Effect.gen(function*() {
        expectNoViolations(yield* exploreCell(cell("WAL", "NORMAL"), torn, 15))
        const strict = yield* exploreCell(cell("WAL", "NORMAL"), torn, 15, "nothing")
        expect(strict.violationsByKind).toEqual({ LostCommits: strict.violationCount })
        expect(strict.violationCount).toBeGreaterThan(0)
      }))
  }
})
