/**
 * The benchmark harness's pure parts: verdicts against targets, the tables,
 * the statistics, and the seeded offsets every contender shares.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import {
  atLeast,
  atMost,
  below,
  formatMarkdown,
  formatNumber,
  formatTable,
  median,
  prng,
  randomBlocks,
  ratio,
  type Row,
  throughput,
  verdict
} from "../src/harness.js"

describe("verdict", () => {
  it("is empty for a row without a target", () => {
    expect(verdict({ name: "x", value: 1, unit: "s" })).toBe("")
  })

  it("passes atLeast at and above the bound and misses below it", () => {
    expect(verdict({ name: "x", value: 0.5, unit: "×", target: atLeast(0.5) })).toBe("pass")
    expect(verdict({ name: "x", value: 0.49, unit: "×", target: atLeast(0.5) })).toBe("MISS")
  })

  it("passes atMost at the bound and misses above it", () => {
    expect(verdict({ name: "x", value: 1.1, unit: "×", target: atMost(1.1) })).toBe("pass")
    expect(verdict({ name: "x", value: 1.11, unit: "×", target: atMost(1.1) })).toBe("MISS")
  })

  it("misses below at the bound itself", () => {
    expect(verdict({ name: "x", value: 0.49, unit: "s", target: below(0.5) })).toBe("pass")
    expect(verdict({ name: "x", value: 0.5, unit: "s", target: below(0.5) })).toBe("MISS")
  })

  it("misses when the value is not a number (a ratio to zero)", () => {
    expect(verdict({ name: "x", value: Number.NaN, unit: "×", target: atMost(2) })).toBe("MISS")
  })
})

describe("ratio", () => {
  it("divides the value by the reference", () => {
    expect(ratio(3, 4)).toBe(0.75)
  })

  it("is NaN for a zero or infinite reference", () => {
    expect(ratio(3, 0)).toBeNaN()
    expect(ratio(3, Number.POSITIVE_INFINITY)).toBeNaN()
  })
})

describe("median", () => {
  it("is the middle value of an odd count, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3)
  })

  it("is the mean of the middle two of an even count", () => {
    expect(median([4, 1, 2, 10])).toBe(3)
  })

  it("is NaN for no values", () => {
    expect(median([])).toBeNaN()
  })
})

describe("throughput", () => {
  it("gives ops/s and MiB/s from a count, a transfer size and milliseconds", () => {
    const result = throughput(1024, 1024 * 1024, 500)
    expect(result.opsPerSecond).toBe(2048)
    expect(result.mibPerSecond).toBe(2048)
  })
})

describe("formatNumber", () => {
  it("groups thousands and rounds large values", () => {
    expect(formatNumber(1234567.8)).toBe("1,234,568")
  })

  it("keeps three significant digits for small values", () => {
    expect(formatNumber(0.012345)).toBe("0.0123")
    expect(formatNumber(12.345)).toBe("12.3")
  })
})

describe("formatTable", () => {
  const rows: ReadonlyArray<Row> = [
    { name: "4 KiB random read, ramdisk / raw", value: 0.62, unit: "×", target: atLeast(0.5) },
    { name: "seeks", value: 0.75, unit: "s", target: below(0.5) },
    { name: "info", value: 1500, unit: "ops/s" }
  ]

  it("prints a header, a rule and one line per row with its verdict", () => {
    const lines = formatTable(rows).trimEnd().split("\n")
    expect(lines).toHaveLength(5)
    expect(lines[0]).toMatch(/^benchmark\s+value\s+unit\s+target\s+result$/)
    expect(lines[2]).toMatch(/0\.620\s+×\s+≥ 0\.500\s+pass$/)
    expect(lines[3]).toMatch(/0\.750\s+s\s+< 0\.500\s+MISS$/)
    expect(lines[4]).toMatch(/1,500\s+ops\/s\s+—$/)
  })

  it("aligns every column: the value column ends at the same place on every line", () => {
    const lines = formatTable(rows).trimEnd().split("\n")
    const header = lines[0] ?? ""
    const valueEnd = header.indexOf("value") + "value".length
    for (const line of lines.slice(2)) {
      expect(line.slice(0, valueEnd)).toMatch(/\d$/)
    }
  })
})

describe("formatMarkdown", () => {
  it("prints a markdown table with right-aligned values and bold misses", () => {
    const text = formatMarkdown([
      { name: "a | b", value: 2, unit: "×", target: atMost(1) }
    ])
    expect(text.split("\n")).toEqual([
      "| benchmark | value | unit | target | result |",
      "|---|---:|---|---|---|",
      "| a \\| b | 2.00 | × | ≤ 1.00 | **MISS** |",
      ""
    ])
  })
})

describe("prng", () => {
  it("gives the same sequence for the same seed and another for another seed", () => {
    const take = (seed: number) => {
      const next = prng(seed)
      return Array.from({ length: 8 }, () => next())
    }
    expect(take(42)).toEqual(take(42))
    expect(take(42)).not.toEqual(take(43))
  })

  // A fixed property seed, so a failure replays exactly.
  it.prop("stays in [0, 1)", [Schema.Int], ([seed]) => {
    const next = prng(seed)
    for (let i = 0; i < 100; i++) {
      const value = next()
      expect(value).toBeGreaterThanOrEqual(0)
      expect(value).toBeLessThan(1)
    }
  }, { arbitrary: { seed: 20261124 } })
})

describe("randomBlocks", () => {
  it("gives whole block numbers inside [0, blocks), also past 2^32 blocks", () => {
    const blocks = 2 ** 38
    const values = randomBlocks(7, 1000, blocks)
    expect(values).toHaveLength(1000)
    for (const value of values) {
      expect(Number.isInteger(value)).toBe(true)
      expect(value).toBeGreaterThanOrEqual(0)
      expect(value).toBeLessThan(blocks)
    }
    // Values past 2^32 show the two-draw construction reaches the whole range.
    expect(values.some((value) => value >= 2 ** 32)).toBe(true)
  })

  it("is reproducible from its seed", () => {
    expect(randomBlocks(9, 50, 262144)).toEqual(randomBlocks(9, 50, 262144))
  })
})
