/**
 * The two-device example does what it prints: a data disk and a journal disk
 * under the application's own keys, and a backup connected for one scope.
 */
import { TwoDevices } from "@effect-block/examples"
import { Registry } from "@effect-block/ramdisk"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

describe("two devices", () => {
  it.effect("journals a record, applies it to the data disk, and backs the data disk up", () =>
    Effect.gen(function*() {
      const result = yield* TwoDevices.program
      expect(result).toEqual({ data: "hello", journal: "set sector 7 = hello", journalSectors: 256, backupMatches: true })
      // The backup handle was disconnected when its scope closed; the device itself stays registered.
      expect(yield* (yield* Registry).names).toEqual(["backup", "data", "journal"])
    }).pipe(Effect.provide(TwoDevices.TwoDevicesLive)))

  it("runs as a plain Node program", () => {
    const script = fileURLToPath(new URL("../dist/two-devices.js", import.meta.url))
    const output = execFileSync(process.execPath, [script], { encoding: "utf8" })
    expect(output).toContain(`data sector 7: "hello"; journal record: "set sector 7 = hello"; backup matches: true`)
  })
})
