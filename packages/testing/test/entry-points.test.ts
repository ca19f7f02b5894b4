/**
 * The package's two entry points: the root, `@effect-block/testing`, is
 * plain Effect code that runs without vitest installed; the vitest
 * registrations are `@effect-block/testing/vitest`, the only entry that
 * needs it.
 *
 * Shown with a plain Node process (no "source" condition: the built `dist/`
 * that `npm test` compiles first) in a temporary directory whose
 * `node_modules` holds copies of the effect-block packages and `effect`, and
 * neither `vitest` nor `@effect/vitest` (copies, not symlinks: Node resolves
 * a symlinked package from its real path, where vitest is installed).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))

/** The workspace packages the script needs: testing and what it runs on, and the ramdisk the app uses as its disk. */
const packages = ["device", "block", "ramdisk", "testing"]

/** A directory with its own node_modules, holding no vitest; removed by the caller. */
const isolatedProject = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "effect-block-no-vitest-"))
  for (const name of packages) {
    const target = join(dir, "node_modules", "@effect-block", name)
    mkdirSync(target, { recursive: true })
    cpSync(join(root, "packages", name, "package.json"), join(target, "package.json"))
    cpSync(join(root, "packages", name, "dist"), join(target, "dist"), { recursive: true })
  }
  // `effect` does not depend on vitest, so its real path may stay where it is installed.
  symlinkSync(join(root, "node_modules", "effect"), join(dir, "node_modules", "effect"), "dir")
  return dir
}

/** An app's crash test, written against the root entry only. */
const workload = `
import { BlockDevice } from "@effect-block/block"
import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
import { conformanceRules, CrashSimulator, CrashSimulatorLive, FaultInjectorLive, runRule } from "@effect-block/testing"
import { Effect, Layer } from "effect"

const missing = async (specifier) => {
  try { await import(specifier); return false } catch (error) { return error.code === "ERR_MODULE_NOT_FOUND" }
}

const Disk = RamdiskLive({ name: "app", sizeSectors: 64 }).pipe(Layer.provide(RegistryLive))
const sector = (byte) => new Uint8Array(512).fill(byte)

const crashTest = Effect.gen(function*() {
  const device = yield* BlockDevice
  const simulator = yield* CrashSimulator
  yield* device.write(0, sector(1))
  yield* device.flush
  yield* device.write(1, sector(2))
  yield* device.write(2, sector(3))
  const states = yield* simulator.states()
  const survivors = []
  for (const state of states) {
    yield* simulator.crash(state)
    const buffer = new Uint8Array(3 * 512)
    yield* device.read(0, buffer)
    survivors.push([buffer[0], buffer[512], buffer[1024]].join(","))
  }
  return survivors.sort()
}).pipe(Effect.provide(CrashSimulatorLive({ seed: 1 }).pipe(Layer.provide(Disk))))

const faultTest = Effect.gen(function*() {
  const device = yield* BlockDevice
  return yield* Effect.flip(device.read(0, sector(0)))
}).pipe(Effect.provide(FaultInjectorLive({ readErrorRate: 1 }).pipe(Layer.provide(Disk))))

const rule = conformanceRules().find((rule) => rule.operation === "write")
const states = await Effect.runPromise(crashTest)
const fault = await Effect.runPromise(faultTest)
await Effect.runPromise(runRule(rule, Disk))
console.log(JSON.stringify({
  states,
  fault: fault._tag,
  rule: rule.rule,
  vitestMissing: await missing("vitest"),
  effectVitestMissing: await missing("@effect/vitest"),
  vitestEntryNeedsVitest: await missing("@effect-block/testing/vitest")
}))
`

describe("entry points", () => {
  it("the root entry runs a crash-simulated and a faulty workload, and a conformance rule, with vitest absent", () => {
    const dir = isolatedProject()
    try {
      writeFileSync(join(dir, "workload.mjs"), workload)
      const output = execFileSync(process.execPath, ["workload.mjs"], { cwd: dir, encoding: "utf8", timeout: 60_000 })
      const result = JSON.parse(output) as Record<string, unknown>
      expect(result).toEqual({
        // Sector 0 was flushed; the two pending writes each landed or not.
        states: ["1,0,0", "1,0,3", "1,2,0", "1,2,3"],
        fault: "IOError",
        rule: "written data reads back",
        vitestMissing: true,
        effectVitestMissing: true,
        // The vitest entry is the one that needs vitest: without it, it cannot load.
        vitestEntryNeedsVitest: true
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the built modules import only effect and the package's run-time dependencies; vitest only from the vitest entry", () => {
    const manifest = JSON.parse(readFileSync(join(root, "packages/testing/package.json"), "utf8")) as {
      readonly dependencies: Record<string, string>
      readonly peerDependencies: Record<string, string>
    }
    const dist = join(root, "packages/testing/dist")
    const modules = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".js"))
    expect(modules).toContain("vitest.js")
    const imported = new Map<string, Set<string>>()
    for (const module of modules) {
      const text = readFileSync(join(dist, module), "utf8")
      for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'\n]*?from\s*["']([^"'.][^"']*)["']|import\(\s*["']([^"'.][^"']*)["']\s*\)/g)) {
        const specifier = match[1] ?? match[2] ?? ""
        const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!
        if (name.startsWith("node:")) continue
        imported.set(name, (imported.get(name) ?? new Set()).add(module))
      }
    }
    const allowed = new Set(Object.keys(manifest.dependencies))
    const peers = new Set(Object.keys(manifest.peerDependencies))
    const problems: Array<string> = []
    for (const [name, by] of imported) {
      if (allowed.has(name)) continue
      if (peers.has(name) && [...by].every((module) => module === "vitest.js")) continue
      problems.push(`${name}, imported by ${[...by].join(", ")}`)
    }
    expect(problems).toEqual([])
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["@effect-block/block", "effect"])
    expect(imported.get("@effect/vitest")).toEqual(new Set(["vitest.js"]))
  })
})
