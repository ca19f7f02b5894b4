/**
 * Seeks over a ramdisk's contents: the first held (or not held) page from a
 * sector, answered by the chunk holding it from its presence masks and,
 * past it, by the chunk index, so a seek costs a few look-ups however large
 * or sparse the device is.
 */
import * as Chunk from "./Chunk.js"
import * as MappedIndex from "./MappedIndex.js"
import { chunkAt, type Contents, type Layout } from "./Store.js"

const { CHUNK_PAGES } = Chunk

/**
 * The first page ≥ `page` that is held (`held` true) or not held, or -1 past
 * the index's reach for held pages: the chunk holding `page` answers from its
 * masks, a later chunk from the index.
 */
const nextPage = (contents: Contents, page: number, held: boolean): number => {
  const chunkNumber = Math.floor(page / CHUNK_PAGES)
  const slot = page - chunkNumber * CHUNK_PAGES
  const first = (chunk: Chunk.Chunk | undefined, from: number) =>
    chunk === undefined ?
      (held ? -1 : from) :
      held ?
      Chunk.firstFrom(chunk.presentLow, chunk.presentHigh, from) :
      Chunk.firstFrom(~chunk.presentLow, ~chunk.presentHigh, from)
  const here = first(chunkAt(contents, chunkNumber), slot)
  if (here >= 0) return chunkNumber * CHUNK_PAGES + here
  const next = held ? MappedIndex.nextAny(contents.index, chunkNumber + 1) : MappedIndex.nextNotFull(contents.index, chunkNumber + 1)
  if (next < 0) return -1
  return next * CHUNK_PAGES + first(chunkAt(contents, next), 0)
}

/**
 * A seek in sectors from a page search: the page holding `from` answers at
 * once; a later page answers at its first sector; none answers the size.
 */
const seek = (contents: Contents, layout: Layout, from: number, held: boolean): number => {
  const size = contents.sizeSectors
  if (from >= size) return size
  const sectorsPerPage = layout.pageSize / layout.sectorSize
  const page = Math.floor(from / sectorsPerPage)
  const next = nextPage(contents, page, held)
  if (next < 0) return size
  return next === page ? from : Math.min(size, next * sectorsPerPage)
}

/** See `BlockDevice.seekMapped`: the first sector ≥ `from` in a held page, or the size. */
export const seekMapped = (contents: Contents, layout: Layout, from: number): number => seek(contents, layout, from, true)

/** See `BlockDevice.seekUnmapped`: the first sector ≥ `from` in a page not held, or the size. */
export const seekUnmapped = (contents: Contents, layout: Layout, from: number): number =>
  seek(contents, layout, from, false)
