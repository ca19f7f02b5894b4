/**
 * Every package is importable by its name the way a user's project imports
 * it: plain Node, no "source" condition, so through the built `dist/` files
 * and their type declarations. `npm test` builds before it runs the tests.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))

const packages = {
  "@effect-block/device": ["Connection", "Disconnected", "Unimplemented", "formatError"],
  "@effect-block/block": ["BlockDevice", "Info", "InvalidRequest", "IOError", "IsReadOnly", "isBlockDevice", "copy"],
  "@effect-block/block/Implementer": ["make", "makeUnsafe", "checkGeometry", "subBuffers"],
  "@effect-block/ramdisk": ["Ramdisk", "RamdiskLive", "Registry", "RegistryLive"],
  "@effect-block/file": ["FileLive"],
  "@effect-block/testing": ["conformanceRules", "runModel", "FaultInjectorLive", "CrashSimulatorLive"]
} as const

/** Names only device implementers need: they live behind `@effect-block/block/Implementer`, not the root. */
const implementerOnly = ["make", "makeUnsafe", "checkGeometry", "checkRange", "subBuffers", "workers", "runAt"]

describe("packaging", () => {
  it("@effect-block/block's root entry exports no implementer-only name, and hides its internal modules", () => {
    const script = `const m = await import("@effect-block/block"); console.log(JSON.stringify(Object.keys(m)));
      try { await import("@effect-block/block/internal/Support.js"); console.log("reachable") } catch { console.log("hidden") }`
    const [names, internal] = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" })
      .trim().split("\n")
    for (const name of implementerOnly) expect(JSON.parse(names!)).not.toContain(name)
    expect(internal).toBe("hidden")
  })

  for (const [name, exports] of Object.entries(packages)) {
    it(`${name} is importable by name from the repository root, with its exports`, () => {
      const script = `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m)))`
      const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" })
      const names: Array<string> = JSON.parse(output)
      for (const exported of exports) expect(names).toContain(exported)
    })

    it(`${name} ships type declarations`, () => {
      const manifest = JSON.parse(
        readFileSync(`${root}/packages/${name.split("/")[1]}/package.json`, "utf8")
      ) as { exports: { ".": { types: string } } }
      expect(existsSync(`${root}/packages/${name.split("/")[1]}/${manifest.exports["."].types}`)).toBe(true)
    })
  }
})
