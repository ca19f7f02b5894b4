/**
 * The quick start does what it prints.
 */
import { program, QuickstartLive } from "@effect-block/examples"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

describe("quickstart", () => {
  it.effect("writes, snapshots, restores, resizes and reports an out-of-range read", () =>
    Effect.gen(function*() {
      const result = yield* Effect.provide(program, QuickstartLive)
      expect(result).toEqual({
        afterOverwrite: "overwritten",
        afterRestore: "hello, block device",
        afterRegrow: "",
        shrunk: 64,
        error: "InvalidRequest"
      })
    }))
})
