/**
 * The part of `random-access-memory` (a JS peer the benchmark compares
 * against) that the benchmark uses; the package ships no type declarations.
 */
declare module "random-access-memory" {
  type Callback<A> = (error: Error | null, value: A) => void

  /** In-memory random-access storage made of lazily allocated pages (1 MiB by default). */
  class RandomAccessMemory {
    constructor(options?: { readonly pageSize?: number })
    /** Bytes from 0 to the end of the furthest write. */
    readonly length: number
    /** Copies `data` in at `offset`; the callback runs on a later tick. */
    write(offset: number, data: Uint8Array, callback: Callback<null>): void
    /** A new buffer holding `size` bytes from `offset`; the callback runs on a later tick. */
    read(offset: number, size: number, callback: Callback<Uint8Array>): void
  }

  export = RandomAccessMemory
}
