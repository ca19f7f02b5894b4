/**
 * The swap example: the same app code on both devices, and a stream copy.
 */
import { Swap } from "@effect-block/examples"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

describe("swap example", () => {
  it.live("runs the same app code on a ramdisk and on a file, and streams an image through a ramdisk", () =>
    Effect.gen(function*() {
      const result = yield* Swap.program
      expect(result.onRamdisk).toEqual(["first", "second", "third"])
      expect(result.onFile).toEqual(result.onRamdisk)
      expect(result.sectors).toBe(2048)
      expect(result.equal).toBe(true)
    }))
})
