/**
 * A chunk: 64 consecutive pages of a ramdisk, the unit the store's `HashMap`
 * maps. This module is its representation and the few in-place edits the
 * store makes to a chunk it owns.
 *
 * Two forms. A *dense* chunk holds all 64 pages in one buffer (`slab`), page
 * i at byte i × pageSize, so a transfer across it is one copy and it costs
 * no per-page memory at all. A *sparse* chunk holds the pages it has, packed
 * in slot order in `pages` as (bytes, byte offset) pairs into pooled slabs:
 * a chunk far from all others costs one small object and one short array,
 * and no view object per page. `present*` says which slots are held; the
 * position of a slot's pair is the number of present slots below it.
 *
 * Ownership. A chunk carries the `Epoch` it was made in; one of the current
 * epoch is reachable from the live contents only and is edited in place.
 * Within it, `owned*` says which pages were allocated in that epoch (so may
 * be written in place, and given back to the pool when freed); the others
 * are shared with a snapshot and are copied before a write.
 */
import type { Epoch } from "./Epoch.js"
import { popcount } from "./MappedIndex.js"

/** Pages per chunk. */
export const CHUNK_PAGES = 64

/** All 32 bits of a mask. */
export const ALL = -1

/** 64 consecutive pages; see the module comment for the two forms. */
export interface Chunk {
  readonly epoch: Epoch
  /** Bit i: slot i is held (slots 0-31). */
  presentLow: number
  /** Bit i: slot 32 + i is held. */
  presentHigh: number
  /** Bit i: slot i was allocated in `epoch` (slots 0-31). */
  ownedLow: number
  /** Bit i: slot 32 + i was allocated in `epoch`. */
  ownedHigh: number
  /** Sparse form: bytes and byte offset of each held page, in slot order. Empty when dense. */
  pages: Array<Uint8Array | number>
  /** Dense form: all 64 pages in this buffer, page i at i × pageSize. */
  slab: Uint8Array | undefined
}

/** A new, empty chunk of `epoch`. */
export const empty = (epoch: Epoch): Chunk => ({
  epoch,
  presentLow: 0,
  presentHigh: 0,
  ownedLow: 0,
  ownedHigh: 0,
  pages: [],
  slab: undefined
})

/** A chunk of `epoch` holding the same pages as `chunk`, owning none of them. */
export const share = (chunk: Chunk, epoch: Epoch): Chunk => ({
  epoch,
  presentLow: chunk.presentLow,
  presentHigh: chunk.presentHigh,
  ownedLow: 0,
  ownedHigh: 0,
  pages: chunk.pages.slice(),
  slab: chunk.slab
})

/** A dense chunk of `epoch` over `slab`, owning every page. */
export const dense = (epoch: Epoch, slab: Uint8Array): Chunk => ({
  epoch,
  presentLow: ALL,
  presentHigh: ALL,
  ownedLow: ALL,
  ownedHigh: ALL,
  pages: [],
  slab
})

export const has = (chunk: Chunk, slot: number): boolean =>
  slot < 32 ? (chunk.presentLow & (1 << slot)) !== 0 : (chunk.presentHigh & (1 << (slot - 32))) !== 0

export const isOwned = (chunk: Chunk, slot: number): boolean =>
  slot < 32 ? (chunk.ownedLow & (1 << slot)) !== 0 : (chunk.ownedHigh & (1 << (slot - 32))) !== 0

export const isFull = (chunk: Chunk): boolean => chunk.presentLow === ALL && chunk.presentHigh === ALL

export const isAllOwned = (chunk: Chunk): boolean => chunk.ownedLow === ALL && chunk.ownedHigh === ALL

/** Pages held. */
export const count = (chunk: Chunk): number => popcount(chunk.presentLow) + popcount(chunk.presentHigh)

/** Position of slot's pair in `pages`: twice the number of held slots below it. */
const position = (chunk: Chunk, slot: number): number =>
  2 * (slot < 32 ?
    popcount(chunk.presentLow & ((1 << slot) - 1)) :
    popcount(chunk.presentLow) + popcount(chunk.presentHigh & ((1 << (slot - 32)) - 1)))

/** The buffer holding held page `slot`. */
export const bytesOf = (chunk: Chunk, slot: number): Uint8Array =>
  chunk.slab ?? chunk.pages[position(chunk, slot)] as Uint8Array

/** The byte offset of held page `slot` in `bytesOf(chunk, slot)`. */
export const offsetOf = (chunk: Chunk, slot: number, pageSize: number): number =>
  chunk.slab !== undefined ? slot * pageSize : chunk.pages[position(chunk, slot) + 1] as number

/** The first slot ≥ `slot` whose bit is set in the 64-bit mask (low, high), or -1. */
export const firstFrom = (low: number, high: number, slot: number): number => {
  if (slot < 32) {
    const masked = (low >>> slot) << slot
    if (masked !== 0) return 31 - Math.clz32(masked & -masked)
    slot = 32
  }
  if (slot >= 64) return -1
  const masked = (high >>> (slot - 32)) << (slot - 32)
  return masked === 0 ? -1 : 32 + 31 - Math.clz32(masked & -masked)
}

// The edits below apply to a chunk of the current epoch only.

/** Turns a dense chunk sparse (one pair per page, no copying of data). Returns whether it was dense. */
export const sparsen = (chunk: Chunk, pageSize: number): boolean => {
  const slab = chunk.slab
  if (slab === undefined) return false
  const pages = new Array<Uint8Array | number>(2 * CHUNK_PAGES)
  for (let slot = 0; slot < CHUNK_PAGES; slot++) {
    pages[2 * slot] = slab
    pages[2 * slot + 1] = slot * pageSize
  }
  chunk.pages = pages
  chunk.slab = undefined
  return true
}

const markOwned = (chunk: Chunk, slot: number): void => {
  if (slot < 32) chunk.ownedLow |= 1 << slot
  else chunk.ownedHigh |= 1 << (slot - 32)
}

/** Adds page `slot` (absent, so the chunk is sparse), owned. */
export const insert = (chunk: Chunk, slot: number, bytes: Uint8Array, offset: number): void => {
  chunk.pages.splice(position(chunk, slot), 0, bytes, offset)
  if (slot < 32) chunk.presentLow |= 1 << slot
  else chunk.presentHigh |= 1 << (slot - 32)
  markOwned(chunk, slot)
}

/** Points held page `slot` at new, owned bytes (the chunk must be sparse). */
export const replace = (chunk: Chunk, slot: number, bytes: Uint8Array, offset: number): void => {
  const at = position(chunk, slot)
  chunk.pages[at] = bytes
  chunk.pages[at + 1] = offset
  markOwned(chunk, slot)
}

/** Removes held page `slot` (the chunk must be sparse). */
export const remove = (chunk: Chunk, slot: number): void => {
  chunk.pages.splice(position(chunk, slot), 2)
  if (slot < 32) {
    chunk.presentLow &= ~(1 << slot)
    chunk.ownedLow &= ~(1 << slot)
  } else {
    chunk.presentHigh &= ~(1 << (slot - 32))
    chunk.ownedHigh &= ~(1 << (slot - 32))
  }
}
