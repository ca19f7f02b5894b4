/**
 * The contents of one ramdisk: sparse, zero-aware, copy-on-write chunks of
 * pages in a persistent `HashMap`, plus the chunk index that makes seeks
 * logarithmic.
 *
 * Layout. Storage is allocated in pages of `max(4096, sectorSize)` bytes, so
 * a 4 KiB write costs one 4 KiB page however large the disk is. Pages are
 * grouped 64 to a chunk (see `Chunk`), and the `HashMap` maps a chunk number
 * to its chunk: a sequential 1 MiB transfer does four map look-ups, not 256.
 * Page memory comes from the device's `Pool`.
 *
 * Zero-aware. A page holds data or does not exist: writing zeros where no
 * page is allocates nothing, and a page that becomes all zeros (zeros
 * written over it, or partial discards) is freed. So copying a sparse
 * device keeps the copy sparse.
 *
 * Snapshots in O(1). `Contents` is an immutable value as far as anyone
 * holding it can tell. Chunks and index nodes carry the `Epoch` they were
 * created in; those of the current epoch are reachable from the live
 * contents only and are updated in place, the rest are copied before a
 * write. `snapshot` keeps the current value and starts a new epoch, so
 * everything it references becomes copy-on-write. An epoch is an object
 * compared by identity, so snapshots can even be restored into another
 * device without the two ever sharing a mutable page.
 *
 * Every function here is synchronous and runs in the single step of one
 * device operation, which is what makes each operation atomic.
 */
import * as HashMap from "effect/HashMap"
import * as Chunk from "./Chunk.js"
import { Epoch } from "./Epoch.js"
import * as MappedIndex from "./MappedIndex.js"
import type { Pool } from "./Pool.js"

export { Epoch }

const { CHUNK_PAGES } = Chunk

export { CHUNK_PAGES }

/** An immutable picture of a device's data and size. */
export interface Contents {
  readonly sizeSectors: number
  readonly chunks: HashMap.HashMap<number, Chunk.Chunk>
  /** Which chunks hold pages and which are full. */
  readonly index: MappedIndex.MappedIndex
  /** Pages held; `pageCount * pageSize` is the allocated byte count. */
  readonly pageCount: number
  /** Chunks in the map. */
  readonly chunkCount: number
  /** Chunks in the dense form (no per-page bookkeeping). */
  readonly denseChunks: number
}

/** The page size for a sector size: 4 KiB, or one sector when sectors are larger. */
export const pageSizeFor = (sectorSize: number): number => Math.max(4096, sectorSize)

/** The static layout of one device. */
export interface Layout {
  readonly sectorSize: number
  readonly pageSize: number
}

const pagesFor = (layout: Layout, sizeSectors: number): number =>
  Math.ceil(sizeSectors * layout.sectorSize / layout.pageSize)

const chunksFor = (layout: Layout, sizeSectors: number): number => Math.ceil(pagesFor(layout, sizeSectors) / CHUNK_PAGES)

export const emptyContents = (layout: Layout, sizeSectors: number, epoch: Epoch): Contents => ({
  sizeSectors,
  chunks: HashMap.empty(),
  index: MappedIndex.reserve(MappedIndex.empty, chunksFor(layout, sizeSectors), epoch),
  pageCount: 0,
  chunkCount: 0,
  denseChunks: 0
})

/** Chunk `chunkNumber` of `contents`, or undefined. */
export const chunkAt = (contents: Contents, chunkNumber: number): Chunk.Chunk | undefined => {
  const found = HashMap.get(contents.chunks, chunkNumber)
  return found._tag === "Some" ? found.value : undefined
}

/**
 * A cursor for a run of page updates within one operation: it caches the
 * last chunk looked up, makes chunks and pages writable on first touch,
 * keeps the index and the counts, and gives freed pages back to the pool.
 */
class Writer {
  chunks: HashMap.HashMap<number, Chunk.Chunk>
  index: MappedIndex.MappedIndex
  pageCount: number
  chunkCount: number
  denseChunks: number
  private chunkNumber = -1
  private chunk: Chunk.Chunk | undefined = undefined
  readonly pageSize: number

  constructor(readonly contents: Contents, readonly epoch: Epoch, readonly pool: Pool) {
    this.chunks = contents.chunks
    this.index = contents.index
    this.pageCount = contents.pageCount
    this.chunkCount = contents.chunkCount
    this.denseChunks = contents.denseChunks
    this.pageSize = pool.pageSize
  }

  lookup(chunkNumber: number): Chunk.Chunk | undefined {
    if (chunkNumber !== this.chunkNumber) {
      this.chunkNumber = chunkNumber
      const found = HashMap.get(this.chunks, chunkNumber)
      this.chunk = found._tag === "Some" ? found.value : undefined
    }
    return this.chunk
  }

  /** The chunk, in the current epoch (copied or created if needed). */
  private writableChunk(chunkNumber: number): Chunk.Chunk {
    const chunk = this.lookup(chunkNumber)
    if (chunk !== undefined && chunk.epoch === this.epoch) return chunk
    // A copied chunk owns none of its pages yet: they are shared with the older epoch.
    const copy = chunk === undefined ? Chunk.empty(this.epoch) : Chunk.share(chunk, this.epoch)
    if (chunk === undefined) this.chunkCount++
    this.chunks = HashMap.set(this.chunks, chunkNumber, copy)
    this.chunk = copy
    return copy
  }

  private sparsen(chunk: Chunk.Chunk): void {
    if (Chunk.sparsen(chunk, this.pageSize)) this.denseChunks--
  }

  /** Gives the chunk's owned pages back to the pool (the chunk is being dropped or replaced). */
  private freeOwned(chunk: Chunk.Chunk): void {
    if (chunk.epoch !== this.epoch) return
    for (let slot = 0; slot < CHUNK_PAGES; slot++) {
      if (Chunk.has(chunk, slot) && Chunk.isOwned(chunk, slot)) {
        this.pool.freePage(Chunk.bytesOf(chunk, slot), Chunk.offsetOf(chunk, slot, this.pageSize))
      }
    }
  }

  /**
   * Copies `n` bytes of `source` from `sourceOffset` into page `pageNumber`
   * at `inPage`: allocating the page if it is absent and the data is not
   * zero, copying it first if a snapshot shares it, and freeing it if it
   * ends up all zeros.
   */
  writePage(pageNumber: number, source: Uint8Array, sourceOffset: number, inPage: number, n: number): void {
    const { pageSize, pool } = this
    const chunkNumber = Math.floor(pageNumber / CHUNK_PAGES)
    const slot = pageNumber - chunkNumber * CHUNK_PAGES
    const zero = pool.isZero(source, sourceOffset, n)
    const data = sourceOffset === 0 && n === source.byteLength ? source : source.subarray(sourceOffset, sourceOffset + n)
    const current = this.lookup(chunkNumber)
    if (current === undefined || !Chunk.has(current, slot)) {
      // Zeros where nothing is: nothing to do.
      if (zero) return
      const chunk = this.writableChunk(chunkNumber)
      if (n === pageSize) pool.allocatePage()
      else pool.allocateZeroedPage()
      const bytes = pool.pageBytes
      const offset = pool.pageOffset
      bytes.set(data, offset + inPage)
      Chunk.insert(chunk, slot, bytes, offset)
      this.pageCount++
      if (Chunk.isFull(chunk)) this.index = MappedIndex.set(this.index, chunkNumber, true, this.epoch)
      else if (Chunk.count(chunk) === 1) this.index = MappedIndex.set(this.index, chunkNumber, false, this.epoch)
      return
    }
    if (zero && (n === pageSize || this.zeroOutside(current, slot, inPage, inPage + n))) {
      this.removePage(chunkNumber, slot)
      return
    }
    const chunk = this.writableChunk(chunkNumber)
    if (!Chunk.isOwned(chunk, slot)) this.copyPage(chunk, slot, n < pageSize)
    Chunk.bytesOf(chunk, slot).set(data, Chunk.offsetOf(chunk, slot, pageSize) + inPage)
  }

  /** Whether held page `slot` is zero outside bytes `[from, to)`. */
  private zeroOutside(chunk: Chunk.Chunk, slot: number, from: number, to: number): boolean {
    const bytes = Chunk.bytesOf(chunk, slot)
    const offset = Chunk.offsetOf(chunk, slot, this.pageSize)
    return this.pool.isZero(bytes, offset, from) && this.pool.isZero(bytes, offset + to, this.pageSize - to)
  }

  /** Gives page `slot` (shared with a snapshot) bytes of its own, with the old data if `keep`. */
  private copyPage(chunk: Chunk.Chunk, slot: number, keep: boolean): void {
    const { pageSize, pool } = this
    const oldBytes = Chunk.bytesOf(chunk, slot)
    const oldOffset = Chunk.offsetOf(chunk, slot, pageSize)
    pool.allocatePage()
    if (keep) pool.pageBytes.set(oldBytes.subarray(oldOffset, oldOffset + pageSize), pool.pageOffset)
    this.sparsen(chunk)
    Chunk.replace(chunk, slot, pool.pageBytes, pool.pageOffset)
  }

  /** Drops held page `pageNumber`'s slot, freeing it if owned, and the chunk if it empties. */
  private removePage(chunkNumber: number, slot: number): void {
    const chunk = this.writableChunk(chunkNumber)
    const wasFull = Chunk.isFull(chunk)
    if (Chunk.isOwned(chunk, slot)) {
      this.pool.freePage(Chunk.bytesOf(chunk, slot), Chunk.offsetOf(chunk, slot, this.pageSize))
    }
    this.sparsen(chunk)
    Chunk.remove(chunk, slot)
    this.pageCount--
    if (chunk.presentLow === 0 && chunk.presentHigh === 0) {
      this.dropChunk(chunkNumber)
    } else if (wasFull) {
      this.index = MappedIndex.set(this.index, chunkNumber, false, this.epoch)
    }
  }

  /** Removes a chunk from the map and the index (its owned pages already freed or to be freed by the caller). */
  private dropChunk(chunkNumber: number): void {
    this.chunks = HashMap.remove(this.chunks, chunkNumber)
    this.chunkCount--
    this.index = MappedIndex.clear(this.index, chunkNumber, chunkNumber + 1, this.epoch)
    this.chunkNumber = -1
    this.chunk = undefined
  }

  /**
   * Makes a whole chunk a dense copy of `chunkBytes` bytes of `source` from
   * `sourceOffset` (none of whose pages is all zeros): one slab and one copy
   * instead of 64.
   */
  replaceChunk(chunkNumber: number, source: Uint8Array, sourceOffset: number): void {
    const previous = this.lookup(chunkNumber)
    const slab = this.pool.allocateSlab()
    // Copied with `set`, not `slice`: on a Node `Buffer`, `slice` is a view, not a copy.
    slab.set(source.subarray(sourceOffset, sourceOffset + slab.byteLength))
    const chunk = Chunk.dense(this.epoch, slab)
    if (previous === undefined) {
      this.chunkCount++
    } else {
      this.freeOwned(previous)
      this.pageCount -= Chunk.count(previous)
      if (previous.slab !== undefined) this.denseChunks--
    }
    this.chunks = HashMap.set(this.chunks, chunkNumber, chunk)
    this.chunkNumber = chunkNumber
    this.chunk = chunk
    this.pageCount += CHUNK_PAGES
    this.denseChunks++
    this.index = MappedIndex.set(this.index, chunkNumber, true, this.epoch)
  }

  /** Zeroes bytes `[from, to)` of page `pageNumber`, if held; frees it if it ends up all zeros. */
  zeroPart(pageNumber: number, from: number, to: number): void {
    if (from >= to) return
    const chunkNumber = Math.floor(pageNumber / CHUNK_PAGES)
    const slot = pageNumber - chunkNumber * CHUNK_PAGES
    const current = this.lookup(chunkNumber)
    if (current === undefined || !Chunk.has(current, slot)) return
    if (this.zeroOutside(current, slot, from, to)) {
      this.removePage(chunkNumber, slot)
      return
    }
    const chunk = this.writableChunk(chunkNumber)
    if (!Chunk.isOwned(chunk, slot)) this.copyPage(chunk, slot, true)
    const offset = Chunk.offsetOf(chunk, slot, this.pageSize)
    Chunk.bytesOf(chunk, slot).fill(0, offset + from, offset + to)
  }

  /** Frees every held page in `[from, to)`. */
  dropPages(from: number, to: number): void {
    if (from >= to) return
    for (
      let chunkNumber = MappedIndex.nextAny(this.index, Math.floor(from / CHUNK_PAGES));
      chunkNumber >= 0 && chunkNumber * CHUNK_PAGES < to;
      chunkNumber = MappedIndex.nextAny(this.index, chunkNumber + 1)
    ) {
      const first = chunkNumber * CHUNK_PAGES
      const low = Math.max(from, first) - first
      const high = Math.min(to, first + CHUNK_PAGES) - first
      const chunk = this.lookup(chunkNumber)!
      if (low === 0 && high === CHUNK_PAGES) {
        this.freeOwned(chunk)
        this.pageCount -= Chunk.count(chunk)
        if (chunk.slab !== undefined) this.denseChunks--
        this.dropChunk(chunkNumber)
        continue
      }
      for (let slot = low; slot < high; slot++) {
        const current = this.lookup(chunkNumber)
        if (current === undefined) break
        if (Chunk.has(current, slot)) this.removePage(chunkNumber, slot)
      }
    }
  }

  result(sizeSectors: number): Contents {
    if (
      this.chunks === this.contents.chunks && this.index === this.contents.index &&
      this.pageCount === this.contents.pageCount && this.denseChunks === this.contents.denseChunks &&
      sizeSectors === this.contents.sizeSectors
    ) return this.contents
    return {
      sizeSectors,
      chunks: this.chunks,
      index: this.index,
      pageCount: this.pageCount,
      chunkCount: this.chunkCount,
      denseChunks: this.denseChunks
    }
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
  let chunk: Chunk.Chunk | undefined
  let done = 0
  while (done < length) {
    const position = byteOffset + done
    const pageNumber = Math.floor(position / pageSize)
    const wantedChunk = Math.floor(pageNumber / CHUNK_PAGES)
    if (wantedChunk !== chunkNumber) {
      chunkNumber = wantedChunk
      chunk = chunkAt(contents, chunkNumber)
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
    const inPage = position - pageNumber * pageSize
    const n = Math.min(pageSize - inPage, length - done)
    const slot = pageNumber - chunkNumber * CHUNK_PAGES
    if (chunk === undefined || !Chunk.has(chunk, slot)) {
      target.fill(0, targetOffset + done, targetOffset + done + n)
    } else {
      const start = Chunk.offsetOf(chunk, slot, pageSize) + inPage
      target.set(Chunk.bytesOf(chunk, slot).subarray(start, start + n), targetOffset + done)
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
  for (let i = 0; i < buffers.length; i++) {
    const buffer = buffers[i]!
    readRange(contents, layout.pageSize, position, buffer, 0, buffer.byteLength)
    position += buffer.byteLength
  }
}

/**
 * Bytes from `done` of `source` (at most `count`, starting at `inPage` of a
 * page) that fall in pages none of whose part here is all zeros.
 */
const nonZeroPrefix = (pool: Pool, source: Uint8Array, done: number, inPage: number, count: number): number => {
  const { pageSize } = pool
  let covered = 0
  let segment = Math.min(pageSize - inPage, count)
  while (covered < count) {
    if (pool.isZero(source, done + covered, segment)) break
    covered += segment
    segment = Math.min(pageSize, count - covered)
  }
  return covered
}

/** Copies `source` into consecutive bytes starting at `position`. */
const writeBuffer = (writer: Writer, source: Uint8Array, byteOffset: number): void => {
  const { epoch, pageSize, pool } = writer
  const chunkBytes = CHUNK_PAGES * pageSize
  const length = source.byteLength
  let position = byteOffset
  let done = 0
  while (done < length) {
    const pageNumber = Math.floor(position / pageSize)
    const chunkNumber = Math.floor(pageNumber / CHUNK_PAGES)
    const inPage = position - pageNumber * pageSize
    const chunk = writer.lookup(chunkNumber)
    if (chunk !== undefined && chunk.slab !== undefined && chunk.epoch === epoch && Chunk.isAllOwned(chunk)) {
      // A dense chunk of this epoch: copy everything that falls in it at once, up to any zero page.
      const inChunk = position - chunkNumber * chunkBytes
      const count = nonZeroPrefix(pool, source, done, inPage, Math.min(chunkBytes - inChunk, length - done))
      if (count > 0) {
        chunk.slab.set(count === length ? source : source.subarray(done, done + count), inChunk)
        done += count
        position += count
        continue
      }
    } else if (
      inPage === 0 && position === chunkNumber * chunkBytes && length - done >= chunkBytes &&
      nonZeroPrefix(pool, source, done, 0, chunkBytes) === chunkBytes
    ) {
      // The write covers this whole chunk with data: build it dense from one copy.
      writer.replaceChunk(chunkNumber, source, done)
      done += chunkBytes
      position += chunkBytes
      continue
    }
    const n = Math.min(pageSize - inPage, length - done)
    writer.writePage(pageNumber, source, done, inPage, n)
    done += n
    position += n
  }
}

/** Copies `buffers` into consecutive bytes starting at `byteOffset`. */
export const write = (
  contents: Contents,
  epoch: Epoch,
  pool: Pool,
  byteOffset: number,
  buffers: ReadonlyArray<Uint8Array>
): Contents => {
  const writer = new Writer(contents, epoch, pool)
  let position = byteOffset
  for (let i = 0; i < buffers.length; i++) {
    const buffer = buffers[i]!
    writeBuffer(writer, buffer, position)
    position += buffer.byteLength
  }
  return writer.result(contents.sizeSectors)
}

/**
 * Applies many writes, in order, as one update: `requests` hold byte
 * offsets (`sectorStart × sectorSize`) and their buffers.
 */
export const writeMany = (
  contents: Contents,
  epoch: Epoch,
  pool: Pool,
  sectorSize: number,
  requests: ReadonlyArray<{ readonly sectorStart: number; readonly list: ReadonlyArray<Uint8Array> }>
): Contents => {
  const writer = new Writer(contents, epoch, pool)
  for (let r = 0; r < requests.length; r++) {
    const request = requests[r]!
    let position = request.sectorStart * sectorSize
    const buffers = request.list
    for (let i = 0; i < buffers.length; i++) {
      const buffer = buffers[i]!
      writeBuffer(writer, buffer, position)
      position += buffer.byteLength
    }
  }
  return writer.result(contents.sizeSectors)
}

/** Zeroes bytes `[from, to)`, freeing the pages the range fully covers and those left all zeros. */
const zeroRange = (writer: Writer, pageSize: number, from: number, to: number): void => {
  if (from >= to) return
  const firstFull = Math.ceil(from / pageSize)
  const endFull = Math.floor(to / pageSize)
  if (firstFull > endFull) {
    // The range lies inside a single page.
    const page = Math.floor(from / pageSize)
    writer.zeroPart(page, from - page * pageSize, to - page * pageSize)
    return
  }
  if (from < firstFull * pageSize) writer.zeroPart(firstFull - 1, from - (firstFull - 1) * pageSize, pageSize)
  if (to > endFull * pageSize) writer.zeroPart(endFull, 0, to - endFull * pageSize)
  writer.dropPages(firstFull, endFull)
}

/** Makes sectors `[sectorStart, sectorStart + sectors)` read as zeros. */
export const discard = (
  contents: Contents,
  layout: Layout,
  epoch: Epoch,
  pool: Pool,
  sectorStart: number,
  sectors: number
): Contents => {
  const writer = new Writer(contents, epoch, pool)
  zeroRange(writer, layout.pageSize, sectorStart * layout.sectorSize, (sectorStart + sectors) * layout.sectorSize)
  return writer.result(contents.sizeSectors)
}

/** Changes the size; data past a new, smaller end is dropped so a later grow reads zeros. */
export const resize = (contents: Contents, layout: Layout, epoch: Epoch, pool: Pool, sizeSectors: number): Contents => {
  const writer = new Writer(contents, epoch, pool)
  const oldBytes = contents.sizeSectors * layout.sectorSize
  const newBytes = sizeSectors * layout.sectorSize
  if (newBytes < oldBytes) {
    // Everything from the new end to the end of the last page goes.
    zeroRange(writer, layout.pageSize, newBytes, Math.max(oldBytes, pagesFor(layout, contents.sizeSectors) * layout.pageSize))
  } else {
    writer.index = MappedIndex.reserve(writer.index, chunksFor(layout, sizeSectors), epoch)
  }
  return writer.result(sizeSectors)
}
