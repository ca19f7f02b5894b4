/**
 * What a ramdisk's bookkeeping costs in memory, beside its page data: the
 * estimate `stats` reports as `indexBytes`.
 */
import { CHUNK_PAGES } from "./Chunk.js"
import type { Contents } from "./Store.js"

/**
 * Estimated bytes of JS heap for the bookkeeping of `contents` (everything
 * but page data): per chunk its `HashMap` entry, its object and page list,
 * plus the index nodes. The constants were measured on Node 20 (x64); the
 * benchmark compares the estimate with real process memory.
 */
export const indexBytes = (contents: Contents): number => {
  const sparsePages = contents.pageCount - contents.denseChunks * CHUNK_PAGES
  return contents.chunkCount * (HASH_ENTRY_BYTES + CHUNK_BYTES) + sparsePages * PAGE_ENTRY_BYTES +
    contents.index.nodes * INDEX_NODE_BYTES
}

/** A `HashMap` entry (leaf and its share of the inner nodes), measured with random keys. */
const HASH_ENTRY_BYTES = 145
/** A chunk object and its (empty) page list. */
const CHUNK_BYTES = 128
/** One (bytes, offset) pair in a sparse chunk's page list. */
const PAGE_ENTRY_BYTES = 16
/** One index node (with its share of children arrays). */
const INDEX_NODE_BYTES = 64
