/**
 * A byte-level NBD peer for the server's tests: it sends exactly the bytes a
 * test writes (valid or not) and reads replies field by field, so tests can
 * speak the protocol, break it, and see what the server answers. Every wait
 * is bounded by a timeout.
 */
import * as Net from "node:net"
import * as P from "../../src/internal/Protocol.js"

const timeoutMillis = 5000

/** A connection to the server under test. */
export class RawClient {
  private chunks: Array<Buffer> = []
  private buffered = 0
  private waiter: (() => void) | undefined
  closed = false

  private constructor(readonly socket: Net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.buffered += chunk.length
      this.waiter?.()
    })
    socket.on("close", () => {
      this.closed = true
      this.waiter?.()
    })
    socket.on("error", () => {})
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = Net.createConnection({ path })
      socket.once("connect", () => resolve(new RawClient(socket)))
      socket.once("error", reject)
    })
  }

  send(...parts: Array<Uint8Array>): void {
    for (const part of parts) this.socket.write(part)
  }

  /** Exactly `n` bytes, or fails when the connection closes or the wait times out. */
  async read(n: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMillis
    while (this.buffered < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buffered} of ${n} bytes`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes (have ${this.buffered})`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.waiter = undefined
    }
    const all = Buffer.concat(this.chunks)
    this.chunks = [all.subarray(n)]
    this.buffered -= n
    return all.subarray(0, n)
  }

  /** Resolves true once the server has closed the connection (false on timeout). */
  async waitClosed(): Promise<boolean> {
    const deadline = Date.now() + timeoutMillis
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.waiter = undefined
    }
    return this.closed
  }

  close(): void {
    this.socket.destroy()
  }

  // --- protocol helpers ---

  /** Reads the greeting and sends the client flags. */
  async greet(flags = P.FLAG_C_FIXED_NEWSTYLE | P.FLAG_C_NO_ZEROES): Promise<{ handshakeFlags: number }> {
    const greeting = await this.read(18)
    if (greeting.readBigUInt64BE(0) !== P.NBDMAGIC || greeting.readBigUInt64BE(8) !== P.IHAVEOPT) {
      throw new Error("bad greeting")
    }
    const reply = Buffer.alloc(4)
    reply.writeUInt32BE(flags)
    this.send(reply)
    return { handshakeFlags: greeting.readUInt16BE(16) }
  }

  sendOption(option: number, data: Uint8Array = new Uint8Array(0)): void {
    const head = Buffer.alloc(16)
    head.writeBigUInt64BE(P.IHAVEOPT, 0)
    head.writeUInt32BE(option, 8)
    head.writeUInt32BE(data.length, 12)
    this.send(head, data)
  }

  async readOptionReply(): Promise<{ option: number; type: number; data: Buffer }> {
    const head = await this.read(20)
    if (head.readBigUInt64BE(0) !== P.OPTION_REPLY_MAGIC) throw new Error("bad option reply magic")
    const length = head.readUInt32BE(16)
    return { option: head.readUInt32BE(8), type: head.readUInt32BE(12), data: await this.read(length) }
  }

  /** Replies up to and including the first that is not `REP_INFO`/`REP_SERVER`/`REP_META_CONTEXT`. */
  async readOptionReplies(): Promise<Array<{ option: number; type: number; data: Buffer }>> {
    const replies = []
    for (let i = 0; i < 100; i++) {
      const reply = await this.readOptionReply()
      replies.push(reply)
      if (reply.type !== P.REP_INFO && reply.type !== P.REP_SERVER && reply.type !== P.REP_META_CONTEXT) break
    }
    return replies
  }

  /** Full handshake: structured replies, base:allocation, OPT_GO. Returns the export size and flags. */
  async open(name = "", options: { structured?: boolean } = {}): Promise<{ size: number; flags: number }> {
    await this.greet()
    if (options.structured !== false) {
      this.sendOption(P.OPT_STRUCTURED_REPLY)
      await this.readOptionReply()
      this.sendOption(P.OPT_SET_META_CONTEXT, metaRequest(name, [P.BASE_ALLOCATION]))
      await this.readOptionReplies()
    }
    this.sendOption(P.OPT_GO, goRequest(name, [P.INFO_BLOCK_SIZE]))
    const replies = await this.readOptionReplies()
    const last = replies[replies.length - 1]!
    if (last.type !== P.REP_ACK) throw new Error(`OPT_GO failed with ${last.type}: ${last.data.toString()}`)
    const info = replies.find((reply) => reply.type === P.REP_INFO && reply.data.readUInt16BE(0) === P.INFO_EXPORT)!
    return { size: Number(info.data.readBigUInt64BE(2)), flags: info.data.readUInt16BE(10) }
  }

  sendRequest(type: number, cookie: bigint, offset: number, length: number, flags = 0, payload?: Uint8Array): void {
    const head = Buffer.alloc(28)
    head.writeUInt32BE(P.REQUEST_MAGIC, 0)
    head.writeUInt16BE(flags, 4)
    head.writeUInt16BE(type, 6)
    head.writeBigUInt64BE(cookie, 8)
    head.writeBigUInt64BE(BigInt(offset), 16)
    head.writeUInt32BE(length, 24)
    if (payload === undefined) this.send(head)
    else this.send(head, payload)
  }

  /** A simple reply's error and cookie (its payload, if any, is left to read). */
  async readSimpleReply(): Promise<{ error: number; cookie: bigint }> {
    const head = await this.read(16)
    if (head.readUInt32BE(0) !== P.SIMPLE_REPLY_MAGIC) throw new Error(`expected a simple reply, got magic ${head.readUInt32BE(0)}`)
    return { error: head.readUInt32BE(4), cookie: head.readBigUInt64BE(8) }
  }

  /** One reply of either kind: a simple reply's header, or every chunk of a structured one. */
  async readReply(readLength = 0): Promise<Reply> {
    const magic = (await this.read(4)).readUInt32BE(0)
    if (magic === P.SIMPLE_REPLY_MAGIC) {
      const rest = await this.read(12)
      const error = rest.readUInt32BE(0)
      const data = error === 0 && readLength > 0 ? await this.read(readLength) : Buffer.alloc(0)
      return { kind: "simple", error, cookie: rest.readBigUInt64BE(4), data, chunks: [] }
    }
    if (magic !== P.STRUCTURED_REPLY_MAGIC) throw new Error(`bad reply magic ${magic}`)
    const chunks: Array<Chunk> = []
    let rest = await this.read(16)
    for (let i = 0; i < 10000; i++) {
      const flags = rest.readUInt16BE(0)
      const type = rest.readUInt16BE(2)
      const cookie = rest.readBigUInt64BE(4)
      const data = await this.read(rest.readUInt32BE(12))
      chunks.push({ flags, type, cookie, data })
      if ((flags & P.REPLY_FLAG_DONE) !== 0) {
        const error = chunks.find((chunk) => P.isChunkError(chunk.type))?.data.readUInt32BE(0) ?? 0
        return { kind: "structured", error, cookie, data: Buffer.alloc(0), chunks }
      }
      const head = await this.read(20)
      if (head.readUInt32BE(0) !== P.STRUCTURED_REPLY_MAGIC) throw new Error("bad chunk magic")
      rest = head.subarray(4)
    }
    throw new Error("too many chunks")
  }
}

/** One structured reply chunk. */
export interface Chunk {
  readonly flags: number
  readonly type: number
  readonly cookie: bigint
  readonly data: Buffer
}

/** A reply as the tests see it. */
export interface Reply {
  readonly kind: "simple" | "structured"
  readonly error: number
  readonly cookie: bigint
  readonly data: Buffer
  readonly chunks: ReadonlyArray<Chunk>
}

/** The data of an `OPT_GO`/`OPT_INFO` request. */
export const goRequest = (name: string, infos: ReadonlyArray<number> = []): Buffer => {
  const encoded = Buffer.from(name)
  const data = Buffer.alloc(4 + encoded.length + 2 + 2 * infos.length)
  data.writeUInt32BE(encoded.length, 0)
  encoded.copy(data, 4)
  data.writeUInt16BE(infos.length, 4 + encoded.length)
  infos.forEach((info, i) => data.writeUInt16BE(info, 6 + encoded.length + 2 * i))
  return data
}

/** The data of a `LIST`/`SET_META_CONTEXT` request. */
export const metaRequest = (name: string, queries: ReadonlyArray<string>): Buffer => {
  const parts = [Buffer.alloc(4), Buffer.from(name), Buffer.alloc(4)]
  parts[0]!.writeUInt32BE(parts[1]!.length)
  parts[2]!.writeUInt32BE(queries.length)
  for (const query of queries) {
    const encoded = Buffer.from(query)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(encoded.length)
    parts.push(length, encoded)
  }
  return Buffer.concat(parts)
}

/** The bytes a structured read reply describes, holes as zeros. */
export const assembleRead = (reply: Reply, offset: number, length: number): Buffer => {
  const out = Buffer.alloc(length)
  for (const chunk of reply.chunks) {
    if (chunk.type === P.REPLY_TYPE_OFFSET_DATA) {
      chunk.data.copy(out, Number(chunk.data.readBigUInt64BE(0)) - offset, 8)
    }
  }
  return out
}
