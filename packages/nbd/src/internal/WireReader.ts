/**
 * An incremental reader over a socket's byte stream, for both sides of the
 * NBD protocol.
 *
 * The socket hands over batches of chunks of whatever size the kernel
 * delivered; the protocol wants fixed-size headers and payloads that may
 * straddle chunks. The reader keeps the chunks it has been given, lets the
 * caller look at the next `n` bytes in place when they sit in one chunk (the
 * common case, so a header costs no copy and no allocation), and copies
 * only when a field straddles two chunks. Nothing is buffered beyond what
 * the caller asked to `ensure`, which is how a connection's memory stays
 * bounded: the caller decides the largest `n` it will ever ask for.
 *
 * Shared wire helper: the NBD client may use it too.
 */
import * as Effect from "effect/Effect"

/** Big-endian 16-bit unsigned integer at `at`. */
export const u16 = (bytes: Uint8Array, at: number): number => (bytes[at]! << 8) | bytes[at + 1]!

/** Big-endian 32-bit unsigned integer at `at`. */
export const u32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0

/**
 * Big-endian 64-bit unsigned integer at `at`, as a number, or -1 when it is
 * above `Number.MAX_SAFE_INTEGER` (no byte offset of ours can be that large).
 */
export const u64 = (bytes: Uint8Array, at: number): number => {
  const high = u32(bytes, at)
  if (high > 0x1fffff) return -1
  return high * 0x100000000 + u32(bytes, at + 4)
}

/** Writes a big-endian 16-bit integer at `at`. */
export const put16 = (bytes: Uint8Array, at: number, value: number): void => {
  bytes[at] = value >>> 8
  bytes[at + 1] = value
}

/** Writes a big-endian 32-bit integer at `at`. */
export const put32 = (bytes: Uint8Array, at: number, value: number): void => {
  bytes[at] = value >>> 24
  bytes[at + 1] = value >>> 16
  bytes[at + 2] = value >>> 8
  bytes[at + 3] = value
}

/** Writes a safe non-negative integer as a big-endian 64-bit integer at `at`. */
export const put64 = (bytes: Uint8Array, at: number, value: number): void => {
  put32(bytes, at, Math.floor(value / 0x100000000))
  put32(bytes, at + 4, value % 0x100000000)
}

/** Writes a 64-bit magic constant at `at`. */
export const putMagic = (bytes: Uint8Array, at: number, magic: bigint): void => {
  put32(bytes, at, Number(magic >> 32n))
  put32(bytes, at + 4, Number(magic & 0xffffffffn))
}

/** Whether the eight bytes at `at` are the 64-bit magic constant. */
export const isMagic = (bytes: Uint8Array, at: number, magic: bigint): boolean =>
  u32(bytes, at) === Number(magic >> 32n) && u32(bytes, at + 4) === Number(magic & 0xffffffffn)

const encoder = new TextEncoder()

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array => encoder.encode(text)

const decoder = new TextDecoder("utf-8", { fatal: false })

/** A string from UTF-8 bytes (malformed sequences become U+FFFD: peer input never throws). */
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes)

/**
 * The reader. `pull` is the socket's read side: it yields the next batch of
 * chunks, or fails when the connection ends.
 */
export class WireReader<E> {
  private chunks: Array<Uint8Array> = []
  private head = 0
  private offset = 0
  /** Bytes held and not yet consumed. */
  available = 0
  /** After {@link window}: the array holding the requested bytes. */
  windowBytes: Uint8Array = new Uint8Array(0)
  /** After {@link window}: where in `windowBytes` they start. */
  windowAt = 0
  private scratch = new Uint8Array(64)
  private readonly pullMore: Effect.Effect<void, E>

  constructor(pull: Effect.Effect<ReadonlyArray<Uint8Array | string>, E>) {
    this.pullMore = Effect.map(pull, (batch) => this.push(batch))
  }

  /** Adds received chunks (tests feed bytes this way too). */
  push(batch: ReadonlyArray<Uint8Array | string>): void {
    for (let i = 0; i < batch.length; i++) {
      const chunk = batch[i]!
      const bytes = typeof chunk === "string" ? utf8(chunk) : chunk
      if (bytes.length === 0) continue
      this.chunks.push(bytes)
      this.available += bytes.length
    }
  }

  /** Succeeds once at least `n` bytes are held, pulling as needed. */
  ensure(n: number): Effect.Effect<void, E> {
    if (this.available >= n) return Effect.void
    return Effect.whileLoop({
      while: () => this.available < n,
      body: () => this.pullMore,
      step: () => {}
    })
  }

  /**
   * Makes the next `n` bytes (`n ≤ available`, `n ≤ 64` unless they are in
   * one chunk) readable at `windowBytes[windowAt...]` without consuming them:
   * in place when they sit in one chunk, else copied to a scratch array.
   */
  window(n: number): void {
    const chunk = this.chunks[this.head]!
    if (chunk.length - this.offset >= n) {
      this.windowBytes = chunk
      this.windowAt = this.offset
      return
    }
    if (this.scratch.length < n) this.scratch = new Uint8Array(n)
    this.peekInto(this.scratch, n)
    this.windowBytes = this.scratch
    this.windowAt = 0
  }

  private peekInto(target: Uint8Array, n: number): void {
    let index = this.head
    let offset = this.offset
    let done = 0
    while (done < n) {
      const chunk = this.chunks[index]!
      const count = Math.min(n - done, chunk.length - offset)
      target.set(chunk.subarray(offset, offset + count), done)
      done += count
      offset = 0
      index++
    }
  }

  /** Consumes `n ≤ available` bytes. */
  skip(n: number): void {
    this.available -= n
    while (n > 0) {
      const chunk = this.chunks[this.head]!
      const left = chunk.length - this.offset
      if (n < left) {
        this.offset += n
        return
      }
      n -= left
      this.head++
      this.offset = 0
    }
    this.compact()
  }

  private compact(): void {
    if (this.head === this.chunks.length) {
      this.chunks.length = 0
      this.head = 0
    } else if (this.head > 64) {
      this.chunks.splice(0, this.head)
      this.head = 0
    }
  }

  /**
   * Consumes `n ≤ available` bytes and returns them: a view of the received
   * chunk when they sit in one (the socket never reuses a chunk it handed
   * over), else a new array.
   */
  take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0)
    const chunk = this.chunks[this.head]!
    if (chunk.length - this.offset >= n) {
      const view = chunk.subarray(this.offset, this.offset + n)
      this.skip(n)
      return view
    }
    const copy = new Uint8Array(n)
    this.peekInto(copy, n)
    this.skip(n)
    return copy
  }

  /** After {@link read}: whether the bytes were copied into an array from `allocate` (not a view). */
  readCopied = false

  /**
   * Reads exactly `n` bytes: a view when they are already held in one chunk,
   * otherwise an array from `allocate` (default: a new one) filled as the
   * bytes arrive, so a large payload is never held twice.
   */
  read(n: number, allocate?: (n: number) => Uint8Array): Effect.Effect<Uint8Array, E> {
    if (n === 0) {
      this.readCopied = false
      return Effect.succeed(new Uint8Array(0))
    }
    if (this.available >= n && this.chunks[this.head]!.length - this.offset >= n) {
      this.readCopied = false
      return Effect.succeed(this.take(n))
    }
    return Effect.suspend(() => {
      const target = allocate === undefined ? new Uint8Array(n) : allocate(n)
      this.readCopied = true
      let filled = 0
      return Effect.whileLoop({
        while: () => filled < n,
        body: () => {
          if (this.available === 0) return this.pullMore
          const count = Math.min(this.available, n - filled)
          this.peekInto(target.subarray(filled, filled + count), count)
          this.skip(count)
          filled += count
          return Effect.void
        },
        step: () => {}
      }).pipe(Effect.as(target))
    })
  }

  /** Consumes and drops `n` bytes as they arrive, holding none of them. */
  discard(n: number): Effect.Effect<void, E> {
    let left = n
    return Effect.whileLoop({
      while: () => left > 0,
      body: () => {
        if (this.available === 0) return this.pullMore
        const count = Math.min(this.available, left)
        this.skip(count)
        left -= count
        return Effect.void
      },
      step: () => {}
    })
  }
}
