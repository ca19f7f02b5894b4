/**
 * The chunk index against the simplest model there is: a map from chunk
 * number to "full or not". Histories mix marking, filling, clearing and new
 * epochs (snapshots), and every earlier index value must stay as it was
 * (persistence). The node count the index keeps (for `stats`) must match
 * the nodes really reachable.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { Epoch } from "../src/internal/Epoch.js"
import * as MappedIndex from "../src/internal/MappedIndex.js"

const Key = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3000 }))
const Op = Schema.Tuple([
  Schema.Literals(["present", "full", "fill", "clear", "epoch"]),
  Key,
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1100 }))
])
const History = Schema.Array(Op).check(Schema.isMaxLength(120))
const capacity = 4096

type Model = ReadonlyMap<number, boolean>

/** For every key, the model's next present key and next key that is absent or not full, in one backward pass. */
const modelAnswers = (model: Model) => {
  const nextAny = new Array<number>(capacity)
  const nextNotFull = new Array<number>(capacity)
  let present = -1
  let notFull = capacity
  for (let key = capacity - 1; key >= 0; key--) {
    if (model.has(key)) present = key
    if (model.get(key) !== true) notFull = key
    nextAny[key] = present
    nextNotFull[key] = notFull
  }
  return { nextAny, nextNotFull }
}

/** Replays a history, returning every intermediate index with the model it should match. */
const replay = (history: ReadonlyArray<readonly ["present" | "full" | "fill" | "clear" | "epoch", number, number]>) => {
  let epoch = new Epoch()
  let index = MappedIndex.reserve(MappedIndex.empty, capacity, epoch)
  let model = new Map<number, boolean>()
  const versions: Array<{ index: MappedIndex.MappedIndex; model: Model }> = []
  for (const [op, key, length] of history) {
    if (op === "present" || op === "full") {
      index = MappedIndex.set(index, key, op === "full", epoch)
      model = new Map(model).set(key, op === "full")
    } else if (op === "fill") {
      // Many consecutive full keys: leaves and inner nodes become full.
      model = new Map(model)
      for (let k = key; k < Math.min(capacity, key + length); k++) {
        index = MappedIndex.set(index, k, true, epoch)
        model.set(k, true)
      }
    } else if (op === "clear") {
      index = MappedIndex.clear(index, key, key + length, epoch)
      model = new Map([...model].filter(([k]) => k < key || k >= key + length))
    } else {
      epoch = new Epoch()
      versions.push({ index, model })
    }
  }
  versions.push({ index, model })
  return versions
}

const agrees = (index: MappedIndex.MappedIndex, model: Model) => {
  const expected = modelAnswers(model)
  for (let key = 0; key < capacity; key++) {
    if (MappedIndex.nextAny(index, key) !== expected.nextAny[key]) {
      expect(MappedIndex.nextAny(index, key), `nextAny(${key})`).toBe(expected.nextAny[key])
    }
    if (MappedIndex.nextNotFull(index, key) !== expected.nextNotFull[key]) {
      expect(MappedIndex.nextNotFull(index, key), `nextNotFull(${key})`).toBe(expected.nextNotFull[key])
    }
  }
  expect(index.nodes, "node count").toBe(MappedIndex.countReachable(index))
}

describe("MappedIndex.nextAny and nextNotFull", () => {
  it.prop("agree with a map of keys after any history of set, fill and clear", [History], ([history]) => {
    const versions = replay(history)
    agrees(versions[versions.length - 1]!.index, versions[versions.length - 1]!.model)
  })

  it.prop("leave every value taken before a new epoch unchanged (persistence)", [History], ([history]) => {
    for (const { index, model } of replay(history)) agrees(index, model)
  })

  it("see a run that fills whole leaves and inner nodes (full 0..63 of 512: next not full is 64)", () => {
    const epoch = new Epoch()
    let index = MappedIndex.reserve(MappedIndex.empty, 512, epoch)
    for (let key = 0; key < 64; key++) index = MappedIndex.set(index, key, true, epoch)
    expect(MappedIndex.nextNotFull(index, 0)).toBe(64)
    expect(MappedIndex.nextNotFull(index, 31)).toBe(64)
    index = MappedIndex.set(index, 40, false, epoch)
    expect(MappedIndex.nextNotFull(index, 0)).toBe(40)
    expect(MappedIndex.nextAny(index, 40)).toBe(40)
    index = MappedIndex.clear(index, 40, 41, epoch)
    expect(MappedIndex.nextAny(index, 40)).toBe(41)
  })

  it("find keys across the whole 2^32-chunk range of a 1 PiB device", () => {
    const epoch = new Epoch()
    const keys = 2 ** 32
    let index = MappedIndex.reserve(MappedIndex.empty, keys, epoch)
    index = MappedIndex.set(index, keys - 1, true, epoch)
    index = MappedIndex.set(index, 1234567890, true, epoch)
    expect(MappedIndex.nextAny(index, 0)).toBe(1234567890)
    expect(MappedIndex.nextAny(index, 1234567891)).toBe(keys - 1)
    expect(MappedIndex.nextNotFull(index, 1234567890)).toBe(1234567891)
    expect(MappedIndex.nextNotFull(index, keys - 1)).toBe(MappedIndex.nextNotFull(index, keys))
  })

  it("keeps a far-away key's private path small: one node per level, no child arrays", () => {
    const epoch = new Epoch()
    let index = MappedIndex.reserve(MappedIndex.empty, 2 ** 32, epoch)
    index = MappedIndex.set(index, 2 ** 31 + 12345, false, epoch)
    expect(index.nodes).toBe(index.height + 1)
  })
})

describe("MappedIndex.reserve", () => {
  it("keeps the keys already marked when the trie grows", () => {
    const epoch = new Epoch()
    let index = MappedIndex.reserve(MappedIndex.empty, 32, epoch)
    for (let key = 0; key < 32; key++) index = MappedIndex.set(index, key, true, epoch)
    const grown = MappedIndex.reserve(index, 100_000, epoch)
    expect(MappedIndex.nextNotFull(grown, 0)).toBe(32)
    expect(MappedIndex.nextAny(grown, 5)).toBe(5)
    expect(MappedIndex.nextAny(grown, 32)).toBe(-1)
    expect(grown.nodes).toBe(MappedIndex.countReachable(grown))
  })
})
