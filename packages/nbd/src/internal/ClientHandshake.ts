/**
 * The client side of NBD's fixed newstyle negotiation: what the client asks
 * for (no zero padding, structured replies, the `base:allocation` meta
 * context, `OPT_GO` with a block-size request) and how it falls back for
 * older servers (`OPT_EXPORT_NAME`). Every server reply is checked before it
 * is believed: magic numbers, echoed option numbers, lengths (bounded), sizes.
 */
import * as Effect from "effect/Effect"
import type * as Socket from "effect/socket/Socket"
import { NbdConnectError, NbdOptionError, NbdProtocolError } from "../ClientErrors.js"
import * as P from "./Protocol.js"

/** Bytes received but not yet consumed, in arrival order. */
export class Incoming {
  private chunks: Array<Uint8Array> = []
  available = 0

  push(chunk: Uint8Array | string): void {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk
    if (bytes.byteLength === 0) return
    this.chunks.push(bytes)
    this.available += bytes.byteLength
  }

  /** Removes and returns exactly `n` bytes; the caller checked `available`. */
  take(n: number): Uint8Array {
    const first = this.chunks[0]
    if (first !== undefined && first.byteLength >= n) {
      const out = first.subarray(0, n)
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.available -= n
      return out
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]!
      const part = Math.min(chunk.byteLength, n - filled)
      out.set(chunk.subarray(0, part), filled)
      filled += part
      if (part === chunk.byteLength) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(part)
    }
    this.available -= n
    return out
  }

  /** Everything left, handed to the transmission phase. */
  drain(): Array<Uint8Array> {
    const rest = this.chunks
    this.chunks = []
    this.available = 0
    return rest
  }
}

/** What the handshake settled. */
export interface Negotiated {
  readonly exportSize: number
  readonly transmissionFlags: number
  readonly structuredReplies: boolean
  /** The server's id for `base:allocation`, when it agreed to it. */
  readonly allocationContext: number | undefined
  readonly minimumBlock: number
  readonly preferredBlock: number
  /** Largest payload the server accepts (32 MiB when it says nothing). */
  readonly maximumBlock: number
  /** Whether the old `OPT_EXPORT_NAME` ending was used. */
  readonly exportNameFallback: boolean
  /** Bytes already received after the handshake. */
  readonly leftover: ReadonlyArray<Uint8Array>
}

type HandshakeError = NbdConnectError | NbdOptionError | NbdProtocolError

const OLDSTYLE_MAGIC = 0x00420281861253n

const replyNames: Record<number, string> = {
  [P.REP_ERR_UNSUP]: "NBD_REP_ERR_UNSUP",
  [P.REP_ERR_POLICY]: "NBD_REP_ERR_POLICY",
  [P.REP_ERR_INVALID]: "NBD_REP_ERR_INVALID",
  [P.REP_ERR_PLATFORM]: "NBD_REP_ERR_PLATFORM",
  [P.REP_ERR_TLS_REQD]: "NBD_REP_ERR_TLS_REQD",
  [P.REP_ERR_UNKNOWN]: "NBD_REP_ERR_UNKNOWN",
  [P.REP_ERR_SHUTDOWN]: "NBD_REP_ERR_SHUTDOWN",
  [P.REP_ERR_BLOCK_SIZE_REQD]: "NBD_REP_ERR_BLOCK_SIZE_REQD",
  [P.REP_ERR_TOO_BIG]: "NBD_REP_ERR_TOO_BIG",
  [P.REP_ERR_EXT_HEADER_REQD]: "NBD_REP_ERR_EXT_HEADER_REQD"
}

const optionNames: Record<number, string> = {
  [P.OPT_EXPORT_NAME]: "NBD_OPT_EXPORT_NAME",
  [P.OPT_GO]: "NBD_OPT_GO",
  [P.OPT_STRUCTURED_REPLY]: "NBD_OPT_STRUCTURED_REPLY",
  [P.OPT_SET_META_CONTEXT]: "NBD_OPT_SET_META_CONTEXT",
  [P.OPT_ABORT]: "NBD_OPT_ABORT"
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const decoder = new TextDecoder("utf-8", { fatal: false })
const encoder = new TextEncoder()

/** Printable text from a peer: invalid UTF-8 replaced, control characters escaped, bounded. */
export const peerText = (bytes: Uint8Array): string =>
  // eslint-disable-next-line no-control-regex
  decoder.decode(bytes.subarray(0, 4096)).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

const protocol = (message: string) => new NbdProtocolError({ message: `the server broke the NBD handshake: ${message}` })

/** An option request: IHAVEOPT, the option, the length and the data. */
const optionRequest = (option: number, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(16 + data.byteLength)
  const v = view(out)
  v.setBigUint64(0, P.IHAVEOPT)
  v.setUint32(8, option)
  v.setUint32(12, data.byteLength)
  out.set(data, 16)
  return out
}

/** The payload naming an export: a 32-bit length and the UTF-8 name. */
const nameField = (name: Uint8Array, extra: number): { bytes: Uint8Array; view: DataView; at: number } => {
  const bytes = new Uint8Array(4 + name.byteLength + extra)
  const v = view(bytes)
  v.setUint32(0, name.byteLength)
  bytes.set(name, 4)
  return { bytes, view: v, at: 4 + name.byteLength }
}

interface OptionReply {
  readonly type: number
  readonly data: Uint8Array
}

/**
 * Runs the handshake on a freshly opened connection. `pull` and `write` are
 * the socket's; `address` names the server in messages.
 */
export const negotiate = (options: {
  readonly pull: Effect.Effect<ReadonlyArray<Uint8Array | string>, Socket.SocketError>
  readonly write: (chunk: Uint8Array) => Effect.Effect<void, Socket.SocketError>
  readonly address: string
  readonly exportName: string
}): Effect.Effect<Negotiated, HandshakeError> => {
  const { address, exportName } = options
  const incoming = new Incoming()
  const lost = (cause: unknown) =>
    new NbdConnectError({ address, message: `${address}: the connection closed during the NBD handshake`, cause })
  const read = (n: number): Effect.Effect<Uint8Array, HandshakeError> =>
    Effect.suspend(function loop(): Effect.Effect<Uint8Array, HandshakeError> {
      if (incoming.available >= n) return Effect.succeed(incoming.take(n))
      return Effect.flatMap(Effect.mapError(options.pull, lost), (chunks) => {
        for (const chunk of chunks) incoming.push(chunk)
        return loop()
      })
    })
  const send = (bytes: Uint8Array) => Effect.mapError(options.write(bytes), lost)

  const readReply = (option: number): Effect.Effect<OptionReply, HandshakeError> =>
    Effect.flatMap(read(20), (head) => {
      const v = view(head)
      const magic = v.getBigUint64(0)
      if (magic !== P.OPTION_REPLY_MAGIC) return Effect.fail(protocol(`bad option reply magic ${hex(magic)}`))
      const echoed = v.getUint32(8)
      if (echoed !== option) {
        return Effect.fail(protocol(`a reply for option ${echoed} came while waiting for ${optionNames[option] ?? option}`))
      }
      const type = v.getUint32(12)
      const length = v.getUint32(16)
      if (length > P.MAX_OPTION_LENGTH) {
        return Effect.fail(protocol(`an option reply of ${length} bytes is over the ${P.MAX_OPTION_LENGTH}-byte limit`))
      }
      return Effect.map(read(length), (data) => ({ type, data }))
    })

  const refused = (option: number, reply: OptionReply) => {
    const name = replyNames[reply.type] ?? `error reply ${hex(reply.type)}`
    const serverMessage = peerText(reply.data)
    return new NbdOptionError({
      option: optionNames[option] ?? String(option),
      reply: name,
      serverMessage,
      message: `${address}: the server refused ${optionNames[option] ?? option} for export ${JSON.stringify(exportName)}` +
        ` with ${name}${serverMessage === "" ? "" : `: ${serverMessage}`}`
    })
  }

  const unexpected = (option: number, reply: OptionReply) =>
    protocol(`unexpected reply type ${hex(reply.type)} to ${optionNames[option] ?? option}`)

  const nameBytes = encoder.encode(exportName)

  return Effect.gen(function*() {
    const greeting = yield* read(18).pipe(Effect.catchTag("NbdConnectError", (e) => Effect.fail(e)))
    const g = view(greeting)
    if (g.getBigUint64(0) !== P.NBDMAGIC) return yield* protocol(`bad initial magic ${hex(g.getBigUint64(0))} (is it an NBD server?)`)
    const second = g.getBigUint64(8)
    if (second === OLDSTYLE_MAGIC) return yield* protocol("the server uses oldstyle negotiation, which is not supported")
    if (second !== P.IHAVEOPT) return yield* protocol(`bad newstyle magic ${hex(second)}`)
    const handshakeFlags = g.getUint16(16)
    const fixed = (handshakeFlags & P.FLAG_FIXED_NEWSTYLE) !== 0
    const noZeroes = (handshakeFlags & P.FLAG_NO_ZEROES) !== 0
    const clientFlags = new Uint8Array(4)
    view(clientFlags).setUint32(0, (fixed ? P.FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? P.FLAG_C_NO_ZEROES : 0))
    yield* send(clientFlags)

    let structuredReplies = false
    let allocationContext: number | undefined
    if (fixed) {
      yield* send(optionRequest(P.OPT_STRUCTURED_REPLY, new Uint8Array(0)))
      const reply = yield* readReply(P.OPT_STRUCTURED_REPLY)
      if (reply.type === P.REP_ACK) structuredReplies = true
      else if (!P.isReplyError(reply.type)) return yield* unexpected(P.OPT_STRUCTURED_REPLY, reply)

      if (structuredReplies) {
        const query = encoder.encode(P.BASE_ALLOCATION)
        const field = nameField(nameBytes, 8 + query.byteLength)
        field.view.setUint32(field.at, 1)
        field.view.setUint32(field.at + 4, query.byteLength)
        field.bytes.set(query, field.at + 8)
        yield* send(optionRequest(P.OPT_SET_META_CONTEXT, field.bytes))
        for (let replies = 0;; replies++) {
          // A server answering one query with endless contexts is broken; the bound keeps us from looping on it.
          if (replies > 64) return yield* protocol("too many meta context replies to one query")
          const reply = yield* readReply(P.OPT_SET_META_CONTEXT)
          if (reply.type === P.REP_ACK || P.isReplyError(reply.type)) break
          if (reply.type !== P.REP_META_CONTEXT) return yield* unexpected(P.OPT_SET_META_CONTEXT, reply)
          if (reply.data.byteLength < 4) return yield* protocol("a meta context reply shorter than its id")
          const name = decoder.decode(reply.data.subarray(4))
          if (name === P.BASE_ALLOCATION) allocationContext = view(reply.data).getUint32(0)
        }
      }

      const go = nameField(nameBytes, 4)
      go.view.setUint16(go.at, 1)
      go.view.setUint16(go.at + 2, P.INFO_BLOCK_SIZE)
      yield* send(optionRequest(P.OPT_GO, go.bytes))
      let exportInfo: { size: number; flags: number } | undefined
      let blocks: { minimum: number; preferred: number; maximum: number } | undefined
      for (let replies = 0;; replies++) {
        if (replies > 64) return yield* protocol("too many information replies to NBD_OPT_GO")
        const reply = yield* readReply(P.OPT_GO)
        if (reply.type === P.REP_ACK) break
        if (reply.type === P.REP_ERR_UNSUP) {
          // A server without OPT_GO: end the negotiation the old way.
          exportInfo = undefined
          break
        }
        if (P.isReplyError(reply.type)) return yield* refused(P.OPT_GO, reply)
        if (reply.type !== P.REP_INFO) return yield* unexpected(P.OPT_GO, reply)
        if (reply.data.byteLength < 2) return yield* protocol("an NBD_REP_INFO reply without its type")
        const rv = view(reply.data)
        const info = rv.getUint16(0)
        if (info === P.INFO_EXPORT) {
          if (reply.data.byteLength !== 12) return yield* protocol(`NBD_INFO_EXPORT of ${reply.data.byteLength} bytes (expected 12)`)
          const size = rv.getBigUint64(2)
          if (size > BigInt(Number.MAX_SAFE_INTEGER)) return yield* protocol(`export size ${size} is past 2^53`)
          exportInfo = { size: Number(size), flags: rv.getUint16(10) }
        } else if (info === P.INFO_BLOCK_SIZE) {
          if (reply.data.byteLength !== 14) return yield* protocol(`NBD_INFO_BLOCK_SIZE of ${reply.data.byteLength} bytes (expected 14)`)
          blocks = { minimum: rv.getUint32(2), preferred: rv.getUint32(6), maximum: rv.getUint32(10) }
        }
      }
      if (exportInfo !== undefined) {
        const blockSizes = checkBlockSizes(blocks)
        if (blockSizes instanceof NbdProtocolError) return yield* blockSizes
        return {
          exportSize: exportInfo.size,
          transmissionFlags: exportInfo.flags,
          structuredReplies,
          allocationContext,
          ...blockSizes,
          exportNameFallback: false,
          leftover: incoming.drain()
        }
      }
    }

    // OPT_EXPORT_NAME: no reply on failure (the server just closes), the export's size and flags on success.
    yield* send(optionRequest(P.OPT_EXPORT_NAME, nameBytes))
    const ending = yield* read(noZeroes ? 10 : 134).pipe(
      Effect.catchTag("NbdConnectError", (e) =>
        Effect.fail(
          new NbdConnectError({
            address,
            message: `${address}: the server closed the connection on NBD_OPT_EXPORT_NAME (no export ${JSON.stringify(exportName)}?)`,
            cause: e.cause
          })
        ))
    )
    const ev = view(ending)
    const size = ev.getBigUint64(0)
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) return yield* protocol(`export size ${size} is past 2^53`)
    return {
      exportSize: Number(size),
      transmissionFlags: ev.getUint16(8),
      structuredReplies,
      allocationContext,
      minimumBlock: 1,
      preferredBlock: 4096,
      maximumBlock: P.DEFAULT_MAX_PAYLOAD,
      exportNameFallback: true,
      leftover: incoming.drain()
    }
  })
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0

const checkBlockSizes = (
  blocks: { minimum: number; preferred: number; maximum: number } | undefined
): { minimumBlock: number; preferredBlock: number; maximumBlock: number } | NbdProtocolError => {
  if (blocks === undefined) return { minimumBlock: 1, preferredBlock: 4096, maximumBlock: P.DEFAULT_MAX_PAYLOAD }
  const { maximum, minimum, preferred } = blocks
  if (!isPowerOfTwo(minimum) || minimum > 65536) return protocol(`minimum block size ${minimum} is not a power of two up to 64 KiB`)
  if (!isPowerOfTwo(preferred) || preferred < minimum) {
    return protocol(`preferred block size ${preferred} is not a power of two at least the minimum ${minimum}`)
  }
  if (maximum !== 0xffffffff && (maximum < minimum || maximum % minimum !== 0)) {
    return protocol(`maximum block size ${maximum} is not a multiple of the minimum ${minimum}`)
  }
  return { minimumBlock: minimum, preferredBlock: preferred, maximumBlock: maximum }
}
