/**
 * Choosing post-crash states: which of an epoch's in-flight writes land, in
 * full or in part, deduplicated by the contents they leave on the device.
 *
 * Pure and synchronous: the simulator hands in the epoch's writes and the
 * durable contents of the sectors they touch, and gets back the landings to
 * replay. Kept apart from the service so the search order can be read (and
 * changed) in one place.
 */

/** One write-type operation recorded while its epoch was open. */
export interface Op {
  readonly sectorStart: number
  readonly sectors: number
  /** The data written, one contiguous copy; `undefined` for a discard (zeros). */
  readonly data: Uint8Array | undefined
}

/**
 * How one op lands in a crash state: `false` not at all, `true` in full, or
 * a per-sector flag array (torn: some sectors but not all).
 */
export type Landing = boolean | Uint8Array

/** A post-crash state before it is wrapped for users: one landing per op. */
export interface Choice {
  readonly landings: ReadonlyArray<Landing>
}

/** Options already validated by the service. */
export interface SearchOptions {
  readonly seed: number
  readonly limit: number
  readonly torn: boolean
}

/**
 * A small seeded generator (mulberry32): a seed replays the same sequence on
 * every platform, which is all a crash search needs.
 */
export const makeRandom = (seed: number) => {
  let state = seed >>> 0
  return {
    /** A float in [0, 1). */
    next: (): number => {
      state = (state + 0x6d2b79f5) >>> 0
      let t = state
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
}

/** Reduces any number to a 32-bit seed, so every input is a usable seed. */
export const normalizeSeed = (seed: number | undefined): number =>
  seed === undefined || !Number.isFinite(seed) ? 0 : Math.trunc(seed) >>> 0

const hashBytes = (bytes: Uint8Array): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) {
    hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193)
  }
  return hash >>> 0
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Gives equal sector contents equal small integers, so states compare by content. */
class Interner {
  private readonly buckets = new Map<number, Array<{ readonly bytes: Uint8Array; readonly id: number }>>()
  private next = 0
  id(bytes: Uint8Array): number {
    const hash = hashBytes(bytes)
    let bucket = this.buckets.get(hash)
    if (bucket === undefined) {
      bucket = []
      this.buckets.set(hash, bucket)
    }
    for (const entry of bucket) if (sameBytes(entry.bytes, bytes)) return entry.id
    const id = this.next++
    bucket.push({ bytes, id })
    return id
  }
}

/**
 * The sectors an epoch's ops touch, as sorted disjoint runs `[start, count]`;
 * the service reads their durable contents once per search.
 */
export const touchedRuns = (ops: ReadonlyArray<Op>): Array<readonly [number, number]> => {
  const ranges = ops.filter((op) => op.sectors > 0).map((op) => [op.sectorStart, op.sectorStart + op.sectors] as const)
    .sort((a, b) => a[0] - b[0])
  const runs: Array<[number, number]> = []
  for (const [start, end] of ranges) {
    const last = runs[runs.length - 1]
    if (last !== undefined && start <= last[0] + last[1]) {
      last[1] = Math.max(last[1], end - last[0])
    } else {
      runs.push([start, end - start])
    }
  }
  return runs
}

/** Builds the content fingerprint of a choice: one content id per touched sector. */
const makeFingerprinter = (
  ops: ReadonlyArray<Op>,
  sectorSize: number,
  runs: ReadonlyArray<readonly [number, number]>,
  baseContents: ReadonlyArray<Uint8Array>
) => {
  const interner = new Interner()
  const position = new Map<number, number>()
  const baseIds: Array<number> = []
  runs.forEach(([start, count], r) => {
    const contents = baseContents[r]
    for (let i = 0; i < count; i++) {
      position.set(start + i, baseIds.length)
      baseIds.push(contents === undefined ? -1 : interner.id(contents.subarray(i * sectorSize, (i + 1) * sectorSize)))
    }
  })
  const zeroId = interner.id(new Uint8Array(sectorSize))
  const opPositions = ops.map((op) => Int32Array.from({ length: op.sectors }, (_, i) => position.get(op.sectorStart + i) ?? 0))
  const opIds = ops.map((op) =>
    Int32Array.from({ length: op.sectors }, (_, i) =>
      op.data === undefined ? zeroId : interner.id(op.data.subarray(i * sectorSize, (i + 1) * sectorSize)))
  )
  return (choice: Choice): string => {
    const ids = Int32Array.from(baseIds)
    choice.landings.forEach((landing, o) => {
      if (landing === false) return
      const positions = opPositions[o]
      const idsOfOp = opIds[o]
      if (positions === undefined || idsOfOp === undefined) return
      for (let i = 0; i < positions.length; i++) {
        if (landing === true || landing[i] === 1) ids[positions[i] ?? 0] = idsOfOp[i] ?? 0
      }
    })
    return ids.join(",")
  }
}

const popcount = (mask: number): number => {
  let count = 0
  for (let m = mask; m !== 0; m = Math.floor(m / 2)) count += m % 2
  return count
}

/**
 * Orders masks over `bits` bits so that states near the two extremes come
 * first: none, all, then "all but one" and "only one", and so on. Ordering
 * bugs (a commit record landing without the log it commits) show up in the
 * states that differ from a clean prefix by a single write, so a search cut
 * short by `limit` still sees them.
 */
const masksNearExtremesFirst = (bits: number): Array<number> => {
  const total = 2 ** bits
  const masks = Array.from({ length: total }, (_, m) => m)
  const distance = (m: number) => {
    const ones = popcount(m)
    return Math.min(ones, bits - ones)
  }
  // None before all; past the extremes, "all but k" before "only k".
  const leaning = (m: number) => distance(m) === 0 ? popcount(m) : -popcount(m)
  return masks.sort((a, b) => distance(a) - distance(b) || leaning(a) - leaning(b) || a - b)
}

const isProperTorn = (flags: Uint8Array): boolean => {
  let ones = 0
  for (const flag of flags) ones += flag
  return ones > 0 && ones < flags.length
}

/** Normalises per-sector flags: all set is `true`, none set is `false`. */
const landingOf = (flags: Uint8Array): Landing => {
  let ones = 0
  for (const flag of flags) ones += flag
  return ones === 0 ? false : ones === flags.length ? true : flags
}

const exhaustive = (ops: ReadonlyArray<Op>, torn: boolean): Array<Choice> => {
  if (!torn) {
    return masksNearExtremesFirst(ops.length).map((mask) => ({
      landings: ops.map((_, o) => Math.floor(mask / 2 ** o) % 2 === 1)
    }))
  }
  // One bit per sector of every op; zero-sector ops have no bits and never change content.
  const offsets: Array<number> = []
  let bits = 0
  for (const op of ops) {
    offsets.push(bits)
    bits += op.sectors
  }
  return masksNearExtremesFirst(bits).map((mask) => ({
    landings: ops.map((op, o) => {
      const flags = new Uint8Array(op.sectors)
      for (let i = 0; i < op.sectors; i++) flags[i] = Math.floor(mask / 2 ** ((offsets[o] ?? 0) + i)) % 2
      return op.sectors === 0 ? false : landingOf(flags)
    })
  }))
}

/** The deterministic head of a sampled search: none, all, then each op left out and each op alone. */
function* sampledHead(ops: ReadonlyArray<Op>): Generator<Choice> {
  yield { landings: ops.map(() => false) }
  yield { landings: ops.map(() => true) }
  for (let o = 0; o < ops.length; o++) {
    yield { landings: ops.map((_, i) => i !== o) }
    yield { landings: ops.map((_, i) => i === o) }
  }
}

const randomChoice = (ops: ReadonlyArray<Op>, torn: boolean, random: () => number): Choice => ({
  landings: ops.map((op): Landing => {
    if (!torn || op.sectors < 2) return random() < 0.5
    const roll = random()
    if (roll < 1 / 3) return false
    if (roll < 2 / 3) return true
    const flags = new Uint8Array(op.sectors)
    while (!isProperTorn(flags)) {
      for (let i = 0; i < flags.length; i++) flags[i] = random() < 0.5 ? 1 : 0
    }
    return flags
  })
})

/** Whether the whole space of landings has at most `limit` members (and is small enough to list). */
const fitsExhaustive = (ops: ReadonlyArray<Op>, options: SearchOptions): boolean => {
  const bits = options.torn ? ops.reduce((sum, op) => sum + op.sectors, 0) : ops.length
  return bits <= 24 && 2 ** bits <= options.limit
}

/**
 * The post-crash states of one epoch, distinct by content, in search order.
 * `baseContents[r]` holds the durable contents of `touchedRuns(ops)[r]`.
 * Lists every state when the space has at most `limit` members; otherwise
 * takes none, all, the single-write variations, then a seeded random sample.
 */
export const search = (
  ops: ReadonlyArray<Op>,
  sectorSize: number,
  baseContents: ReadonlyArray<Uint8Array>,
  options: SearchOptions
): Array<Choice> => {
  const fingerprint = makeFingerprinter(ops, sectorSize, touchedRuns(ops), baseContents)
  const seen = new Set<string>()
  const chosen: Array<Choice> = []
  const offer = (choice: Choice) => {
    const key = fingerprint(choice)
    if (seen.has(key)) return
    seen.add(key)
    chosen.push(choice)
  }
  if (fitsExhaustive(ops, options)) {
    for (const choice of exhaustive(ops, options.torn)) offer(choice)
    return chosen
  }
  for (const choice of sampledHead(ops)) {
    if (chosen.length >= options.limit) return chosen
    offer(choice)
  }
  const random = makeRandom(options.seed)
  // Duplicates by content are common (a write fully overwritten by a later one), so allow misses.
  const attempts = options.limit * 20 + 100
  for (let attempt = 0; attempt < attempts && chosen.length < options.limit; attempt++) {
    offer(randomChoice(ops, options.torn, random.next))
  }
  return chosen
}

/** One seeded random choice (every op lands whole or not at all), for `crash()` without a state. */
export const randomWhole = (ops: ReadonlyArray<Op>, random: () => number): Choice => randomChoice(ops, false, random)

/** The pieces a choice replays, in op order: whole ops, or the runs of a torn op's landed sectors. */
export const piecesOf = (ops: ReadonlyArray<Op>, sectorSize: number, choice: Choice): Array<Op> => {
  const pieces: Array<Op> = []
  choice.landings.forEach((landing, o) => {
    const op = ops[o]
    if (op === undefined || landing === false) return
    if (landing === true) {
      pieces.push(op)
      return
    }
    let i = 0
    while (i < landing.length) {
      if (landing[i] !== 1) {
        i++
        continue
      }
      const start = i
      while (i < landing.length && landing[i] === 1) i++
      pieces.push({
        sectorStart: op.sectorStart + start,
        sectors: i - start,
        data: op.data?.subarray(start * sectorSize, i * sectorSize)
      })
    }
  })
  return pieces
}
