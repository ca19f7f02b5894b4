/**
 * The public surface of @effect-block/file, as a user's project sees it (plain Node, through the built
 * `dist/` and the package's `exports`; `npm test` builds first): the root names, nothing more, and no
 * internal module reachable by path.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))

const run = (script: string): string =>
  execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" }).trim()

describe("exports", () => {
  it("the root exports the device module, its layer, its options schemas and its open error, each once", () => {
    const names = JSON.parse(run(`const m = await import("@effect-block/file"); console.log(JSON.stringify(Object.keys(m).sort()))`))
    expect(names).toEqual(["FileCreateOptions", "FileDevice", "FileLive", "FileOpenError", "FileOpenReason", "FileOptions"])
    const device = JSON.parse(run(`const m = await import("@effect-block/file"); console.log(JSON.stringify(Object.keys(m.FileDevice)))`))
    expect(device).toEqual(["make"])
  })

  it("internal modules cannot be imported by path", () => {
    for (const path of ["dist/internal/Open.js", "dist/FileOptions.js", "src/internal/Transfer.ts", "internal/RangeLock"]) {
      const outcome = run(
        `try { await import("@effect-block/file/${path}"); console.log("imported") } catch (e) { console.log(e.code) }`
      )
      expect(outcome, path).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
    }
  })
})
