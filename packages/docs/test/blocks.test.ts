/**
 * Every `ts` block of README.md and docs/ runs: importing its module runs
 * its top level (a block ending in `Effect.runPromise(...)` runs that
 * program), and an exception or an unhandled rejection fails the test.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"

interface Block {
  readonly page: string
  readonly line: number
  readonly module: string
}

const index: ReadonlyArray<Block> = JSON.parse(
  readFileSync(new URL("../src/blocks/index.json", import.meta.url), "utf8")
)

describe("documentation code blocks", () => {
  it("the extractor found the blocks", () => {
    expect(index.length).toBeGreaterThan(0)
  })
  it.each(index.map((block) => [`${block.page}:${block.line}`, block] as const))("%s runs", async (_, block) => {
    const started = Date.now()
    await import(new URL(`../src/blocks/${block.module.slice(2).replace(/\.js$/, ".ts")}`, import.meta.url).href)
    // Give a block's `Effect.runPromise(...)` time to settle, so its rejection is reported here.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(Date.now() - started).toBeGreaterThanOrEqual(0)
  })
})
