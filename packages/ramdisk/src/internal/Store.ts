/**
 * The contents of one ramdisk: sparse, copy-on-write pages in a persistent
 * `HashMap`, plus the mapped-page index that makes seeks logarithmic.
 *
 * Layout. Storage is allocated in pages of `max(4096, sectorSize)` bytes, so a
 * 4 KiB write costs one 4 KiB page however large the disk is. Pages are
 * grouped 64 to a chunk, and the `HashMap` maps a chunk number to its chunk:
 * a sequential 1 MiB transfer does four map look-ups, not 256.
 *
 * Snapshots in O(1). `Contents` is an immutable value. Chunks, pages and index
 * nodes carry the `Epoch` they were created in; those of the current epoch are
 * reachable from the live contents only and are updated in place, the rest
 * are copied before a write. `snapshot` keeps the current value and starts a
 * new epoch, so everything it references becomes copy-on-write. An epoch is
 * an object compared by identity, so snapshots can even be restored into
 * another device without the two ever sharing a mutable page.
 *
 * Every function here is synchronous and is run inside one `Ref.modify` or
 * `Ref.get`, which is what makes each device operation atomic.
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { Epoch } from "./Epoch.js"
import * as MappedIndex from "./MappedIndex.js"

export { Epoch }

/**
 * 64 consecutive pages. Pages are bare `Uint8Array`s (no wrapper object: one
 * pointer less to chase per access); which of them belong to the chunk's
 * epoch, and so may change in place, is kept in two 32-bit masks.
 */
interface Chunk {
  readonly epoch: Epoch
  readonly pages: Array<Uint8Array | undefined>
  /** Bit i: page i was allocated in `epoch` (pages 0-31). Mutable while the chunk is owned. */
  ownedLow: number
  /** Bit i: page 32 + i was allocated in `epoch`. */
  ownedHigh: number
  /** Pages present in `pages`. Mutable while the chunk is owned. */
  count: number
  /**
   * Set when the chunk is dense: all 64 pages present, owned, and laid out in
   * this one buffer (each `pages[i]` is a view of it), so a transfer spanning
   * many pages is one copy. Only ever set on an owned chunk; a copy of the
   * chunk for a later epoch starts sparse again, sharing the views.
   */
  slab: Uint8Array | undefined
}

const ALL_OWNED = -1

const isOwned = (chunk: Chunk, slot: number): boolean =>
  slot < 32 ? (chunk.ownedLow & (1 << slot)) !== 0 : (chunk.ownedHigh & (1 << (slot - 32))) !== 0

const markOwned = (chunk: Chunk, slot: number): void => {
  if (slot < 32) chunk.ownedLow |= 1 << slot
  else chunk.ownedHigh |= 1 << (slot - 32)
}

/** An immutable picture of a device's data and size. */
export interface Contents {
  readonly sizeSectors: number
  readonly chunks: HashMap.HashMap<number, Chunk>
  readonly index: MappedIndex.MappedIndex
  /** Pages held; `pageCount * pageSize` is the allocated byte count. */
  readonly pageCount: number
}

export const CHUNK_PAGES = 64

/** The page size for a sector size: 4 KiB, or one sector when sectors are larger. */
export const pageSizeFor = (sectorSize: number): number => Math.max(4096, sectorSize)

/** The static layout of one device. */
export interface Layout {
  readonly sectorSize: number
  readonly pageSize: number
}

const pagesFor = (layout: Layout, sizeSectors: number): number =>
  Math.ceil(sizeSectors * layout.sectorSize / layout.pageSize)

export const emptyContents = (layout: Layout, sizeSectors: number, epoch: Epoch): Contents => ({
  sizeSectors,
  chunks: HashMap.empty(),
  index: MappedIndex.reserve(MappedIndex.empty, pagesFor(layout, sizeSectors), epoch),
  pageCount: 0
})

/**
 * A cursor for a run of page updates within one operation: it caches the
 * last chunk looked up, makes chunks and pages writable on first touch, and
 * accumulates the new map, index and page count.
 */
class Writer {
  chunks: HashMap.HashMap<number, Chunk>
  index: MappedIndex.MappedIndex
  pageCount: number
  private chunkNumber = -1
  private chunk: Chunk | undefined = undefined

  constructor(readonly contents: Contents, readonly epoch: Epoch, readonly pageSize: number) {
    this.chunks = contents.chunks
    this.index = contents.index
    this.pageCount = contents.pageCount
  }

  private lookup(chunkNumber: number): Chunk | undefined {
    if (chunkNumber !== this.chunkNumber) {
      this.chunkNumber = chunkNumber
      this.chunk = Option.getOrUndefined(HashMap.get(this.chunks, chunkNumber))
    }
    return this.chunk
  }

  private writableChunk(chunkNumber: number): Chunk {
    const chunk = this.lookup(chunkNumber)
    if (chunk !== undefined && chunk.epoch === this.epoch) return chunk
    // A copied chunk owns none of its pages yet: they are shared with the older epoch.
    const copy: Chunk = chunk === undefined ?
      {
        epoch: this.epoch,
        pages: new Array<Uint8Array | undefined>(CHUNK_PAGES),
        ownedLow: 0,
        ownedHigh: 0,
        count: 0,
        slab: undefined
      } :
      { epoch: this.epoch, pages: chunk.pages.slice(), ownedLow: 0, ownedHigh: 0, count: chunk.count, slab: undefined }
    this.chunks = HashMap.set(this.chunks, chunkNumber, copy)
    this.chunk = copy
    return copy
  }

  /**
   * The page's bytes, ready to be changed in place; allocated (zeroed) if
   * absent. `coming` says how many pages from this one the caller is about to
   * write: absent pages among them (in this chunk) are allocated together, in
   * one buffer, which is much cheaper than one buffer per page.
   */
  writablePage(pageNumber: number, coming = 1): Uint8Array {
    const chunkNumber = Math.floor(pageNumber / CHUNK_PAGES)
    const slot = pageNumber - chunkNumber * CHUNK_PAGES
    const current = this.lookup(chunkNumber)
    // A page owned by the current epoch is reachable from the live contents only.
    if (current !== undefined && current.epoch === this.epoch && isOwned(current, slot)) return current.pages[slot]!
    const chunk = this.writableChunk(chunkNumber)
    const page = chunk.pages[slot]
    if (page !== undefined) {
      chunk.pages[slot] = page.slice()
      markOwned(chunk, slot)
    } else {
      let absent = 1
      while (absent < coming && slot + absent < CHUNK_PAGES && chunk.pages[slot + absent] === undefined) absent++
      const block = new Uint8Array(absent * this.pageSize)
      for (let i = 0; i < absent; i++) {
        chunk.pages[slot + i] = absent === 1 ? block : block.subarray(i * this.pageSize, (i + 1) * this.pageSize)
        markOwned(chunk, slot + i)
        this.index = MappedIndex.set(this.index, pageNumber + i, this.epoch)
      }
      chunk.count += absent
      this.pageCount += absent
    }
    if (chunk.ownedLow === ALL_OWNED && chunk.ownedHigh === ALL_OWNED) return this.densify(chunk, slot)
    return chunk.pages[slot]!
  }

  /**
   * Moves a chunk whose 64 pages are all present and owned into one buffer:
   * one 64-page copy, after which transfers across the chunk are single copies.
   * Returns the new view of page `slot`.
   */
  private densify(chunk: Chunk, slot: number): Uint8Array {
    const { pageSize } = this
    const slab = new Uint8Array(CHUNK_PAGES * pageSize)
    for (let i = 0; i < CHUNK_PAGES; i++) {
      const view = slab.subarray(i * pageSize, (i + 1) * pageSize)
      view.set(chunk.pages[i]!)
      chunk.pages[i] = view
    }
    chunk.slab = slab
    return chunk.pages[slot]!
  }

  /**
   * Replaces a whole chunk with `slab` (64 pages of new data, owned by no one
   * else): one allocation and one copy instead of 64, for large writes into
   * chunks that are absent or shared with a snapshot.
   */
  replaceChunk(chunkNumber: number, slab: Uint8Array): void {
    const { pageSize } = this
    const previous = this.lookup(chunkNumber)
    const pages = new Array<Uint8Array | undefined>(CHUNK_PAGES)
    for (let i = 0; i < CHUNK_PAGES; i++) pages[i] = slab.subarray(i * pageSize, (i + 1) * pageSize)
    const chunk: Chunk = {
      epoch: this.epoch,
      pages,
      ownedLow: ALL_OWNED,
      ownedHigh: ALL_OWNED,
      count: CHUNK_PAGES,
      slab
    }
    this.chunks = HashMap.set(this.chunks, chunkNumber, chunk)
    this.chunk = chunk
    const previousCount = previous?.count ?? 0
    if (previousCount < CHUNK_PAGES) {
      this.pageCount += CHUNK_PAGES - previousCount
      const first = chunkNumber * CHUNK_PAGES
      for (let page = first; page < first + CHUNK_PAGES; page++) this.index = MappedIndex.set(this.index, page, this.epoch)
    }
  }

  /** The buffer of a dense chunk of the current epoch, to be changed in place; otherwise undefined. */
  ownedSlab(chunkNumber: number): Uint8Array | undefined {
    const chunk = this.lookup(chunkNumber)
    return chunk !== undefined && chunk.epoch === this.epoch ? chunk.slab : undefined
  }

  /** Frees every held page in `[from, to)`. */
  dropPages(from: number, to: number): void {
    for (let page = MappedIndex.nextMapped(this.index, from); page >= 0 && page < to; page = MappedIndex.nextMapped(this.index, page + 1)) {
      const chunkNumber = Math.floor(page / CHUNK_PAGES)
      const chunk = this.writableChunk(chunkNumber)
      const slot = page - chunkNumber * CHUNK_PAGES
      if (chunk.pages[slot] === undefined) continue
      chunk.pages[slot] = undefined
      // No longer full: the remaining views keep the buffer alive, but the chunk is sparse again.
      chunk.slab = undefined
      if (slot < 32) chunk.ownedLow &= ~(1 << slot)
      else chunk.ownedHigh &= ~(1 << (slot - 32))
      chunk.count--
      this.pageCount--
      if (chunk.count === 0) {
        this.chunks = HashMap.remove(this.chunks, chunkNumber)
        this.chunkNumber = -1
        this.chunk = undefined
      }
    }
    this.index = MappedIndex.clear(this.index, from, to, this.epoch)
  }

  /** Zeroes bytes `[from, to)` of a page, if it is held. */
  zero(pageNumber: number, from: number, to: number): void {
    if (from >= to) return
    const chunkNumber = Math.floor(pageNumber / CHUNK_PAGES)
    // Zeroing an absent page would only allocate zeros.
    if (this.lookup(chunkNumber)?.pages[pageNumber - chunkNumber * CHUNK_PAGES] === undefined) return
    this.writablePage(pageNumber).fill(0, from, to)
  }

  result(sizeSectors: number): Contents {
    if (
      this.chunks === this.contents.chunks && this.index === this.contents.index &&
      this.pageCount === this.contents.pageCount && sizeSectors === this.contents.sizeSectors
    ) return this.contents
    return { sizeSectors, chunks: this.chunks, index: this.index, pageCount: this.pageCount }
  }
}

/** Copies `length` bytes from `byteOffset` into `target` at `targetOffset`. */
const readRange = (
  contents: Contents,
  pageSize: number,
  byteOffset: number,
  target: Uint8Array,
  targetOffset: number,
  length: number
): void => {
  let chunkNumber = -1
  let chunk: Chunk | undefined
  let done = 0
  while (done < length) {
    const position = byteOffset + done
    const pageNumber = Math.floor(position / pageSize)
    const inPage = position - pageNumber * pageSize
    const n = Math.min(pageSize - inPage, length - done)
    const wantedChunk = Math.floor(pageNumber / CHUNK_PAGES)
    if (wantedChunk !== chunkNumber) {
      chunkNumber = wantedChunk
      chunk = Option.getOrUndefined(HashMap.get(contents.chunks, chunkNumber))
    }
    const slab = chunk?.slab
    if (slab !== undefined) {
      // A dense chunk: copy everything wanted from it at once.
      const inChunk = position - chunkNumber * CHUNK_PAGES * pageSize
      const count = Math.min(slab.byteLength - inChunk, length - done)
      target.set(slab.subarray(inChunk, inChunk + count), targetOffset + done)
      done += count
      continue
    }
    const page = chunk?.pages[pageNumber - chunkNumber * CHUNK_PAGES]
    if (page === undefined) {
      target.fill(0, targetOffset + done, targetOffset + done + n)
    } else {
      target.set(n === pageSize ? page : page.subarray(inPage, inPage + n), targetOffset + done)
    }
    done += n
  }
}

/** Fills `buffers` from consecutive bytes starting at `byteOffset`. */
export const read = (
  contents: Contents,
  layout: Layout,
  byteOffset: number,
  buffers: ReadonlyArray<Uint8Array>
): void => {
  let position = byteOffset
  for (const buffer of buffers) {
    readRange(contents, layout.pageSize, position, buffer, 0, buffer.byteLength)
    position += buffer.byteLength
  }
}

/** Copies `buffers` into consecutive bytes starting at `byteOffset`. */
export const write = (
  contents: Contents,
  layout: Layout,
  epoch: Epoch,
  byteOffset: number,
  buffers: ReadonlyArray<Uint8Array>
): Contents => {
  const { pageSize } = layout
  const writer = new Writer(contents, epoch, pageSize)
  let position = byteOffset
  for (const buffer of buffers) {
    const length = buffer.byteLength
    let done = 0
    while (done < length) {
      const pageNumber = Math.floor(position / pageSize)
      const chunkNumber = Math.floor(pageNumber / CHUNK_PAGES)
      const slab = writer.ownedSlab(chunkNumber)
      if (slab !== undefined) {
        // A dense chunk of this epoch: copy everything that falls in it at once.
        const inChunk = position - chunkNumber * CHUNK_PAGES * pageSize
        const count = Math.min(slab.byteLength - inChunk, length - done)
        slab.set(count === length ? buffer : buffer.subarray(done, done + count), inChunk)
        done += count
        position += count
        continue
      }
      const chunkBytes = CHUNK_PAGES * pageSize
      if (position === chunkNumber * chunkBytes && length - done >= chunkBytes) {
        // The write covers this whole chunk: build it dense from a copy of the data.
        // (Copied with `set`, not `slice`: on a Node `Buffer`, `slice` is a view, not a copy.)
        const slab = new Uint8Array(chunkBytes)
        slab.set(buffer.subarray(done, done + chunkBytes))
        writer.replaceChunk(chunkNumber, slab)
        done += chunkBytes
        position += chunkBytes
        continue
      }
      const inPage = position - pageNumber * pageSize
      const n = Math.min(pageSize - inPage, length - done)
      const coming = Math.ceil((position + length - done) / pageSize) - pageNumber
      writer.writablePage(pageNumber, coming).set(n === length ? buffer : buffer.subarray(done, done + n), inPage)
      done += n
      position += n
    }
  }
  return writer.result(contents.sizeSectors)
}

/** Zeroes bytes `[from, to)`, freeing the pages the range fully covers. */
const zeroRange = (writer: Writer, pageSize: number, from: number, to: number): void => {
  if (from >= to) return
  const firstFull = Math.ceil(from / pageSize)
  const endFull = Math.floor(to / pageSize)
  if (firstFull > endFull) {
    // The range lies inside a single page.
    const page = Math.floor(from / pageSize)
    writer.zero(page, from - page * pageSize, to - page * pageSize)
    return
  }
  if (from < firstFull * pageSize) writer.zero(firstFull - 1, from - (firstFull - 1) * pageSize, pageSize)
  if (to > endFull * pageSize) writer.zero(endFull, 0, to - endFull * pageSize)
  writer.dropPages(firstFull, endFull)
}

/** Makes sectors `[sectorStart, sectorStart + sectors)` read as zeros. */
export const discard = (
  contents: Contents,
  layout: Layout,
  epoch: Epoch,
  sectorStart: number,
  sectors: number
): Contents => {
  const writer = new Writer(contents, epoch, layout.pageSize)
  zeroRange(writer, layout.pageSize, sectorStart * layout.sectorSize, (sectorStart + sectors) * layout.sectorSize)
  return writer.result(contents.sizeSectors)
}

/** Changes the size; data past a new, smaller end is dropped so a later grow reads zeros. */
export const resize = (contents: Contents, layout: Layout, epoch: Epoch, sizeSectors: number): Contents => {
  const writer = new Writer(contents, epoch, layout.pageSize)
  const oldBytes = contents.sizeSectors * layout.sectorSize
  const newBytes = sizeSectors * layout.sectorSize
  if (newBytes < oldBytes) {
    // Everything from the new end to the end of the trie's reach goes.
    zeroRange(writer, layout.pageSize, newBytes, Math.max(oldBytes, pagesFor(layout, contents.sizeSectors) * layout.pageSize))
  } else {
    writer.index = MappedIndex.reserve(writer.index, pagesFor(layout, sizeSectors), epoch)
  }
  return writer.result(sizeSectors)
}

/**
 * A seek in sectors from a page search: the page holding `from` answers at
 * once; a later page answers at its first sector; none answers the size.
 */
const seek = (
  contents: Contents,
  layout: Layout,
  from: number,
  nextPage: (index: MappedIndex.MappedIndex, page: number) => number
): number => {
  const size = contents.sizeSectors
  if (from >= size) return size
  const sectorsPerPage = layout.pageSize / layout.sectorSize
  const page = Math.floor(from / sectorsPerPage)
  const next = nextPage(contents.index, page)
  if (next < 0) return size
  return next === page ? from : Math.min(size, next * sectorsPerPage)
}

/** See `BlockDevice.seekMapped`: the first sector ≥ `from` in a held page, or the size. */
export const seekMapped = (contents: Contents, layout: Layout, from: number): number =>
  seek(contents, layout, from, MappedIndex.nextMapped)

/** See `BlockDevice.seekUnmapped`: the first sector ≥ `from` in a page not held, or the size. */
export const seekUnmapped = (contents: Contents, layout: Layout, from: number): number =>
  seek(contents, layout, from, MappedIndex.nextUnmapped)
