/**
 * The fault injector's randomness: counter-based, so the decisions for the
 * n-th operation are a pure function of the seed, n and which decision is
 * being made. Nothing depends on how many numbers earlier operations drew,
 * on which options are on, or on any state outside the injector.
 *
 * @since 0.1.0
 * @internal
 */

/** Which decision a number is drawn for; each gets an independent stream. */
export const Slot = {
  fails: 1,
  extent: 2,
  misdirect: 3,
  target: 4,
  corrupt: 5,
  bit: 6
} as const

/** A 32-bit finaliser with good avalanche (every input bit flips about half the output bits). */
const mix32 = (value: number): number => {
  let x = value | 0
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

const twoTo32 = 0x1_0000_0000

/**
 * Splits a safe integer into the two 32-bit words of its 64-bit two's
 * complement, so every bit of it reaches the hash and no two safe integers
 * share both words (-1 is `[0xffffffff, 0xffffffff]`, 4294967295 is
 * `[0xffffffff, 0]`).
 */
const words = (value: number): readonly [number, number] => {
  const high = Math.floor(value / twoTo32)
  return [(value - high * twoTo32) >>> 0, high >>> 0]
}

/**
 * The key of a seed, computed once per injector: a 32-bit hash of both
 * words, and the high word itself. Together they determine the seed (the
 * hash is a bijection of the low word once the high word is known), so
 * distinct seeds never share a key.
 */
export interface SeedKey {
  readonly hash: number
  readonly high: number
}

/** The key of a seed; for a seed from 0 to 2^32 - 1 the streams are those of earlier versions. */
export const seedKey = (seed: number): SeedKey => {
  const [low, high] = words(seed)
  return { hash: mix32(mix32(low ^ 0x9e3779b9) ^ high), high }
}

/**
 * A uniform number in `[0, 1)` with 53 random bits, for operation `index`
 * and decision `slot`. `unit < p` is therefore never true for `p = 0` and
 * always true for `p = 1`.
 */
export const unit = (key: SeedKey, index: number, slot: number): number => {
  const [low, high] = words(index)
  // The seed's high word joins the index's: 0 for non-negative seeds below 2^32, as before it was kept.
  const base = mix32(mix32(mix32(key.hash ^ low) ^ high ^ key.high) ^ Math.imul(slot, 0x27d4eb2f))
  const upper = mix32(base ^ 0x85ebca6b) >>> 6 // 26 bits
  const lower = mix32(base ^ 0xc2b2ae35) >>> 5 // 27 bits
  return (upper * 0x800_0000 + lower) / 2 ** 53
}

/** A uniform integer in `[0, bound)`; `bound` is a positive safe integer. */
export const below = (key: SeedKey, index: number, slot: number, bound: number): number =>
  Math.min(bound - 1, Math.floor(unit(key, index, slot) * bound))
