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

/** Splits a safe integer into two 32-bit words, so every bit of it reaches the hash. */
const words = (value: number): readonly [number, number] => {
  const low = value % twoTo32
  return [low >>> 0, Math.floor((value - low) / twoTo32) >>> 0]
}

/** The hash of a seed, computed once per injector. */
export const seedKey = (seed: number): number => {
  const [low, high] = words(seed)
  return mix32(mix32(low ^ 0x9e3779b9) ^ high)
}

/**
 * A uniform number in `[0, 1)` with 53 random bits, for operation `index`
 * and decision `slot`. `unit < p` is therefore never true for `p = 0` and
 * always true for `p = 1`.
 */
export const unit = (key: number, index: number, slot: number): number => {
  const [low, high] = words(index)
  const base = mix32(mix32(mix32(key ^ low) ^ high) ^ Math.imul(slot, 0x27d4eb2f))
  const upper = mix32(base ^ 0x85ebca6b) >>> 6 // 26 bits
  const lower = mix32(base ^ 0xc2b2ae35) >>> 5 // 27 bits
  return (upper * 0x800_0000 + lower) / 2 ** 53
}

/** A uniform integer in `[0, bound)`; `bound` is a positive safe integer. */
export const below = (key: number, index: number, slot: number, bound: number): number =>
  Math.min(bound - 1, Math.floor(unit(key, index, slot) * bound))
