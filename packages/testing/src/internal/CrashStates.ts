/**
 * Choosing post-crash states: which of the pending write-type operations
 * land, in full or in part, deduplicated by the contents and sizes they
 * leave on the devices of a power domain.
 *
 * Pure and synchronous: the simulator hands in the pending operations and a
 * way to read the durable contents of the sectors they touch, and gets back
 * the landings to replay and what the list covers. Kept apart from the
 * service so the search order can be read (and changed) in one place.
 */

/** One write-type operation recorded while it was pending. */
export interface Op {
  readonly operation: "write" | "discard" | "resize"
  /** Index of the device in its power domain. */
  readonly device: number
  /** First sector written (0 for a resize). */
  readonly sectorStart: number
  /** Sectors written (0 for a resize). */
  readonly sectors: number
  /** A resize's new size; for a write or discard, the device size when it was issued. */
  readonly sizeSectors: number
  /** The device size just before it was issued. */
  readonly fromSize: number
  /** The data written, one contiguous copy; `undefined` for a discard (zeros) and a resize. */
  readonly data: Uint8Array | undefined
  /** Failed or interrupted in flight: any of its sectors may or may not have landed. */
  readonly unknownExtent: boolean
  /** The last mark recorded before it, if any. */
  readonly after: string | undefined
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

/** What a torn write leaves in the sector at its tear point. */
export type Damage = "none" | "zeros" | "garbage"

/** Options already validated by the service. */
export interface SearchOptions {
  readonly seed: number
  readonly limit: number
  readonly torn: boolean
  readonly damage: Damage
}

/** The durable image of one device, as the search needs it. */
export interface Base {
  readonly sectorSize: number
  readonly sizeSectors: number
  /** The durable contents of a sector the ops touch; `undefined` when unknown (it then never deduplicates). */
  readonly content: (sector: number) => Uint8Array | undefined
}

/** What a list of states covers. */
export interface SearchCoverage {
  /** Every distinct state of the space is listed. */
  readonly exhaustive: boolean
  /** How many landing combinations the space has (before deduplication by content); may be `Infinity`. */
  readonly space: number
}

/** One step a crash replays on one device: a write (data `undefined`: zeros) or a size change. */
export type Piece =
  | { readonly kind: "write"; readonly sectorStart: number; readonly sectors: number; readonly data: Uint8Array | undefined }
  | { readonly kind: "resize"; readonly sizeSectors: number }

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
    },
    /** A 32-bit unsigned integer, for deriving further seeds. */
    nextSeed: (): number => {
      state = (state + 0x6d2b79f5) >>> 0
      let t = state
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return (t ^ (t >>> 14)) >>> 0
    }
  }
}

const hashBytes = (bytes: Uint8Array): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193)
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
 * The seeded garbage a torn write leaves in sector `index` of op `op`: the
 * same seed, op and sector always give the same bytes, so a state replays.
 */
export const garbageOf = (seed: number, op: number, index: number, sectorSize: number): Uint8Array => {
  const random = makeRandom((seed ^ Math.imul(op + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0)
  const bytes = new Uint8Array(sectorSize)
  for (let i = 0; i < sectorSize; i += 4) {
    const word = random.nextSeed()
    for (let b = 0; b < 4 && i + b < sectorSize; b++) bytes[i + b] = (word >>> (b * 8)) & 0xff
  }
  return bytes
}

/** The sector a proper torn landing damages (its first sector that did not land), or -1. */
const tearPoint = (landing: Landing, damage: Damage): number => {
  if (damage === "none" || typeof landing === "boolean") return -1
  return landing.indexOf(0)
}

/** Whether op `o` may land in part: torn writes allowed, or its extent is unknown. */
const sectorGrained = (op: Op, torn: boolean): boolean =>
  op.operation !== "resize" && op.sectors > 1 && (torn || op.unknownExtent)

/** Builds the content fingerprint of a choice: sizes, plus one content id per touched sector. */
const makeFingerprinter = (
  ops: ReadonlyArray<Op>,
  bases: ReadonlyArray<Base>,
  options: SearchOptions
) => {
  const interner = new Interner()
  const zeroIds = bases.map((base) => interner.id(new Uint8Array(base.sectorSize)))
  const positions = bases.map(() => new Map<number, number>())
  const devicePositions: Array<Array<number>> = bases.map(() => [])
  const sectorOf: Array<number> = []
  const baseIds: Array<number> = []
  let unknown = -1
  for (const op of ops) {
    if (op.operation === "resize") continue
    const base = bases[op.device]
    const map = positions[op.device]
    if (base === undefined || map === undefined) continue
    for (let i = 0; i < op.sectors; i++) {
      const sector = op.sectorStart + i
      if (map.has(sector)) continue
      map.set(sector, baseIds.length)
      devicePositions[op.device]?.push(baseIds.length)
      sectorOf.push(sector)
      const content = base.content(sector)
      // An unknown durable sector gets an id of its own: it never equals anything.
      baseIds.push(content === undefined ? unknown-- : interner.id(content))
    }
  }
  const opPositions = ops.map((op) =>
    Int32Array.from({ length: op.sectors }, (_, i) => positions[op.device]?.get(op.sectorStart + i) ?? 0)
  )
  const opIds = ops.map((op) => {
    const size = bases[op.device]?.sectorSize ?? 1
    return Int32Array.from({ length: op.sectors }, (_, i) =>
      op.data === undefined ? zeroIds[op.device] ?? 0 : interner.id(op.data.subarray(i * size, (i + 1) * size)))
  })
  const resizes = ops.some((op) => op.operation === "resize")
  const garbageIds = new Map<string, number>()
  const garbageId = (o: number, i: number): number => {
    const key = `${o}:${i}`
    let id = garbageIds.get(key)
    if (id === undefined) {
      const op = ops[o]
      id = interner.id(garbageOf(options.seed, o, i, bases[op?.device ?? 0]?.sectorSize ?? 1))
      garbageIds.set(key, id)
    }
    return id
  }
  return (choice: Choice): string => {
    const ids = Int32Array.from(baseIds)
    const size = bases.map((base) => base.sizeSectors)
    const lowest = size.slice()
    choice.landings.forEach((landing, o) => {
      const op = ops[o]
      if (op === undefined || landing === false) return
      const d = op.device
      if (op.operation === "resize") {
        const r = op.sizeSectors
        for (const p of devicePositions[d] ?? []) if ((sectorOf[p] ?? 0) >= r) ids[p] = zeroIds[d] ?? 0
        size[d] = r
        lowest[d] = Math.min(lowest[d] ?? r, r)
        return
      }
      const at = opPositions[o]
      const values = opIds[o]
      if (at === undefined || values === undefined) return
      const tear = tearPoint(landing, options.damage)
      const end = size[d] ?? 0
      for (let i = 0; i < at.length; i++) {
        if (op.sectorStart + i >= end) break
        if (landing === true || landing[i] === 1) ids[at[i] ?? 0] = values[i] ?? 0
        else if (i === tear) ids[at[i] ?? 0] = options.damage === "zeros" ? zeroIds[d] ?? 0 : garbageId(o, i)
      }
    })
    // Without size changes every touched sector is visible: the ids alone are the key.
    if (!resizes) return ids.join(",")
    const parts: Array<string> = []
    bases.forEach((_, d) => {
      const end = size[d] ?? 0
      const visible = (devicePositions[d] ?? []).map((p) => (sectorOf[p] ?? 0) < end ? ids[p] : "x")
      parts.push(`${end}/${Math.min(lowest[d] ?? end, end)}:${visible.join(",")}`)
    })
    return parts.join("|")
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
  const masks = Array.from({ length: 2 ** bits }, (_, m) => m)
  const distance = (m: number) => {
    const ones = popcount(m)
    return Math.min(ones, bits - ones)
  }
  const leaning = (m: number) => distance(m) === 0 ? popcount(m) : -popcount(m)
  return masks.sort((a, b) => distance(a) - distance(b) || leaning(a) - leaning(b) || a - b)
}

/** Normalises per-sector flags: all set is `true`, none set is `false`. */
const landingOf = (flags: Uint8Array): Landing => {
  let ones = 0
  for (const flag of flags) ones += flag
  return ones === 0 ? false : ones === flags.length ? true : flags
}

const bitsOf = (ops: ReadonlyArray<Op>, torn: boolean): number =>
  ops.reduce((sum, op) => sum + (sectorGrained(op, torn) ? op.sectors : 1), 0)

const exhaustive = (ops: ReadonlyArray<Op>, torn: boolean): Array<Choice> => {
  const offsets: Array<number> = []
  let bits = 0
  for (const op of ops) {
    offsets.push(bits)
    bits += sectorGrained(op, torn) ? op.sectors : 1
  }
  return masksNearExtremesFirst(bits).map((mask) => ({
    landings: ops.map((op, o): Landing => {
      const offset = offsets[o] ?? 0
      if (!sectorGrained(op, torn)) return Math.floor(mask / 2 ** offset) % 2 === 1
      const flags = new Uint8Array(op.sectors)
      for (let i = 0; i < op.sectors; i++) flags[i] = Math.floor(mask / 2 ** (offset + i)) % 2
      return landingOf(flags)
    })
  }))
}

/** The in-order prefixes: the first k ops landed whole, for every k from 0 to all. */
const prefixes = (ops: ReadonlyArray<Op>): Array<Choice> =>
  Array.from({ length: ops.length + 1 }, (_, k) => ({ landings: ops.map((_, o) => o < k) }))

/** After the prefixes of a sampled search: each op left out and each op alone. */
function* singleVariations(ops: ReadonlyArray<Op>): Generator<Choice> {
  for (let o = 0; o < ops.length; o++) {
    yield { landings: ops.map((_, i) => i !== o) }
    yield { landings: ops.map((_, i) => i === o) }
  }
}

const randomChoice = (ops: ReadonlyArray<Op>, torn: boolean, random: () => number): Choice => ({
  landings: ops.map((op): Landing => {
    if (!sectorGrained(op, torn)) return random() < 0.5
    const roll = random()
    if (roll < 1 / 3) return false
    if (roll < 2 / 3) return true
    const flags = new Uint8Array(op.sectors)
    let landed = landingOf(flags)
    while (typeof landed === "boolean") {
      for (let i = 0; i < flags.length; i++) flags[i] = random() < 0.5 ? 1 : 0
      landed = landingOf(flags)
    }
    return landed
  })
})

/**
 * The post-crash states of a set of pending ops, distinct by content, in
 * search order, and what they cover. Every in-order prefix (none, the first
 * write, the first two, ..., all) is always listed, whatever `limit` says.
 * When the space has at most `limit` members every state is listed (prefixes
 * first, then from the extremes inwards); otherwise, after the prefixes,
 * each write left out and each write alone, then a seeded random sample, up
 * to `limit` states.
 */
export const search = (
  ops: ReadonlyArray<Op>,
  bases: ReadonlyArray<Base>,
  options: SearchOptions
): { readonly choices: Array<Choice>; readonly coverage: SearchCoverage } => {
  const fingerprint = makeFingerprinter(ops, bases, options)
  const seen = new Set<string>()
  const choices: Array<Choice> = []
  const offer = (choice: Choice) => {
    const key = fingerprint(choice)
    if (seen.has(key)) return
    seen.add(key)
    choices.push(choice)
  }
  const bits = bitsOf(ops, options.torn)
  const space = 2 ** bits
  for (const choice of prefixes(ops)) offer(choice)
  if (bits <= 24 && space <= options.limit) {
    for (const choice of exhaustive(ops, options.torn)) offer(choice)
    return { choices, coverage: { exhaustive: true, space } }
  }
  for (const choice of singleVariations(ops)) {
    if (choices.length >= options.limit) break
    offer(choice)
  }
  const random = makeRandom(options.seed)
  // Duplicates by content are common (a write fully overwritten by a later one), so allow misses.
  const attempts = options.limit * 20 + 100
  for (let attempt = 0; attempt < attempts && choices.length < options.limit; attempt++) {
    offer(randomChoice(ops, options.torn, random.next))
  }
  return { choices, coverage: { exhaustive: false, space } }
}

/** One seeded random choice (every op lands whole or not at all), for `crash()` without a state. */
export const randomWhole = (ops: ReadonlyArray<Op>, random: () => number): Choice => randomChoice(ops, false, random)

/**
 * The pieces a choice replays on each device, in issue order: whole ops,
 * runs of a torn op's landed sectors, the damaged sector at a tear point,
 * and size changes. A write past the size the replay has reached at that
 * point (its resize did not land) is cut there: those sectors are gone.
 */
export const piecesOf = (
  ops: ReadonlyArray<Op>,
  bases: ReadonlyArray<Base>,
  choice: Choice,
  options: Pick<SearchOptions, "seed" | "damage">
): Array<Array<Piece>> => {
  const pieces: Array<Array<Piece>> = bases.map(() => [])
  const size = bases.map((base) => base.sizeSectors)
  choice.landings.forEach((landing, o) => {
    const op = ops[o]
    const list = op === undefined ? undefined : pieces[op.device]
    if (op === undefined || list === undefined || landing === false) return
    if (op.operation === "resize") {
      list.push({ kind: "resize", sizeSectors: op.sizeSectors })
      size[op.device] = op.sizeSectors
      return
    }
    const sectorSize = bases[op.device]?.sectorSize ?? 1
    const end = Math.min(op.sectors, Math.max(0, (size[op.device] ?? 0) - op.sectorStart))
    const tear = tearPoint(landing, options.damage)
    const piece = (from: number, to: number): Piece => ({
      kind: "write",
      sectorStart: op.sectorStart + from,
      sectors: to - from,
      data: op.data?.subarray(from * sectorSize, to * sectorSize)
    })
    if (landing === true) {
      if (end > 0) list.push(piece(0, end))
      return
    }
    let i = 0
    while (i < end) {
      if (landing[i] !== 1) {
        if (i === tear) {
          list.push({
            kind: "write",
            sectorStart: op.sectorStart + i,
            sectors: 1,
            data: options.damage === "zeros" ? undefined : garbageOf(options.seed, o, i, sectorSize)
          })
        }
        i++
        continue
      }
      const start = i
      while (i < end && landing[i] === 1) i++
      list.push(piece(start, i))
    }
  })
  return pieces
}
