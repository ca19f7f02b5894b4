/**
 * A connection's reusable I/O buffers, by exact size. Large reads and
 * writes come in a few fixed sizes (a client's request size), so keeping
 * the buffers of finished requests saves an allocation, its page faults and
 * the garbage collections a stream of fresh megabyte buffers causes. Bounded
 * in bytes; what does not fit is left to the collector.
 */
import { Buffer } from "node:buffer"

/** Buffers below this size come from Node's shared pool cheaply: not worth keeping. */
const minimumSize = 16 * 1024

/** The pool. */
export class BufferPool {
  private readonly free = new Map<number, Array<Uint8Array>>()
  private held = 0

  constructor(private readonly maxBytes: number) {}

  /** A buffer of `size` bytes with unspecified contents (the caller overwrites all of it). */
  take(size: number): Uint8Array {
    const list = this.free.get(size)
    const reused = list?.pop()
    if (reused !== undefined) {
      this.held -= size
      return reused
    }
    return Buffer.allocUnsafe(size)
  }

  /** Gives back a buffer nothing refers to any more. */
  give(buffer: Uint8Array): void {
    const size = buffer.length
    if (size < minimumSize || this.held + size > this.maxBytes || buffer.byteOffset !== 0) return
    let list = this.free.get(size)
    if (list === undefined) {
      if (this.free.size >= 8) return
      list = []
      this.free.set(size, list)
    }
    list.push(buffer)
    this.held += size
  }
}
