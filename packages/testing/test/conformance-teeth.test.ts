/**
 * The conformance suite has teeth: a correct device passes every rule, and
 * each deliberately broken device fails the rule written to catch it.
 */
import type { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { type ConformanceRule, conformanceRules, type ConformanceViolation, runRule } from "@effect-block/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { type FlatControls, flatControls, type Flaws, flatDevice } from "./broken-devices.js"

const rules = conformanceRules({ seed: 7, runs: 20, controls: flatControls })

const ruleNamed = (operation: string, start: string): ConformanceRule<FlatControls> => {
  const found = rules.find((rule) => rule.operation === operation && rule.rule.startsWith(start))
  if (found === undefined) throw new Error(`no ${operation} rule starting "${start}"`)
  return found
}

/** The violations of every rule, in order; empty for a conforming device. */
const violations = (
  layer: Layer.Layer<BlockDevice | FlatControls>,
  list: ReadonlyArray<ConformanceRule<FlatControls>> = rules
) =>
  Effect.forEach(list, (rule) =>
    Effect.map(Effect.exit(runRule(rule, layer)), (exit) =>
      Exit.isFailure(exit) ? [`${rule.operation}: ${rule.rule}`] : [])).pipe(Effect.map((lists) => lists.flat()))

/** Runs `rule` against `layer`, expecting it to fail, and returns the violation. */
const expectCaught = (rule: ConformanceRule<FlatControls>, layer: Layer.Layer<BlockDevice | FlatControls>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(runRule(rule, layer))
    if (Exit.isSuccess(exit)) return expect.fail(`the rule "${rule.operation}: ${rule.rule}" passed on a broken device`)
    const error = yield* Effect.flip(runRule(rule, layer))
    expect(error._tag).toBe("ConformanceViolation")
    expect(error.operation).toBe(rule.operation)
    expect(error.rule).toBe(rule.rule)
    return error satisfies ConformanceViolation
  })

const brokenDevices: ReadonlyArray<{
  readonly flaw: string
  readonly flaws: Flaws
  readonly caughtBy: readonly [string, string]
  readonly message: RegExp
}> = [
  {
    flaw: "keeps the caller's buffer instead of copying it",
    flaws: { keepsBuffers: true },
    caughtBy: ["write", "copies the data in"],
    message: /sector 4 byte 0 is 60/
  },
  {
    flaw: "skips the bounds check",
    flaws: { skipsBoundsCheck: true },
    caughtBy: ["read", "rejects ranges past the end"],
    message: /succeeded, expected InvalidRequest/
  },
  {
    flaw: "skips the bounds check (writes)",
    flaws: { skipsBoundsCheck: true },
    caughtBy: ["write", "rejects ranges past the end"],
    message: /succeeded, expected InvalidRequest/
  },
  {
    flaw: "skips validation of sector numbers",
    flaws: { skipsBoundsCheck: true },
    caughtBy: ["write", "rejects a sectorStart that is not a sector number"],
    message: /expected InvalidRequest/
  },
  {
    flaw: "serves stale data after a shrink and a grow",
    flaws: { staleAfterResize: true },
    caughtBy: ["resize", "shrinking then growing reads zeros"],
    message: /the sectors dropped and regrown: sector 10/
  },
  {
    flaw: "has a seek that skips data",
    flaws: { seekSkipsData: true },
    caughtBy: ["seekMapped", "returns s in [from, size] with every sector in [from, s) reading as zero, around"],
    message: /skipping sector/
  },
  {
    flaw: "has a seek that skips data (found by random histories)",
    flaws: { seekSkipsData: true },
    caughtBy: ["seekMapped", "returns s in [from, size] with every sector in [from, s) reading as zero, over random"],
    message: /Seed: 7/
  },
  {
    flaw: "has a disconnect that does nothing",
    flaws: { disconnectDoesNothing: true },
    caughtBy: ["disconnect", "afterwards every operation"],
    message: /after disconnect: succeeded, expected Disconnected/
  },
  {
    flaw: "has vectored operations that keep working after disconnect",
    flaws: { vectoredIgnoresDisconnect: true },
    caughtBy: ["disconnect", "afterwards every operation"],
    message: /readVectored\(.*\) after disconnect: succeeded, expected Disconnected/
  },
  {
    flaw: "makes a half-applied write visible to another fiber",
    flaws: { yieldsBetweenSectors: true },
    caughtBy: ["concurrency", "a reader never observes half"],
    message: /a read concurrent with writes of sectors \[16, 24\) saw writers/
  },
  {
    flaw: "zeroes the rest of each page a write covers in part (an overlay over a coarser upper device)",
    flaws: { clobbersPage: true },
    caughtBy: ["write", "changes only the sectors it covers"],
    message: /after write\(1, 1 sectors\), the first sectors: sector 0 byte 0/
  },
  {
    flaw: "answers InvalidRequest (from a size of 0) once the device beneath is destroyed",
    flaws: { invalidAfterDestroy: true },
    caughtBy: ["destroy", "after the device beneath is destroyed, every operation"],
    message: /read\(0, 1 sector\) after destroy: failed InvalidRequest.*expected Disconnected/
  },
  {
    flaw: "has a read-only handle that writes",
    flaws: { readOnlyWrites: true },
    caughtBy: ["read-only handle", "write, discard and resize fail IsReadOnly"],
    message: /write\(0, 2 sectors\) on a read-only handle: succeeded, expected IsReadOnly/
  },
  {
    flaw: "keeps a size per handle, so a resize is seen by one handle only",
    flaws: { sizePerHandle: true },
    caughtBy: ["handles", "a resize through one handle is seen by every handle"],
    message: /after resize\(32\) the other handle's info says 128 sectors/
  },
  {
    flaw: "puts the table back after a read, losing writes made through another handle meanwhile",
    flaws: { readsRestoreOld: true },
    caughtBy: ["handles", "reads, seeks, info and flushes through one handle never change"],
    message: /the other handle's writes, read through it: sector \d+ byte 0 is 0/
  },
  {
    flaw: "disconnects the device beneath when it is disconnected",
    flaws: { disconnectsBeneath: true },
    caughtBy: ["wrapper", "disconnecting the wrapper leaves the device beneath connected"],
    message: /unexpected Disconnected/
  },
  {
    flaw: "drops writes past sector 48",
    flaws: { dropsWritesFrom: 48 },
    caughtBy: ["write", "writes the last sector"],
    message: /the last sectors: sector 126/
  }
]

describe("the conformance suite has teeth", () => {
  const geometries: ReadonlyArray<readonly [string, { readonly sectorSize?: number; readonly sizeSectors?: number }]> = [
    ["over a sector table", {}],
    ["with 4096-byte sectors", { sectorSize: 4096, sizeSectors: 64 }],
    ["with 1-byte sectors", { sectorSize: 1, sizeSectors: 200 }]
  ]

  it.effect.each(geometries)("a correct device %s passes every rule", ([, geometry]) =>
    Effect.gen(function*() {
      expect(yield* violations(flatDevice({}, geometry))).toEqual([])
    }))

  it.effect("each test builds the layer afresh: a write in one rule is not seen by the next", () =>
    Effect.gen(function*() {
      const layer = RamdiskLive({ name: "fresh", sizeSectors: 128 }).pipe(Layer.provide(RegistryLive))
      const plain = conformanceRules()
      const named = (operation: string, name: string) => plain.find((rule) => rule.operation === operation && rule.rule === name)!
      yield* runRule(named("write", "written data reads back"), layer)
      yield* runRule(named("read", "never-written sectors read as zeros"), layer)
    }))

  it.effect("a device too small for the suite fails with a message saying so", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(runRule(ruleNamed("read", "never-written"), flatDevice({}, { sizeSectors: 8 })))
      expect(error.message).toMatch(/at least 64 sectors/)
    }))

  for (const { caughtBy, flaw, flaws, message } of brokenDevices) {
    const rule = ruleNamed(caughtBy[0], caughtBy[1])
    it.effect(`a device that ${flaw} fails "${rule.operation}: ${rule.rule}"`, () =>
      Effect.gen(function*() {
        const error = yield* expectCaught(rule, flatDevice(flaws))
        expect(error.message).toMatch(message)
      }))
  }

  it.effect("a device claiming it cannot discard, resize or seek fails those rules when it can", () =>
    Effect.gen(function*() {
      const limited = conformanceRules({ discard: false, resize: false, seek: false, seed: 1, runs: 5, controls: flatControls })
      const failed = yield* violations(flatDevice(), limited)
      expect(failed).toEqual([
        "discard: an unsupported discard fails Unimplemented and changes nothing",
        "resize: an unsupported resize fails Unimplemented and changes nothing",
        "seekMapped: a device that cannot seek reports everything mapped: seekMapped(x) = x",
        "seekMapped: keeps the defaults of a device that cannot seek over random histories of writes",
        "seekUnmapped: a device that cannot seek reports everything mapped: seekUnmapped(x) = size",
        "seekUnmapped: keeps the defaults of a device that cannot seek over random histories of writes"
      ])
    }))

  it.effect("malformed options become one failing rule that names the option", () =>
    Effect.gen(function*() {
      const list = conformanceRules({ seed: "7" } as never)
      expect(list.map((rule) => `${rule.operation}: ${rule.rule}`)).toEqual(["options: the conformance options are valid"])
      const error = yield* Effect.flip(runRule(list[0]!, flatDevice()))
      expect(error.message).toContain("option seed \"7\" is invalid")
      const control = conformanceRules({ controls: { destroy: "now" } } as never)
      expect((yield* Effect.flip(runRule(control[0]!, flatDevice()))).message).toContain("option controls.destroy \"now\" is invalid: expected an Effect")
    }))
})
