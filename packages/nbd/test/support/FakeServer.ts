/**
 * A scriptable NBD server for the client's tests: it negotiates like a real
 * fixed-newstyle server (or not, as the test says) and hands each request
 * of the transmission phase to the test, which answers with whatever bytes
 * it likes — correct replies, errors, or garbage. It listens on a Unix
 * socket in a temporary directory, inside a scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as P from "../../src/internal/Protocol.js"

/** Reads exact byte counts from a socket. */
export class Wire {
  private chunks: Array<Buffer> = []
  private length = 0
  private waiter: (() => void) | undefined
  private ended = false
  constructor(readonly socket: Net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.length += chunk.length
      this.waiter?.()
    })
    const end = () => {
      this.ended = true
      this.waiter?.()
    }
    socket.on("end", end)
    socket.on("close", end)
    socket.on("error", () => end())
  }
  /** The next `n` bytes, or undefined once the peer closed first. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.length < n) {
      if (this.ended) return undefined
      await new Promise<void>((resolve) => (this.waiter = resolve))
      this.waiter = undefined
    }
    const all = Buffer.concat(this.chunks)
    this.chunks = [all.subarray(n)]
    this.length -= n
    return all.subarray(0, n)
  }
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }
}

/** One transmission-phase request as the server saw it. */
export interface Request {
  readonly flags: number
  readonly command: number
  /** The cookie's 8 bytes as sent. */
  readonly cookie: Buffer
  readonly offset: number
  readonly length: number
  readonly payload: Buffer | undefined
}

/** How the fake server negotiates. */
export interface Negotiation {
  readonly size?: number
  readonly flags?: number
  readonly structured?: boolean
  readonly metaContext?: boolean
  /** Answer NBD_OPT_GO with NBD_REP_ERR_UNSUP (an old server), so the client must use NBD_OPT_EXPORT_NAME. */
  readonly noGo?: boolean
  /** Refuse NBD_OPT_GO with this error reply and message. */
  readonly refuseGo?: { readonly reply: number; readonly message: string }
  readonly blockSizes?: readonly [number, number, number]
}

export interface Handler {
  /** Called for every request; write the reply (or anything) to `wire`. */
  readonly onRequest: (request: Request, wire: Wire, connection: number) => void | Promise<void>
  /** Replace the whole exchange (handshake included) with custom behaviour. */
  readonly raw?: (wire: Wire, connection: number) => Promise<void>
}

export const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
export const u16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}
export const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

/** An option reply. */
export const optionReply = (option: number, type: number, data: Uint8Array = Buffer.alloc(0)) =>
  Buffer.concat([u64(P.OPTION_REPLY_MAGIC), u32(option), u32(type), u32(data.byteLength), data])

/** A simple reply. */
export const simpleReply = (cookie: Buffer, errno: number, data: Uint8Array = Buffer.alloc(0)) =>
  Buffer.concat([u32(P.SIMPLE_REPLY_MAGIC), u32(errno), cookie, data])

/** A structured reply chunk. */
export const chunk = (cookie: Buffer, flags: number, type: number, payload: Uint8Array) =>
  Buffer.concat([u32(P.STRUCTURED_REPLY_MAGIC), u16(flags), u16(type), cookie, u32(payload.byteLength), payload])

/** The server's half of the handshake. Returns false if the client went away. */
export const negotiate = async (wire: Wire, n: Negotiation): Promise<boolean> => {
  const size = n.size ?? 1024 * 1024
  const flags = n.flags ?? (P.FLAG_HAS_FLAGS | P.FLAG_SEND_FLUSH | P.FLAG_SEND_WRITE_ZEROES)
  wire.write(Buffer.concat([u64(P.NBDMAGIC), u64(P.IHAVEOPT), u16(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES)]))
  if ((await wire.read(4)) === undefined) return false
  for (;;) {
    const head = await wire.read(16)
    if (head === undefined) return false
    const option = head.readUInt32BE(8)
    const length = head.readUInt32BE(12)
    const data = length === 0 ? Buffer.alloc(0) : await wire.read(length)
    if (data === undefined) return false
    if (option === P.OPT_STRUCTURED_REPLY) {
      wire.write(optionReply(option, n.structured === false ? P.REP_ERR_UNSUP : P.REP_ACK))
    } else if (option === P.OPT_SET_META_CONTEXT) {
      if (n.metaContext !== false) {
        wire.write(optionReply(option, P.REP_META_CONTEXT, Buffer.concat([u32(7), Buffer.from(P.BASE_ALLOCATION)])))
      }
      wire.write(optionReply(option, P.REP_ACK))
    } else if (option === P.OPT_GO) {
      if (n.noGo === true) {
        wire.write(optionReply(option, P.REP_ERR_UNSUP))
        continue
      }
      if (n.refuseGo !== undefined) {
        wire.write(optionReply(option, n.refuseGo.reply, Buffer.from(n.refuseGo.message)))
        continue
      }
      wire.write(optionReply(option, P.REP_INFO, Buffer.concat([u16(P.INFO_EXPORT), u64(size), u16(flags)])))
      if (n.blockSizes !== undefined) {
        const [min, pref, max] = n.blockSizes
        wire.write(optionReply(option, P.REP_INFO, Buffer.concat([u16(P.INFO_BLOCK_SIZE), u32(min), u32(pref), u32(max)])))
      }
      wire.write(optionReply(option, P.REP_ACK))
      return true
    } else if (option === P.OPT_EXPORT_NAME) {
      wire.write(Buffer.concat([u64(size), u16(flags)]))
      return true
    } else {
      wire.write(optionReply(option, P.REP_ERR_UNSUP))
    }
  }
}

/** Reads requests until the client disconnects or sends NBD_CMD_DISC. */
export const serveRequests = async (wire: Wire, handler: Handler, connection: number) => {
  for (;;) {
    const head = await wire.read(28)
    if (head === undefined) return
    const command = head.readUInt16BE(6)
    const length = head.readUInt32BE(24)
    const payload = command === P.CMD_WRITE ? await wire.read(length) : undefined
    if (command === P.CMD_WRITE && payload === undefined) return
    if (command === P.CMD_DISC) {
      wire.socket.end()
      return
    }
    await handler.onRequest({
      flags: head.readUInt16BE(4),
      command,
      cookie: Buffer.from(head.subarray(8, 16)),
      offset: Number(head.readBigUInt64BE(16)),
      length,
      payload
    }, wire, connection)
  }
}

/** A listening fake server and the URI a client connects to. */
export interface FakeServer {
  readonly uri: string
  readonly socketPath: string
  /** Connections accepted so far. */
  readonly connections: () => number
  /** Drops every open connection (the server keeps listening). */
  readonly dropAll: () => void
  /** Stops listening and drops every connection: the server is gone. */
  readonly stop: () => void
}

/** Starts a fake server in the current scope. */
export const fakeServer = (negotiation: Negotiation, handler: Handler): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-fake-nbd-"))
      const socketPath = Path.join(dir, "s")
      const open = new Set<Net.Socket>()
      let count = 0
      const server = Net.createServer((socket) => {
        const connection = count++
        open.add(socket)
        socket.on("close", () => open.delete(socket))
        socket.on("error", () => undefined)
        const wire = new Wire(socket)
        const run = handler.raw !== undefined ?
          handler.raw(wire, connection) :
          negotiate(wire, negotiation).then((ok) => ok ? serveRequests(wire, handler, connection) : undefined)
        run.catch(() => undefined).finally(() => socket.end())
      })
      await new Promise<void>((resolve) => server.listen(socketPath, resolve))
      return {
        server,
        dir,
        open,
        fake: {
          uri: `nbd+unix:///?socket=${socketPath}`,
          socketPath,
          connections: () => count,
          dropAll: () => {
            for (const socket of open) socket.destroy()
          },
          stop: () => {
            server.close()
            for (const socket of open) socket.destroy()
          }
        }
      }
    }),
    ({ dir, open, server }) =>
      Effect.promise(async () => {
        for (const socket of open) socket.destroy()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        // close() above may already have happened through stop().
        Fs.rmSync(dir, { recursive: true, force: true })
      })
  ).pipe(Effect.map(({ fake }) => fake))

/** A memory-backed request handler answering correctly with structured replies. */
export const memoryHandler = (size: number, structured = true) => {
  const data = new Uint8Array(size)
  const handler: Handler = {
    onRequest: (request, wire) => {
      const { command, cookie, length, offset } = request
      if (command === P.CMD_READ) {
        const bytes = data.subarray(offset, offset + length)
        wire.write(
          structured ?
            chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset), bytes])) :
            simpleReply(cookie, 0, bytes)
        )
      } else if (command === P.CMD_WRITE) {
        data.set(request.payload!, offset)
        wire.write(simpleReply(cookie, 0))
      } else if (command === P.CMD_WRITE_ZEROES) {
        data.fill(0, offset, offset + length)
        wire.write(simpleReply(cookie, 0))
      } else if (command === P.CMD_BLOCK_STATUS) {
        wire.write(chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_BLOCK_STATUS, Buffer.concat([u32(7), u32(length), u32(0)])))
      } else {
        wire.write(simpleReply(cookie, 0))
      }
    }
  }
  return { data, handler }
}
