/**
 * The client's reply reader: a synchronous state machine fed the bytes of
 * the transmission phase as they arrive, which matches each simple reply or
 * structured chunk to its request by cookie and copies read data straight
 * into the caller's buffers (one copy, no intermediate buffer).
 *
 * Nothing a server sends is trusted: a bad magic, an unknown cookie, a chunk
 * type that does not fit the request, data outside the request or covering
 * part of it twice, an oversized chunk, a reply ending before the request is
 * covered — each is a violation, returned as a message; the caller then
 * closes the connection and fails every request in flight.
 */
import * as P from "./Protocol.js"

/** How a request ended, short of success: a server errno, a broken server, a lost connection. */
export type Failure =
  | { readonly _tag: "Errno"; readonly errno: number; readonly message: string }
  | { readonly _tag: "Protocol"; readonly message: string }
  | { readonly _tag: "Lost"; readonly message: string; readonly cause?: unknown }
  | { readonly _tag: "Closed" }

/** One request on the wire, from its send to its last reply. */
export interface Pending {
  readonly cookie: number
  readonly command: number
  /** Absolute byte offset and length of the request. */
  readonly offset: number
  readonly length: number
  /** Where a read's data goes: views whose lengths add up to `length`. */
  readonly targets: ReadonlyArray<Uint8Array> | undefined
  /** Bytes of a read covered so far by data and hole chunks. */
  covered: number
  /** Covered ranges `[start, end)` relative to `offset`, flat, sorted; made on a read's first chunk. */
  ranges: Array<number> | undefined
  /** Block-status descriptors as they came: length, flags, length, flags... */
  extents: Array<number> | undefined
  failure: Failure | undefined
  finished: boolean
  /** The caller gave up (interrupted): keep parsing its replies, touch none of its buffers. */
  abandoned: boolean
  /** Copy cursor: the target holding the last byte written, and where that target starts. */
  cursorIndex: number
  cursorBase: number
  /** Called once, when the request is finished. */
  resume: (() => void) | undefined
}

/** A fresh pending request. */
export const makePending = (
  cookie: number,
  command: number,
  offset: number,
  length: number,
  targets: ReadonlyArray<Uint8Array> | undefined
): Pending => ({
  cookie,
  command,
  offset,
  length,
  targets,
  covered: 0,
  ranges: undefined,
  extents: undefined,
  failure: undefined,
  finished: false,
  abandoned: false,
  cursorIndex: 0,
  cursorBase: 0,
  resume: undefined
})

/** Longest error message a chunk may carry (the protocol's 4096) plus its fixed fields. */
const MAX_ERROR_CHUNK = 4 + 2 + 4096 + 8
/** Longest block-status chunk accepted: 128 Ki descriptors. */
export const MAX_STATUS_CHUNK = 4 + 8 * 131072

const enum State {
  Header,
  SimpleData,
  Fixed,
  ChunkData
}

const errnoNames: Record<number, string> = {
  [P.EPERM]: "EPERM",
  [P.EIO]: "EIO",
  [P.ENOMEM]: "ENOMEM",
  [P.EINVAL]: "EINVAL",
  [P.ENOSPC]: "ENOSPC",
  [P.EOVERFLOW]: "EOVERFLOW",
  [P.ENOTSUP]: "ENOTSUP",
  [P.ESHUTDOWN]: "ESHUTDOWN"
}

/** The protocol's name for an errno, or `errno N`. */
export const errnoName = (errno: number): string => errnoNames[errno] ?? `errno ${errno}`

const decoder = new TextDecoder("utf-8", { fatal: false })

const isData = (type: number) => type === P.REPLY_TYPE_OFFSET_DATA || type === P.REPLY_TYPE_OFFSET_HOLE

/** Parses the transmission phase for one connection. */
export class ReplyParser {
  private readonly head = new Uint8Array(20)
  private readonly headView = new DataView(this.head.buffer)
  private headFill = 0
  private state = State.Header
  private current: Pending | undefined = undefined
  /** Bytes of data still to come in the current simple reply or data chunk. */
  private remaining = 0
  /** Where, relative to the request, the next data byte goes. */
  private position = 0
  private fixed = new Uint8Array(64)
  private fixedFill = 0
  private fixedNeed = 0
  private chunkType = 0
  private chunkFlags = 0

  constructor(
    private readonly table: Map<number, Pending>,
    private readonly structured: boolean,
    private readonly allocationContext: number | undefined,
    private readonly finish: (pending: Pending) => void
  ) {}

  /** Consumes one chunk of bytes; returns a violation message, or undefined. */
  feed(bytes: Uint8Array): string | undefined {
    let at = 0
    const end = bytes.byteLength
    while (at < end) {
      switch (this.state) {
        case State.Header: {
          const need = this.headFill < 4 ? 4 : this.headNeed()
          const take = Math.min(need - this.headFill, end - at)
          this.head.set(bytes.subarray(at, at + take), this.headFill)
          this.headFill += take
          at += take
          if (this.headFill === 4) {
            const magic = this.headView.getUint32(0)
            if (magic !== P.SIMPLE_REPLY_MAGIC && !(magic === P.STRUCTURED_REPLY_MAGIC && this.structured)) {
              return `bad reply magic 0x${magic.toString(16)}`
            }
            continue
          }
          if (this.headFill === this.headNeed()) {
            this.headFill = 0
            const bad = this.headView.getUint32(0) === P.SIMPLE_REPLY_MAGIC ? this.simpleReply() : this.chunkHeader()
            if (bad !== undefined) return bad
          }
          break
        }
        case State.SimpleData:
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - at)
          const pending = this.current!
          if (!pending.abandoned) this.copy(pending, bytes, at, take)
          this.position += take
          this.remaining -= take
          at += take
          if (this.remaining === 0) {
            if (this.state === State.SimpleData) {
              this.state = State.Header
              this.complete(pending)
            } else {
              const bad = this.endChunk(pending)
              if (bad !== undefined) return bad
            }
          }
          break
        }
        case State.Fixed: {
          const take = Math.min(this.fixedNeed - this.fixedFill, end - at)
          this.fixed.set(bytes.subarray(at, at + take), this.fixedFill)
          this.fixedFill += take
          at += take
          if (this.fixedFill === this.fixedNeed) {
            const bad = this.fixedPart(this.current!)
            if (bad !== undefined) return bad
          }
          break
        }
      }
    }
    return undefined
  }

  private headNeed(): number {
    return this.headView.getUint32(0) === P.SIMPLE_REPLY_MAGIC ? 16 : 20
  }

  private lookup(): Pending | string {
    const high = this.headView.getUint32(8)
    const low = this.headView.getUint32(12)
    const cookie = high * 0x100000000 + low
    const pending = high < 0x200000 ? this.table.get(cookie) : undefined
    return pending ?? `a reply for cookie 0x${high.toString(16)}${low.toString(16).padStart(8, "0")}, which no request in flight has`
  }

  private simpleReply(): string | undefined {
    const pending = this.lookup()
    if (typeof pending === "string") return pending
    const errno = this.headView.getUint32(4)
    if (errno !== 0) {
      pending.failure = { _tag: "Errno", errno, message: "" }
      this.complete(pending)
      return undefined
    }
    if (pending.command === P.CMD_BLOCK_STATUS) return "a simple success reply to NBD_CMD_BLOCK_STATUS (it needs a status chunk)"
    if (pending.command === P.CMD_READ) {
      if (this.structured) return "a simple success reply to NBD_CMD_READ after structured replies were agreed"
      if (pending.length > 0) {
        this.state = State.SimpleData
        this.startData(pending, 0, pending.length)
        return undefined
      }
    }
    this.complete(pending)
    return undefined
  }

  private chunkHeader(): string | undefined {
    const pending = this.lookup()
    if (typeof pending === "string") return pending
    const flags = this.headView.getUint16(4)
    const type = this.headView.getUint16(6)
    const length = this.headView.getUint32(16)
    this.chunkFlags = flags
    this.chunkType = type
    this.current = pending
    let need: number
    if (type === P.REPLY_TYPE_NONE) {
      if (length !== 0) return `a NONE chunk with ${length} bytes of payload`
      if ((flags & P.REPLY_FLAG_DONE) === 0) return "a NONE chunk without the DONE flag"
      return this.endChunk(pending)
    } else if (isData(type)) {
      if (pending.command !== P.CMD_READ) return `a read data chunk (type ${type}) in reply to command ${pending.command}`
      if (type === P.REPLY_TYPE_OFFSET_HOLE) {
        if (length !== 12) return `an OFFSET_HOLE chunk of ${length} bytes (expected 12)`
        need = 12
      } else {
        if (length <= 8) return `an OFFSET_DATA chunk of ${length} bytes carries no data`
        if (length - 8 > pending.length) {
          return `an OFFSET_DATA chunk of ${length - 8} data bytes for a read of ${pending.length} bytes`
        }
        need = 8
        this.remaining = length - 8
      }
    } else if (type === P.REPLY_TYPE_BLOCK_STATUS) {
      if (pending.command !== P.CMD_BLOCK_STATUS) return `a block status chunk in reply to command ${pending.command}`
      if (length < 12 || (length - 4) % 8 !== 0) return `a block status chunk of ${length} bytes is not a context id and whole descriptors`
      if (length > MAX_STATUS_CHUNK) return `a block status chunk of ${length} bytes is over the ${MAX_STATUS_CHUNK}-byte limit`
      need = length
    } else if (P.isChunkError(type)) {
      if (length < 6) return `an error chunk of ${length} bytes is shorter than its errno and message length`
      if (length > MAX_ERROR_CHUNK) return `an error chunk of ${length} bytes is over the ${MAX_ERROR_CHUNK}-byte limit`
      need = length
    } else {
      return `an unknown structured reply chunk type ${type}`
    }
    if (this.fixed.byteLength < need) this.fixed = new Uint8Array(need)
    this.fixedNeed = need
    this.fixedFill = 0
    this.state = State.Fixed
    return undefined
  }

  /** Records `[start, start + length)` (relative) as covered, refusing overlap. */
  private cover(pending: Pending, start: number, length: number): string | undefined {
    if (start < 0 || start + length > pending.length) {
      return `a chunk for bytes ${pending.offset + start}..${pending.offset + start + length} outside the read of ` +
        `${pending.offset}..${pending.offset + pending.length}`
    }
    const ranges = pending.ranges ??= []
    const n = ranges.length
    if (n === 0 || ranges[n - 1]! <= start) {
      // The usual case: chunks in order. Merge with the previous range when they touch.
      if (n > 0 && ranges[n - 1] === start) ranges[n - 1] = start + length
      else ranges.push(start, start + length)
    } else {
      let i = 0
      while (i < n && ranges[i + 1]! <= start) i += 2
      if (i < n && ranges[i]! < start + length) return `a chunk for bytes already sent in an earlier chunk of the same read`
      ranges.splice(i, 0, start, start + length)
    }
    pending.covered += length
    return undefined
  }

  private fixedPart(pending: Pending): string | undefined {
    const v = new DataView(this.fixed.buffer, 0, this.fixedNeed)
    const type = this.chunkType
    if (type === P.REPLY_TYPE_OFFSET_DATA) {
      const start = Number(v.getBigUint64(0)) - pending.offset
      const bad = this.cover(pending, start, this.remaining)
      if (bad !== undefined) return bad
      this.state = State.ChunkData
      this.startData(pending, start, this.remaining)
      return undefined
    }
    if (type === P.REPLY_TYPE_OFFSET_HOLE) {
      const start = Number(v.getBigUint64(0)) - pending.offset
      const length = v.getUint32(8)
      if (length === 0) return "an OFFSET_HOLE chunk of length 0"
      const bad = this.cover(pending, start, length)
      if (bad !== undefined) return bad
      if (!pending.abandoned) this.zero(pending, start, length)
      return this.endChunk(pending)
    }
    if (type === P.REPLY_TYPE_BLOCK_STATUS) {
      const context = v.getUint32(0)
      if (context !== this.allocationContext) return `block status for meta context ${context}, which was not agreed`
      if (pending.extents !== undefined) return "a second block status chunk for the same context"
      const extents: Array<number> = []
      for (let at = 4; at < this.fixedNeed; at += 8) {
        const length = v.getUint32(at)
        if (length === 0) return "a block status descriptor of length 0"
        extents.push(length, v.getUint32(at + 4))
      }
      pending.extents = extents
      return this.endChunk(pending)
    }
    // An error chunk: errno, message length, message, and for ERROR_OFFSET the offset.
    const errno = v.getUint32(0)
    const messageLength = v.getUint16(4)
    if (errno === 0) return "an error chunk with errno 0"
    if (6 + messageLength > this.fixedNeed) return `an error chunk whose message (${messageLength} bytes) runs past the chunk`
    if (type === P.REPLY_TYPE_ERROR_OFFSET) {
      if (6 + messageLength + 8 !== this.fixedNeed) return "an ERROR_OFFSET chunk whose length does not fit its fields"
      const offset = Number(v.getBigUint64(6 + messageLength))
      if (offset < pending.offset || offset >= pending.offset + Math.max(1, pending.length)) {
        return `an ERROR_OFFSET chunk at byte ${offset}, outside the request`
      }
    }
    const message = decoder.decode(this.fixed.subarray(6, 6 + messageLength))
    pending.failure ??= { _tag: "Errno", errno, message }
    return this.endChunk(pending)
  }

  private endChunk(pending: Pending): string | undefined {
    this.state = State.Header
    if ((this.chunkFlags & P.REPLY_FLAG_DONE) === 0) return undefined
    if (pending.failure === undefined) {
      if (pending.command === P.CMD_READ && pending.covered !== pending.length) {
        return `the reply to a read of ${pending.length} bytes ended after ${pending.covered}`
      }
      if (pending.command === P.CMD_BLOCK_STATUS && pending.extents === undefined) {
        return "the reply to a block status request ended without a status chunk"
      }
    }
    this.complete(pending)
    return undefined
  }

  private complete(pending: Pending): void {
    this.table.delete(pending.cookie)
    this.current = undefined
    this.finish(pending)
  }

  private startData(pending: Pending, start: number, length: number): void {
    this.current = pending
    this.position = start
    this.remaining = length
  }

  /** Moves the request's copy cursor to the target holding relative byte `position`. */
  private seek(pending: Pending, targets: ReadonlyArray<Uint8Array>, position: number): Uint8Array {
    if (position < pending.cursorBase) {
      pending.cursorIndex = 0
      pending.cursorBase = 0
    }
    let target = targets[pending.cursorIndex]!
    while (pending.cursorBase + target.byteLength <= position) {
      pending.cursorBase += target.byteLength
      target = targets[++pending.cursorIndex]!
    }
    return target
  }

  private copy(pending: Pending, bytes: Uint8Array, at: number, length: number): void {
    const targets = pending.targets!
    let position = this.position
    let done = 0
    while (done < length) {
      const target = this.seek(pending, targets, position)
      const into = position - pending.cursorBase
      const part = Math.min(length - done, target.byteLength - into)
      target.set(bytes.subarray(at + done, at + done + part), into)
      done += part
      position += part
    }
  }

  private zero(pending: Pending, start: number, length: number): void {
    const targets = pending.targets!
    let position = start
    let done = 0
    while (done < length) {
      const target = this.seek(pending, targets, position)
      const into = position - pending.cursorBase
      const part = Math.min(length - done, target.byteLength - into)
      target.fill(0, into, into + part)
      done += part
      position += part
    }
  }
}
