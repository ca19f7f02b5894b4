/**
 * A set of block numbers kept as sorted, disjoint, non-adjacent runs
 * `[start, end)`: the overlay's record of which blocks were written through
 * it (nbdkit's cow filter keeps a bitmap; runs stay small for sequential
 * writes and cost nothing for a 1 PiB device that is barely written).
 * Lookups are binary searches; adding a run merges its neighbours.
 */

/** A mutable set of block numbers. */
export interface BlockSet {
  /** Run starts, ascending. */
  readonly starts: Array<number>
  /** Run ends (exclusive), parallel to `starts`. */
  readonly ends: Array<number>
}

export const make = (): BlockSet => ({ starts: [], ends: [] })

/** The index of the last run starting at or before `block`, or -1. */
const runBefore = (set: BlockSet, block: number): number => {
  let low = 0
  let high = set.starts.length - 1
  let found = -1
  while (low <= high) {
    const middle = (low + high) >>> 1
    if (set.starts[middle]! <= block) {
      found = middle
      low = middle + 1
    } else {
      high = middle - 1
    }
  }
  return found
}

/** The end of the run holding `block`, or -1 when `block` is not in the set. */
export const runEndAt = (set: BlockSet, block: number): number => {
  const i = runBefore(set, block)
  return i >= 0 && set.ends[i]! > block ? set.ends[i]! : -1
}

/** Whether `block` is in the set. */
export const has = (set: BlockSet, block: number): boolean => runEndAt(set, block) >= 0

/** The first block ≥ `block` in the set, or `Infinity` when there is none. */
export const nextIn = (set: BlockSet, block: number): number => {
  const i = runBefore(set, block)
  if (i >= 0 && set.ends[i]! > block) return block
  const next = set.starts[i + 1]
  return next === undefined ? Number.POSITIVE_INFINITY : next
}

/** Adds the blocks `[start, end)`. */
export const add = (set: BlockSet, start: number, end: number): void => {
  if (end <= start) return
  // Runs touching or overlapping [start, end) are merged into one.
  let first = runBefore(set, start)
  if (first < 0 || set.ends[first]! < start) first++
  let last = runBefore(set, end)
  const mergedStart = first < set.starts.length && first <= last ? Math.min(start, set.starts[first]!) : start
  const mergedEnd = last >= first ? Math.max(end, set.ends[last]!) : end
  if (last < first) last = first - 1
  set.starts.splice(first, last - first + 1, mergedStart)
  set.ends.splice(first, last - first + 1, mergedEnd)
}
