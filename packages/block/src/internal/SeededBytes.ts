/**
 * Deterministic pseudo-random bytes for `fill({ seed })`.
 *
 * The bytes at a given device offset depend only on the seed and that offset,
 * never on how the fill was cut into requests or how many ran at once, so a
 * fill of part of a device writes exactly what a fill of the whole device
 * would have written there. Bytes come in blocks of 256, each generated from
 * its own state derived from (seed, block number).
 */

const blockBytes = 256

/** A 32-bit hash of a seed (FNV-1a over the string form of a number or a string). */
export const hashSeed = (seed: number | string): number => {
  const text = typeof seed === "number" ? `n:${seed}` : `s:${seed}`
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** A well-mixed 32-bit value from two (the finaliser of murmur3 over a combination). */
const mix = (a: number, b: number): number => {
  let h = (a ^ Math.imul(b, 0x9e3779b1)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Writes the 256 bytes of block `block` into `target` at `at` (mulberry32 seeded per block). */
const generateBlock = (seedHash: number, block: number, target: Uint8Array, at: number): void => {
  // Block numbers exceed 32 bits on large devices: fold in the high part too.
  let state = mix(mix(seedHash, block >>> 0), Math.floor(block / 0x100000000))
  for (let i = 0; i < blockBytes; i += 4) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    t = (t ^ (t >>> 14)) >>> 0
    target[at + i] = t & 0xff
    target[at + i + 1] = (t >>> 8) & 0xff
    target[at + i + 2] = (t >>> 16) & 0xff
    target[at + i + 3] = t >>> 24
  }
}

/** Fills `target` with the seeded bytes that belong at device byte offset `byteOffset`. */
export const seededBytes = (seedHash: number, byteOffset: number, target: Uint8Array): void => {
  const scratch = new Uint8Array(blockBytes)
  let done = 0
  while (done < target.byteLength) {
    const position = byteOffset + done
    const block = Math.floor(position / blockBytes)
    const inBlock = position - block * blockBytes
    const n = Math.min(blockBytes - inBlock, target.byteLength - done)
    if (n === blockBytes) {
      generateBlock(seedHash, block, target, done)
    } else {
      generateBlock(seedHash, block, scratch, 0)
      target.set(scratch.subarray(inBlock, inBlock + n), done)
    }
    done += n
  }
}
