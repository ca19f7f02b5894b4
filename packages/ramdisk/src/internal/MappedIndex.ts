/**
 * Which pages of a ramdisk are mapped, as a persistent hierarchical bitmap.
 *
 * A 32-way trie over page numbers: a leaf holds one bit per page, and every
 * inner node keeps two masks over its 32 children, `any` (the child holds a
 * mapped page) and `full` (every page under the child is mapped). Finding the
 * next mapped or next unmapped page from any point then visits one path down
 * and at most one path back, O(log32 pages): eight levels cover 2^40 pages.
 *
 * Persistence is by path copying, with one refinement: a node created at the
 * current `generation` is owned by the live device and no snapshot can see
 * it, so it is changed in place. Taking a snapshot bumps the generation,
 * which makes every existing node shared and copy-on-write from then on.
 */

import type { Epoch } from "./Epoch.js"

const BITS = 5
const FANOUT = 1 << BITS // 32
const ALL = -1 // all 32 bits set, as a signed 32-bit integer

interface Node {
  generation: Epoch
  /** Bit c: child c holds at least one mapped page (leaf: page c is mapped). */
  any: number
  /** Bit c: every page under child c is mapped (leaf: same as `any`). */
  full: number
  /** Children of an inner node; `undefined` for a leaf. */
  readonly children: Array<Node | undefined> | undefined
}

/** An immutable value: a trie root and its height (0: the root is a leaf). */
export interface MappedIndex {
  readonly root: Node | undefined
  readonly height: number
}

export const empty: MappedIndex = { root: undefined, height: 0 }

/** Pages covered by a node of `height`: 32^(height+1). */
const span = (height: number): number => FANOUT ** (height + 1)

/** Bits of `mask` at positions ≥ `from` (0 ≤ from ≤ 32). */
const bitsFrom = (mask: number, from: number): number => from >= FANOUT ? 0 : (mask >>> from) << from

/** Bits of positions in [from, to) (0 ≤ from ≤ to ≤ 32). */
const bitRange = (from: number, to: number): number =>
  from >= to ? 0 : (to >= FANOUT ? ALL : (1 << to) - 1) & bitsFrom(ALL, from)

const lowestBit = (mask: number): number => 31 - Math.clz32(mask & -mask)

const owned = (node: Node, generation: Epoch): Node =>
  node.generation === generation ? node : {
    generation,
    any: node.any,
    full: node.full,
    children: node.children === undefined ? undefined : node.children.slice()
  }

const fresh = (height: number, generation: Epoch): Node => ({
  generation,
  any: 0,
  full: 0,
  children: height === 0 ? undefined : new Array<Node | undefined>(FANOUT)
})

/** Grows the trie until it covers page numbers below `pages`. */
export const reserve = (index: MappedIndex, pages: number, generation: Epoch): MappedIndex => {
  let { height, root } = index
  while (span(height) < pages) {
    if (root !== undefined) {
      const parent = fresh(height + 1, generation)
      parent.children![0] = root
      parent.any = 1
      parent.full = root.full === ALL ? 1 : 0
      root = parent
    }
    height++
  }
  return height === index.height ? index : { root, height }
}

const setNode = (node: Node | undefined, height: number, page: number, generation: Epoch): Node => {
  if (height === 0) {
    const bit = 1 << page
    if (node !== undefined && (node.any & bit) !== 0) return node
    const leaf = node === undefined ? fresh(0, generation) : owned(node, generation)
    leaf.any |= bit
    leaf.full = leaf.any
    return leaf
  }
  const childSpan = span(height - 1)
  const c = Math.floor(page / childSpan)
  const bit = 1 << c
  if (node !== undefined && (node.full & bit) !== 0) return node
  const child = node?.children![c]
  const updated = setNode(child, height - 1, page - c * childSpan, generation)
  // An owned child changes in place, so `updated === child` does not mean
  // nothing changed: the child may have just become full.
  const full = updated.full === ALL
  if (node !== undefined && updated === child && !full) return node
  const parent = node === undefined ? fresh(height, generation) : owned(node, generation)
  parent.children![c] = updated
  parent.any |= bit
  if (full) parent.full |= bit
  return parent
}

/** Marks `page` mapped. The index must already cover it (see `reserve`). */
export const set = (index: MappedIndex, page: number, generation: Epoch): MappedIndex => {
  const root = setNode(index.root, index.height, page, generation)
  return root === index.root ? index : { root, height: index.height }
}

const clearNode = (
  node: Node | undefined,
  height: number,
  from: number,
  to: number,
  generation: Epoch
): Node | undefined => {
  if (node === undefined) return undefined
  if (from <= 0 && to >= span(height)) return undefined
  if (height === 0) {
    const any = node.any & ~bitRange(Math.max(0, from), Math.min(FANOUT, to))
    if (any === node.any) return node
    if (any === 0) return undefined
    const leaf = owned(node, generation)
    leaf.any = any
    leaf.full = any
    return leaf
  }
  const childSpan = span(height - 1)
  const first = Math.max(0, Math.floor(from / childSpan))
  const last = Math.min(FANOUT - 1, Math.floor((to - 1) / childSpan))
  let result = node
  for (let c = first; c <= last; c++) {
    const bit = 1 << c
    if ((result.any & bit) === 0) continue
    const child = result.children![c]
    const updated = clearNode(child, height - 1, from - c * childSpan, to - c * childSpan, generation)
    // An owned child changes in place: compare its fullness, not just its identity.
    const full = updated !== undefined && updated.full === ALL
    if (updated === child && full === ((result.full & bit) !== 0)) continue
    result = owned(result, generation)
    result.children![c] = updated
    if (updated === undefined) result.any &= ~bit
    if (full) result.full |= bit
    else result.full &= ~bit
  }
  return result.any === 0 ? undefined : result
}

/** Marks every page in `[from, to)` unmapped. */
export const clear = (index: MappedIndex, from: number, to: number, generation: Epoch): MappedIndex => {
  if (from >= to) return index
  const root = clearNode(index.root, index.height, from, to, generation)
  return root === index.root ? index : { root, height: index.height }
}

const nextMappedIn = (node: Node, height: number, page: number): number => {
  if (height === 0) {
    const mask = bitsFrom(node.any, page)
    return mask === 0 ? -1 : lowestBit(mask)
  }
  const childSpan = span(height - 1)
  const c = Math.floor(page / childSpan)
  if ((node.any & (1 << c)) !== 0) {
    const found = nextMappedIn(node.children![c]!, height - 1, page - c * childSpan)
    if (found >= 0) return c * childSpan + found
  }
  // Every child marked in `any` holds a mapped page, so the first one later on has the answer.
  const later = bitsFrom(node.any, c + 1)
  if (later === 0) return -1
  const next = lowestBit(later)
  return next * childSpan + nextMappedIn(node.children![next]!, height - 1, 0)
}

/** The first mapped page ≥ `page`, or -1 if there is none. */
export const nextMapped = (index: MappedIndex, page: number): number =>
  index.root === undefined || page >= span(index.height) ? -1 : nextMappedIn(index.root, index.height, page)

const nextUnmappedIn = (node: Node | undefined, height: number, page: number): number => {
  if (node === undefined) return page
  if (height === 0) {
    const mask = bitsFrom(~node.any, page)
    return mask === 0 ? -1 : lowestBit(mask)
  }
  const childSpan = span(height - 1)
  const c = Math.floor(page / childSpan)
  if ((node.full & (1 << c)) === 0) {
    const found = nextUnmappedIn(node.children![c], height - 1, page - c * childSpan)
    if (found >= 0) return c * childSpan + found
  }
  const later = bitsFrom(~node.full, c + 1)
  if (later === 0) return -1
  const next = lowestBit(later)
  return next * childSpan + nextUnmappedIn(node.children![next], height - 1, 0)
}

/**
 * The first unmapped page ≥ `page`. Pages beyond the trie's reach are
 * unmapped, so this always finds one.
 */
export const nextUnmapped = (index: MappedIndex, page: number): number => {
  const capacity = span(index.height)
  if (page >= capacity) return page
  const found = nextUnmappedIn(index.root, index.height, page)
  return found < 0 ? capacity : found
}

/** Whether `page` is mapped. */
export const has = (index: MappedIndex, page: number): boolean => nextMapped(index, page) === page
