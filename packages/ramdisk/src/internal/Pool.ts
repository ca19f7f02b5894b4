/**
 * The memory of one ramdisk: page buffers carved out of pooled slabs, the
 * free pages kept for reuse, and the zero test that keeps the device sparse.
 *
 * Why slabs. Allocating one `ArrayBuffer` per 4 KiB page costs microseconds
 * (and about 200 bytes of bookkeeping off the JS heap), which made first
 * writes several times dearer than rewrites. A slab holds up to 256 KiB of pages;
 * a page is named by its slab's bytes and a byte offset into them, so the
 * store keeps no view object per page.
 *
 * Why reuse. A page freed by the live device (a discard, zeros written over
 * it) goes back to its slab's free list and is handed out again, so a freed
 * page never keeps a half-empty slab alive for nothing. A slab whose pages
 * are all free is let go. Only pages that no snapshot can see are freed here
 * (the store checks ownership); a page that a snapshot still references is
 * simply dropped by the live contents and lives as long as the snapshot.
 *
 * One pool per device (created with the device's state): nothing is shared
 * between devices or kept in module state.
 */

/** Bytes of page memory a slab holds at most (fewer pages of larger sectors, and fewer for a tiny device). */
const SLAB_BYTES = 256 * 1024

/** A slab's bookkeeping: its bytes, how many pages it has, and the offsets of its free pages. */
interface Slab {
  readonly bytes: Uint8Array
  readonly pages: number
  readonly free: Array<number>
}

/** The page allocator and zero test of one device. */
export class Pool {
  /** Pages of one slab carved into single pages. */
  readonly slabPages: number
  /** Free pages held for reuse, across all slabs. */
  freePages = 0
  /** Slabs currently referenced by the pool (those with free pages). */
  private readonly partial: Array<Slab> = []
  /** Every slab this pool made, by its bytes; weak, so a slab nobody uses is collected. */
  private readonly slabs = new WeakMap<Uint8Array, Slab>()
  /** Zeros to compare against, created on first use. */
  private zeros: Buffer | undefined = undefined
  /** The page `allocatePage` returned: its slab's bytes and byte offset (no tuple per call). */
  pageBytes: Uint8Array = new Uint8Array(0)
  pageOffset = 0

  /**
   * `chunkPages`: pages of a dense chunk (see `allocateSlab`); `devicePages`:
   * the device's size in pages, so a tiny device does not get a big slab.
   */
  constructor(readonly pageSize: number, readonly chunkPages: number, devicePages: number) {
    this.slabPages = Math.max(1, Math.min(chunkPages, Math.floor(SLAB_BYTES / pageSize), devicePages))
  }

  /**
   * A page, in `pageBytes` / `pageOffset`. Its contents are undefined (a
   * reused page holds old data): callers that do not overwrite all of it
   * zero it first, see `allocateZeroedPage`.
   */
  allocatePage(): void {
    let slab = this.partial[this.partial.length - 1]
    if (slab === undefined) {
      slab = this.newSlab(this.slabPages)
      for (let page = this.slabPages - 1; page >= 0; page--) slab.free.push(page * this.pageSize)
      this.freePages += this.slabPages
      this.partial.push(slab)
    }
    this.pageBytes = slab.bytes
    this.pageOffset = slab.free.pop()!
    this.freePages--
    if (slab.free.length === 0) this.partial.pop()
  }

  /** Like `allocatePage`, with the page's bytes zeroed. */
  allocateZeroedPage(): void {
    this.allocatePage()
    this.pageBytes.fill(0, this.pageOffset, this.pageOffset + this.pageSize)
  }

  /** A whole new slab for a dense chunk (`chunkPages` pages), all pages in use. */
  allocateSlab(): Uint8Array {
    return this.newSlab(this.chunkPages).bytes
  }

  /**
   * Gives back a page no one references any more. Pages of slabs this pool
   * did not make (restored from another device's snapshot) are ignored.
   */
  freePage(bytes: Uint8Array, offset: number): void {
    const slab = this.slabs.get(bytes)
    if (slab === undefined) return
    slab.free.push(offset)
    this.freePages++
    if (slab.free.length === 1) this.partial.push(slab)
    if (slab.free.length === slab.pages && this.partial.length > 1) {
      // Every page of the slab is free: let the memory go rather than hold it
      // (keeping one slab with free pages, so a write and discard in a loop
      // does not make a new slab each time).
      const at = this.partial.lastIndexOf(slab)
      if (at >= 0) this.partial.splice(at, 1)
      this.slabs.delete(bytes)
      this.freePages -= slab.pages
    }
  }

  /** Whether `length` bytes of `bytes` from `offset` are all zero (native comparison, not a byte loop). */
  isZero(bytes: Uint8Array, offset: number, length: number): boolean {
    // Most data is not zero at either end: decide those without a call.
    if (length === 0) return true
    if (bytes[offset] !== 0 || bytes[offset + length - 1] !== 0) return false
    const zeros = this.zeros ?? (this.zeros = Buffer.alloc(this.pageSize))
    const step = zeros.byteLength
    for (let done = 0; done < length; done += step) {
      const n = Math.min(step, length - done)
      if (zeros.compare(bytes, offset + done, offset + done + n, 0, n) !== 0) return false
    }
    return true
  }

  /** Drops every slab: the device is gone. */
  clear(): void {
    this.partial.length = 0
    this.freePages = 0
  }

  private newSlab(pages: number): Slab {
    const slab: Slab = { bytes: new Uint8Array(pages * this.pageSize), pages, free: [] }
    this.slabs.set(slab.bytes, slab)
    return slab
  }
}
