/**
 * Damaged sectors (a torn write leaving its tear-point sector as garbage or
 * zeros) against the device characteristics the VFS reports: with the honest
 * report (none) WAL+FULL survives every state; a false claim of power-safe
 * overwrite lets SQLite write a new WAL frame into the sector holding the end
 * of the last synced one, and damage there loses acknowledged commits.
 */
import { type Configuration, type Workload } from "@effect-block/sqlite"
import { formatSummary } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exploreSqlite } from "./support/Explore.js"

const workload: Workload = { commits: 4, payloadBytes: 600, checkpointEvery: 10 }

const exploreDamaged = (configuration: Configuration, damage: "zeros" | "garbage") =>
  exploreSqlite({ configuration, workload, seed: 9, limit: 32, torn: true, damage, allowance: "nothing" })

describe("damaged torn writes", () => {
  it.effect.each(["garbage", "zeros"] as const)("WAL+FULL, claiming nothing, survives every state (%s)", (damage) =>
    Effect.gen(function*() {
      const summary = yield* exploreDamaged({ journalMode: "WAL", synchronous: "FULL", sync: "flush" }, damage)
      expect(summary.explored).toBeGreaterThan(0)
      expect(summary.violationCount, formatSummary(summary)).toBe(0)
    }))

  it.effect("catch a false claim of power-safe overwrite under WAL+FULL", () =>
    Effect.gen(function*() {
      const summary = yield* exploreDamaged(
        { journalMode: "WAL", synchronous: "FULL", sync: "flush", falseClaims: ["powersafe-overwrite"] },
        "garbage"
      )
      expect(summary.violationsByKind).toEqual({ LostCommits: summary.violationCount })
      expect(summary.violationCount).toBeGreaterThan(0)
    }))
})
