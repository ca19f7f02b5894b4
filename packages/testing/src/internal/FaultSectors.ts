/**
 * Sector bookkeeping for the fault injector: the set of bad sectors (sorted,
 * disjoint, half-open ranges, so a lookup is a binary search), and slicing
 * and bit-flipping across a list of caller buffers.
 *
 * @since 0.1.0
 * @internal
 */

/** `[start, end)` in sectors. */
export interface Span {
  readonly start: number
  readonly end: number
}

/** Sorts and merges spans, dropping empty ones. */
export const normalise = (spans: ReadonlyArray<Span>): ReadonlyArray<Span> => {
  const sorted = spans.filter((span) => span.end > span.start).sort((a, b) => a.start - b.start)
  const merged: Array<Span> = []
  for (const span of sorted) {
    const last = merged[merged.length - 1]
    if (last !== undefined && span.start <= last.end) {
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, span.end) }
    } else {
      merged.push(span)
    }
  }
  return merged
}

/** The first sector of `set` inside `[start, end)`, or `undefined`. */
export const firstIn = (set: ReadonlyArray<Span>, start: number, end: number): number | undefined => {
  // The first span that ends after `start`.
  let low = 0
  let high = set.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((set[middle]?.end ?? 0) <= start) low = middle + 1
    else high = middle
  }
  const span = set[low]
  if (span === undefined) return undefined
  const first = Math.max(span.start, start)
  return first < end ? first : undefined
}

/** `set` without the sectors of `[start, end)`. */
export const subtract = (set: ReadonlyArray<Span>, start: number, end: number): ReadonlyArray<Span> => {
  if (end <= start || firstIn(set, start, end) === undefined) return set
  const result: Array<Span> = []
  for (const span of set) {
    if (span.end <= start || span.start >= end) {
      result.push(span)
      continue
    }
    if (span.start < start) result.push({ start: span.start, end: start })
    if (span.end > end) result.push({ start: end, end: span.end })
  }
  return result
}

/** Flips bit `bit` (0 = the low bit of the first byte) of the concatenated buffers. */
export const flipBit = (buffers: ReadonlyArray<Uint8Array>, bit: number): void => {
  let byte = Math.floor(bit / 8)
  for (const buffer of buffers) {
    if (byte < buffer.byteLength) {
      buffer[byte] = (buffer[byte] ?? 0) ^ (1 << (bit % 8))
      return
    }
    byte -= buffer.byteLength
  }
}
