/**
 * The mapped-page index against the simplest model there is: a set of page
 * numbers. Histories mix marking, clearing and new epochs (snapshots), and
 * every earlier index value must stay as it was (persistence).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { Epoch } from "../src/internal/Epoch.js"
import * as MappedIndex from "../src/internal/MappedIndex.js"

const Page = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3000 }))
const Op = Schema.Tuple([
  Schema.Literals(["set", "fill", "clear", "epoch"]),
  Page,
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1100 }))
])
const History = Schema.Array(Op).check(Schema.isMaxLength(120))
const capacity = 4096

/** For every page, the model's next mapped and next unmapped page, in one backward pass. */
const modelAnswers = (model: ReadonlySet<number>) => {
  const nextMapped = new Array<number>(capacity)
  const nextUnmapped = new Array<number>(capacity)
  let mapped = -1
  let unmapped = capacity
  for (let page = capacity - 1; page >= 0; page--) {
    if (model.has(page)) mapped = page
    else unmapped = page
    nextMapped[page] = mapped
    nextUnmapped[page] = unmapped
  }
  return { nextMapped, nextUnmapped }
}

/** Replays a history, returning every intermediate index with the model it should match. */
const replay = (history: ReadonlyArray<readonly ["set" | "fill" | "clear" | "epoch", number, number]>) => {
  let epoch = new Epoch()
  let index = MappedIndex.reserve(MappedIndex.empty, capacity, epoch)
  let model = new Set<number>()
  const versions: Array<{ index: MappedIndex.MappedIndex; model: Set<number> }> = []
  for (const [op, page, length] of history) {
    if (op === "set") {
      index = MappedIndex.set(index, page, epoch)
      model = new Set(model).add(page)
    } else if (op === "fill") {
      // Many consecutive pages: leaves and inner nodes become full.
      model = new Set(model)
      for (let p = page; p < Math.min(capacity, page + length); p++) {
        index = MappedIndex.set(index, p, epoch)
        model.add(p)
      }
    } else if (op === "clear") {
      index = MappedIndex.clear(index, page, page + length, epoch)
      model = new Set([...model].filter((p) => p < page || p >= page + length))
    } else {
      epoch = new Epoch()
      versions.push({ index, model })
    }
  }
  versions.push({ index, model })
  return versions
}

const agrees = (index: MappedIndex.MappedIndex, model: ReadonlySet<number>) => {
  const expected = modelAnswers(model)
  for (let page = 0; page < capacity; page++) {
    if (MappedIndex.nextMapped(index, page) !== expected.nextMapped[page]) {
      expect(MappedIndex.nextMapped(index, page), `nextMapped(${page})`).toBe(expected.nextMapped[page])
    }
    if (MappedIndex.nextUnmapped(index, page) !== expected.nextUnmapped[page]) {
      expect(MappedIndex.nextUnmapped(index, page), `nextUnmapped(${page})`).toBe(expected.nextUnmapped[page])
    }
  }
}

describe("MappedIndex.nextMapped and nextUnmapped", () => {
  it.prop("agree with a set of pages after any history of set and clear", [History], ([history]) => {
    const versions = replay(history)
    agrees(versions[versions.length - 1]!.index, versions[versions.length - 1]!.model)
  })

  it.prop("leave every value taken before a new epoch unchanged (persistence)", [History], ([history]) => {
    for (const { index, model } of replay(history)) agrees(index, model)
  })

  it("see a run that fills whole leaves and inner nodes (mapped 0..63 of 512: next unmapped is 64)", () => {
    const epoch = new Epoch()
    let index = MappedIndex.reserve(MappedIndex.empty, 512, epoch)
    for (let page = 0; page < 64; page++) index = MappedIndex.set(index, page, epoch)
    expect(MappedIndex.nextUnmapped(index, 0)).toBe(64)
    expect(MappedIndex.nextUnmapped(index, 31)).toBe(64)
    index = MappedIndex.clear(index, 40, 41, epoch)
    expect(MappedIndex.nextUnmapped(index, 0)).toBe(40)
  })

  it("find pages across the whole 2^38-page range of a 1 PiB device", () => {
    const epoch = new Epoch()
    const pages = 2 ** 38
    let index = MappedIndex.reserve(MappedIndex.empty, pages, epoch)
    index = MappedIndex.set(index, pages - 1, epoch)
    index = MappedIndex.set(index, 12345678901, epoch)
    expect(MappedIndex.nextMapped(index, 0)).toBe(12345678901)
    expect(MappedIndex.nextMapped(index, 12345678902)).toBe(pages - 1)
    expect(MappedIndex.nextUnmapped(index, 12345678901)).toBe(12345678902)
    expect(MappedIndex.nextUnmapped(index, pages - 1)).toBe(pages)
  })
})

describe("MappedIndex.reserve", () => {
  it("keeps the pages already mapped when the trie grows", () => {
    const epoch = new Epoch()
    let index = MappedIndex.reserve(MappedIndex.empty, 32, epoch)
    for (let page = 0; page < 32; page++) index = MappedIndex.set(index, page, epoch)
    const grown = MappedIndex.reserve(index, 100_000, epoch)
    expect(MappedIndex.nextUnmapped(grown, 0)).toBe(32)
    expect(MappedIndex.nextMapped(grown, 5)).toBe(5)
    expect(MappedIndex.nextMapped(grown, 32)).toBe(-1)
  })
})
