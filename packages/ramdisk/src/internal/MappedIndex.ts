/**
 * Which chunks of a ramdisk hold pages, and which are full, as a persistent
 * hierarchical bitmap: what makes `seekMapped` / `seekUnmapped` logarithmic.
 *
 * A 32-way trie over chunk numbers (the store answers within a chunk from
 * the chunk's own page masks). A leaf holds two bits per chunk, `any` (the
 * chunk holds a page) and `full` (it holds all of them); every inner node
 * keeps the same two masks over its 32 children (`any`: the child holds
 * something; `full`: everything under it is full). Finding the next chunk
 * with data, or the next one that is not full, visits one path down and at
 * most one path back: eight levels cover 2^40 chunks.
 *
 * Memory. Children are stored packed, in the order of the `any` bits (a node
 * with one child points at it directly, without an array), so the private
 * path of a chunk far from all others costs one small object per level.
 *
 * Persistence is by path copying, with one refinement: a node created in the
 * current `generation` is owned by the live device and no snapshot can see
 * it, so it is changed in place. Taking a snapshot starts a new generation,
 * which makes every existing node shared and copy-on-write from then on.
 */

import type { Epoch } from "./Epoch.js"

const BITS = 5
const FANOUT = 1 << BITS // 32
const ALL = -1 // all 32 bits set, as a signed 32-bit integer

interface Node {
  generation: Epoch
  /** Bit c: child c holds something (leaf: chunk c holds a page). */
  any: number
  /** Bit c: everything under child c is full (leaf: chunk c holds all its pages). */
  full: number
  /**
   * The children present (one per `any` bit, in bit order): the child
   * itself when there is one, an array when there are more; `undefined` in a
   * leaf.
   */
  children: Node | Array<Node> | undefined
}

/** An immutable value: a trie root, its height (0: the root is a leaf), and how many nodes it has. */
export interface MappedIndex {
  readonly root: Node | undefined
  readonly height: number
  readonly nodes: number
}

export const empty: MappedIndex = { root: undefined, height: 0, nodes: 0 }

/** Keys covered by a node of `height`: 32^(height+1). */
const span = (height: number): number => FANOUT ** (height + 1)

/** Bits of `mask` at positions ≥ `from` (0 ≤ from ≤ 32). */
const bitsFrom = (mask: number, from: number): number => from >= FANOUT ? 0 : (mask >>> from) << from

/** Bits of positions in [from, to) (0 ≤ from ≤ to ≤ 32). */
const bitRange = (from: number, to: number): number =>
  from >= to ? 0 : (to >= FANOUT ? ALL : (1 << to) - 1) & bitsFrom(ALL, from)

const lowestBit = (mask: number): number => 31 - Math.clz32(mask & -mask)

/** Set bits of a 32-bit mask. */
export const popcount = (mask: number): number => {
  let x = mask - ((mask >>> 1) & 0x55555555)
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
}

/** Child `c` of an inner node, or undefined. */
const childAt = (node: Node, c: number): Node | undefined => {
  const bit = 1 << c
  if ((node.any & bit) === 0) return undefined
  const children = node.children
  return Array.isArray(children) ? children[popcount(node.any & (bit - 1))] : children
}

/** Puts `child` at position `c` of an owned inner node, whether or not one was there. */
const putChild = (node: Node, c: number, child: Node): void => {
  const bit = 1 << c
  const children = node.children
  if ((node.any & bit) !== 0) {
    if (Array.isArray(children)) children[popcount(node.any & (bit - 1))] = child
    else node.children = child
    return
  }
  if (children === undefined) node.children = child
  else if (Array.isArray(children)) children.splice(popcount(node.any & (bit - 1)), 0, child)
  else node.children = (node.any & (bit - 1)) !== 0 ? [children, child] : [child, children]
  node.any |= bit
}

/** Removes child `c` (present) from an owned inner node. */
const removeChild = (node: Node, c: number): void => {
  const bit = 1 << c
  const children = node.children
  if (Array.isArray(children)) {
    children.splice(popcount(node.any & (bit - 1)), 1)
    if (children.length === 1) node.children = children[0]
  } else {
    node.children = undefined
  }
  node.any &= ~bit
  node.full &= ~bit
}

const owned = (node: Node, generation: Epoch): Node =>
  node.generation === generation ? node : {
    generation,
    any: node.any,
    full: node.full,
    children: Array.isArray(node.children) ? node.children.slice() : node.children
  }

const fresh = (generation: Epoch): Node => ({ generation, any: 0, full: 0, children: undefined })

/** Nodes of a subtree. */
const countNodes = (node: Node, height: number): number => {
  if (height === 0) return 1
  const children = node.children
  if (children === undefined) return 1
  if (!Array.isArray(children)) return 1 + countNodes(children, height - 1)
  let count = 1
  for (const child of children) count += countNodes(child, height - 1)
  return count
}

/** Grows the trie until it covers keys below `keys`. */
export const reserve = (index: MappedIndex, keys: number, generation: Epoch): MappedIndex => {
  let { height, nodes, root } = index
  while (span(height) < keys) {
    if (root !== undefined) {
      const parent = fresh(generation)
      parent.children = root
      parent.any = 1
      parent.full = root.full === ALL ? 1 : 0
      root = parent
      nodes++
    }
    height++
  }
  return height === index.height ? index : { root, height, nodes }
}

/** Nodes added (positive) or removed (negative) by one operation. */
interface Delta {
  nodes: number
}

const setNode = (
  node: Node | undefined,
  height: number,
  key: number,
  full: boolean,
  generation: Epoch,
  delta: Delta
): Node => {
  if (height === 0) {
    const bit = 1 << key
    const newFull = full ? (node?.full ?? 0) | bit : (node?.full ?? 0) & ~bit
    if (node !== undefined && (node.any & bit) !== 0 && node.full === newFull) return node
    let leaf: Node
    if (node === undefined) {
      leaf = fresh(generation)
      delta.nodes++
    } else {
      leaf = owned(node, generation)
    }
    leaf.any |= bit
    leaf.full = newFull
    return leaf
  }
  const childSpan = span(height - 1)
  const c = Math.floor(key / childSpan)
  const bit = 1 << c
  const child = node === undefined ? undefined : childAt(node, c)
  const updated = setNode(child, height - 1, key - c * childSpan, full, generation, delta)
  // An owned child changes in place, so `updated === child` does not mean
  // nothing changed: the child may have just become full, or stopped being.
  const childFull = updated.full === ALL
  if (node !== undefined && updated === child && childFull === ((node.full & bit) !== 0)) return node
  let parent: Node
  if (node === undefined) {
    parent = fresh(generation)
    delta.nodes++
  } else {
    parent = owned(node, generation)
  }
  putChild(parent, c, updated)
  if (childFull) parent.full |= bit
  else parent.full &= ~bit
  return parent
}

/** Marks `key` present, and full or not. The index must already cover it (see `reserve`). */
export const set = (index: MappedIndex, key: number, full: boolean, generation: Epoch): MappedIndex => {
  const delta: Delta = { nodes: 0 }
  const root = setNode(index.root, index.height, key, full, generation, delta)
  return root === index.root && delta.nodes === 0 ? index : { root, height: index.height, nodes: index.nodes + delta.nodes }
}

const clearNode = (
  node: Node | undefined,
  height: number,
  from: number,
  to: number,
  generation: Epoch,
  delta: Delta
): Node | undefined => {
  if (node === undefined) return undefined
  if (from <= 0 && to >= span(height)) {
    delta.nodes -= countNodes(node, height)
    return undefined
  }
  if (height === 0) {
    const cleared = ~bitRange(Math.max(0, from), Math.min(FANOUT, to))
    const any = node.any & cleared
    if (any === node.any) return node
    if (any === 0) {
      delta.nodes--
      return undefined
    }
    const leaf = owned(node, generation)
    leaf.any = any
    leaf.full = node.full & cleared
    return leaf
  }
  const childSpan = span(height - 1)
  const first = Math.max(0, Math.floor(from / childSpan))
  const last = Math.min(FANOUT - 1, Math.floor((to - 1) / childSpan))
  let result = node
  for (let c = first; c <= last; c++) {
    const bit = 1 << c
    if ((result.any & bit) === 0) continue
    const child = childAt(result, c)
    const updated = clearNode(child, height - 1, from - c * childSpan, to - c * childSpan, generation, delta)
    // An owned child changes in place: compare its fullness, not just its identity.
    const childFull = updated !== undefined && updated.full === ALL
    if (updated === child && childFull === ((result.full & bit) !== 0)) continue
    result = owned(result, generation)
    if (updated === undefined) {
      removeChild(result, c)
      continue
    }
    putChild(result, c, updated)
    if (childFull) result.full |= bit
    else result.full &= ~bit
  }
  if (result.any === 0) {
    delta.nodes--
    return undefined
  }
  return result
}

/** Marks every key in `[from, to)` absent. */
export const clear = (index: MappedIndex, from: number, to: number, generation: Epoch): MappedIndex => {
  if (from >= to) return index
  const delta: Delta = { nodes: 0 }
  const root = clearNode(index.root, index.height, from, to, generation, delta)
  return root === index.root && delta.nodes === 0 ? index : { root, height: index.height, nodes: index.nodes + delta.nodes }
}

const nextAnyIn = (node: Node, height: number, key: number): number => {
  if (height === 0) {
    const mask = bitsFrom(node.any, key)
    return mask === 0 ? -1 : lowestBit(mask)
  }
  const childSpan = span(height - 1)
  const c = Math.floor(key / childSpan)
  if ((node.any & (1 << c)) !== 0) {
    const found = nextAnyIn(childAt(node, c)!, height - 1, key - c * childSpan)
    if (found >= 0) return c * childSpan + found
  }
  // Every child marked in `any` holds something, so the first one later on has the answer.
  const later = bitsFrom(node.any, c + 1)
  if (later === 0) return -1
  const next = lowestBit(later)
  return next * childSpan + nextAnyIn(childAt(node, next)!, height - 1, 0)
}

/** The first present key ≥ `key`, or -1 if there is none. */
export const nextAny = (index: MappedIndex, key: number): number =>
  index.root === undefined || key >= span(index.height) ? -1 : nextAnyIn(index.root, index.height, key)

const nextNotFullIn = (node: Node | undefined, height: number, key: number): number => {
  if (node === undefined) return key
  if (height === 0) {
    const mask = bitsFrom(~node.full, key)
    return mask === 0 ? -1 : lowestBit(mask)
  }
  const childSpan = span(height - 1)
  const c = Math.floor(key / childSpan)
  if ((node.full & (1 << c)) === 0) {
    const found = nextNotFullIn(childAt(node, c), height - 1, key - c * childSpan)
    if (found >= 0) return c * childSpan + found
  }
  const later = bitsFrom(~node.full, c + 1)
  if (later === 0) return -1
  const next = lowestBit(later)
  return next * childSpan + nextNotFullIn(childAt(node, next), height - 1, 0)
}

/**
 * The first key ≥ `key` that is absent or not full. Keys beyond the trie's
 * reach are absent, so this always finds one.
 */
export const nextNotFull = (index: MappedIndex, key: number): number => {
  const capacity = span(index.height)
  if (key >= capacity) return key
  const found = nextNotFullIn(index.root, index.height, key)
  return found < 0 ? capacity : found
}

/** Nodes reachable from the root, counted by walking the trie (tests check `nodes` against it). */
export const countReachable = (index: MappedIndex): number =>
  index.root === undefined ? 0 : countNodes(index.root, index.height)
