/**
 * The server's side of the NBD handshake: fixed newstyle negotiation, from
 * the greeting to the option that starts transmission (`OPT_GO` or
 * `OPT_EXPORT_NAME`). Every option the protocol lets a server refuse gets
 * its error reply; anything that breaks the framing ends the connection.
 * No input can make it hold more than one option's payload (at most
 * `MAX_OPTION_LENGTH` bytes) or loop without reading.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as P from "./Protocol.js"
import type { ExportTable, OpenExport } from "./ServerExports.js"
import { fromUtf8, isMagic, put16, put32, put64, putMagic, u16, u32, utf8, WireReader } from "./WireReader.js"

/** Why a connection ends before or during transmission without an error reply. */
export class Hangup {
  readonly _tag = "Hangup"
  constructor(readonly reason: string) {}
}

/** Where the negotiation ended: the export to serve and what was agreed. */
export interface Negotiated {
  readonly export: OpenExport
  readonly structured: boolean
  /** The id given to `base:allocation`, or 0 when it was not selected. */
  readonly allocationContext: number
  readonly flags: number
}

/** The sending half a handshake needs. */
export type Send<E> = (bytes: Uint8Array) => Effect.Effect<void, E>

/** Options a client may send before the server hangs up on it. */
const maxOptions = 256
/** The id we give `base:allocation` when it is selected. */
const allocationId = 1
/** Largest request payload we accept, advertised in `INFO_BLOCK_SIZE`. */
export const maxPayload = P.DEFAULT_MAX_PAYLOAD

/** The 18-byte greeting: NBDMAGIC, IHAVEOPT, handshake flags. */
export const greeting = (): Uint8Array => {
  const bytes = new Uint8Array(18)
  putMagic(bytes, 0, P.NBDMAGIC)
  putMagic(bytes, 8, P.IHAVEOPT)
  put16(bytes, 16, P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES)
  return bytes
}

const optionReply = (option: number, type: number, data: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const bytes = new Uint8Array(20 + data.length)
  putMagic(bytes, 0, P.OPTION_REPLY_MAGIC)
  put32(bytes, 8, option)
  put32(bytes, 12, type)
  put32(bytes, 16, data.length)
  bytes.set(data, 20)
  return bytes
}

const errorReply = (option: number, type: number, message: string) => optionReply(option, type, utf8(message))

/** The transmission flags of an export, given what was negotiated. */
export const transmissionFlags = (open: OpenExport, structured: boolean): number => {
  let flags = P.FLAG_HAS_FLAGS | P.FLAG_SEND_FLUSH | P.FLAG_SEND_FUA | P.FLAG_SEND_CACHE
  if (open.readOnly) flags |= P.FLAG_READ_ONLY
  else flags |= P.FLAG_SEND_TRIM | P.FLAG_SEND_WRITE_ZEROES | P.FLAG_SEND_FAST_ZERO
  if (structured) flags |= P.FLAG_SEND_DF
  if (open.multiConn) flags |= P.FLAG_CAN_MULTI_CONN
  return flags
}

const infoExport = (open: OpenExport, flags: number): Uint8Array => {
  const bytes = new Uint8Array(12)
  put16(bytes, 0, P.INFO_EXPORT)
  put64(bytes, 2, open.sizeBytes)
  put16(bytes, 10, flags)
  return bytes
}

const infoString = (type: number, text: string): Uint8Array => {
  const encoded = utf8(text)
  const bytes = new Uint8Array(2 + encoded.length)
  put16(bytes, 0, type)
  bytes.set(encoded, 2)
  return bytes
}

const infoBlockSize = (sectorSize: number): Uint8Array => {
  const bytes = new Uint8Array(14)
  put16(bytes, 0, P.INFO_BLOCK_SIZE)
  put32(bytes, 2, sectorSize)
  put32(bytes, 6, Math.max(4096, sectorSize))
  put32(bytes, 10, maxPayload)
  return bytes
}

/** A parsed `OPT_INFO`/`OPT_GO` request, or the reason it is malformed. */
const parseInfoRequest = (data: Uint8Array): { name: string; requests: Array<number> } | string => {
  if (data.length < 6) return `option data of ${data.length} bytes is shorter than 6`
  const nameLength = u32(data, 0)
  if (nameLength > data.length - 6) return `name length ${nameLength} exceeds the option data`
  const name = fromUtf8(data.subarray(4, 4 + nameLength))
  const count = u16(data, 4 + nameLength)
  if (6 + nameLength + 2 * count !== data.length) {
    return `${count} information requests do not fill the remaining ${data.length - 6 - nameLength} bytes`
  }
  const requests: Array<number> = []
  for (let i = 0; i < count; i++) requests.push(u16(data, 6 + nameLength + 2 * i))
  return { name, requests }
}

/** A parsed meta context request (`LIST`/`SET_META_CONTEXT`), or why it is malformed. */
const parseMetaRequest = (data: Uint8Array): { name: string; queries: Array<string> } | string => {
  if (data.length < 8) return `option data of ${data.length} bytes is shorter than 8`
  const nameLength = u32(data, 0)
  if (nameLength > data.length - 8) return `name length ${nameLength} exceeds the option data`
  const name = fromUtf8(data.subarray(4, 4 + nameLength))
  let at = 4 + nameLength
  const count = u32(data, at)
  at += 4
  if (count > (data.length - at) / 4) return `${count} queries cannot fit in the option data`
  const queries: Array<string> = []
  for (let i = 0; i < count; i++) {
    if (data.length - at < 4) return `query ${i} is cut short`
    const length = u32(data, at)
    at += 4
    if (length > data.length - at) return `query ${i}'s length ${length} exceeds the option data`
    queries.push(fromUtf8(data.subarray(at, at + length)))
    at += length
  }
  if (at !== data.length) return `${data.length - at} bytes follow the last query`
  return { name, queries }
}

/** Whether a meta context query selects `base:allocation` (`base:` lists the whole namespace). */
const matchesAllocation = (query: string, listing: boolean): boolean =>
  query === P.BASE_ALLOCATION || (listing && query === "base:")

const metaContextReply = (option: number, id: number): Uint8Array => {
  const name = utf8(P.BASE_ALLOCATION)
  const data = new Uint8Array(4 + name.length)
  put32(data, 0, id)
  data.set(name, 4)
  return optionReply(option, P.REP_META_CONTEXT, data)
}

/**
 * Runs the negotiation on a connection. Succeeds with what to serve, or
 * fails `Hangup` when the connection must end (abort, framing errors,
 * too many options); socket errors pass through.
 */
export const negotiate = <E>(
  reader: WireReader<E>,
  send: Send<E>,
  table: ExportTable
): Effect.Effect<Negotiated, E | Hangup, Scope.Scope> =>
  Effect.gen(function*() {
    yield* send(greeting())
    yield* reader.ensure(4)
    reader.window(4)
    const clientFlags = u32(reader.windowBytes, reader.windowAt)
    reader.skip(4)
    if ((clientFlags & ~(P.FLAG_C_FIXED_NEWSTYLE | P.FLAG_C_NO_ZEROES)) !== 0) {
      return yield* Effect.fail(new Hangup(`unknown client flags 0x${clientFlags.toString(16)}`))
    }
    if ((clientFlags & P.FLAG_C_FIXED_NEWSTYLE) === 0) {
      return yield* Effect.fail(new Hangup("the client does not speak fixed newstyle"))
    }
    const noZeroes = (clientFlags & P.FLAG_C_NO_ZEROES) !== 0
    let structured = false
    // The export name the last SET_META_CONTEXT selected for, and whether it selected base:allocation.
    let metaFor: string | undefined
    let metaSelected = false

    for (let count = 0; count < maxOptions; count++) {
      yield* reader.ensure(16)
      reader.window(16)
      const head = reader.windowBytes
      const at = reader.windowAt
      if (!isMagic(head, at, P.IHAVEOPT)) return yield* Effect.fail(new Hangup("bad option magic"))
      const option = u32(head, at + 8)
      const length = u32(head, at + 12)
      reader.skip(16)
      if (length > P.MAX_OPTION_LENGTH) {
        if (option === P.OPT_EXPORT_NAME) return yield* Effect.fail(new Hangup(`export name of ${length} bytes`))
        yield* reader.discard(length)
        yield* send(errorReply(option, P.REP_ERR_TOO_BIG, `option data of ${length} bytes exceeds ${P.MAX_OPTION_LENGTH}`))
        continue
      }
      const data = yield* reader.read(length)

      switch (option) {
        case P.OPT_EXPORT_NAME: {
          const open = yield* table.open(fromUtf8(data))
          // This option has no error reply: an unknown export ends the connection.
          if (open === undefined) return yield* Effect.fail(new Hangup("unknown export"))
          const flags = transmissionFlags(open, structured)
          const reply = new Uint8Array(noZeroes ? 10 : 134)
          put64(reply, 0, open.sizeBytes)
          put16(reply, 8, flags)
          yield* send(reply)
          const allocationContext = structured && metaSelected && metaFor === open.name ? allocationId : 0
          return { export: open, structured, allocationContext, flags }
        }
        case P.OPT_ABORT: {
          yield* send(optionReply(option, P.REP_ACK))
          return yield* Effect.fail(new Hangup("the client aborted"))
        }
        case P.OPT_LIST: {
          if (length !== 0) {
            yield* send(errorReply(option, P.REP_ERR_INVALID, "OPT_LIST takes no data"))
            break
          }
          for (const { description, name } of yield* table.list) {
            const encoded = utf8(name)
            const text = utf8(description)
            const entry = new Uint8Array(4 + encoded.length + text.length)
            put32(entry, 0, encoded.length)
            entry.set(encoded, 4)
            entry.set(text, 4 + encoded.length)
            yield* send(optionReply(option, P.REP_SERVER, entry))
          }
          yield* send(optionReply(option, P.REP_ACK))
          break
        }
        case P.OPT_STRUCTURED_REPLY: {
          if (length !== 0) {
            yield* send(errorReply(option, P.REP_ERR_INVALID, "OPT_STRUCTURED_REPLY takes no data"))
            break
          }
          structured = true
          yield* send(optionReply(option, P.REP_ACK))
          break
        }
        case P.OPT_INFO:
        case P.OPT_GO: {
          const request = parseInfoRequest(data)
          if (typeof request === "string") {
            yield* send(errorReply(option, P.REP_ERR_INVALID, request))
            break
          }
          // Only GO keeps the export open; INFO releases what it opened at once.
          const open = option === P.OPT_GO ? yield* table.open(request.name) : yield* Effect.scoped(table.open(request.name))
          if (open === undefined) {
            yield* send(errorReply(option, P.REP_ERR_UNKNOWN, `no export named ${JSON.stringify(request.name)}`))
            break
          }
          const flags = transmissionFlags(open, structured)
          yield* send(optionReply(option, P.REP_INFO, infoExport(open, flags)))
          if (request.requests.includes(P.INFO_NAME)) {
            yield* send(optionReply(option, P.REP_INFO, infoString(P.INFO_NAME, open.name)))
          }
          if (request.requests.includes(P.INFO_DESCRIPTION) && open.description.length > 0) {
            yield* send(optionReply(option, P.REP_INFO, infoString(P.INFO_DESCRIPTION, open.description)))
          }
          yield* send(optionReply(option, P.REP_INFO, infoBlockSize(open.sectorSize)))
          yield* send(optionReply(option, P.REP_ACK))
          if (option === P.OPT_GO) {
            const allocationContext = structured && metaSelected && metaFor === open.name ? allocationId : 0
            return { export: open, structured, allocationContext, flags }
          }
          break
        }
        case P.OPT_LIST_META_CONTEXT:
        case P.OPT_SET_META_CONTEXT: {
          const setting = option === P.OPT_SET_META_CONTEXT
          if (setting) {
            // A SET replaces the selection even when it fails.
            metaFor = undefined
            metaSelected = false
          }
          if (!structured) {
            yield* send(errorReply(option, P.REP_ERR_INVALID, "negotiate structured replies first"))
            break
          }
          const request = parseMetaRequest(data)
          if (typeof request === "string") {
            yield* send(errorReply(option, P.REP_ERR_INVALID, request))
            break
          }
          const open = yield* Effect.scoped(table.open(request.name))
          if (open === undefined) {
            yield* send(errorReply(option, P.REP_ERR_UNKNOWN, `no export named ${JSON.stringify(request.name)}`))
            break
          }
          const selects = setting
            ? request.queries.some((query) => matchesAllocation(query, false))
            : request.queries.length === 0 || request.queries.some((query) => matchesAllocation(query, true))
          if (selects) yield* send(metaContextReply(option, setting ? allocationId : 0))
          if (setting) {
            metaFor = open.name
            metaSelected = selects
          }
          yield* send(optionReply(option, P.REP_ACK))
          break
        }
        case P.OPT_STARTTLS: {
          yield* send(errorReply(option, P.REP_ERR_UNSUP, "TLS is not supported"))
          break
        }
        default: {
          yield* send(errorReply(option, P.REP_ERR_UNSUP, `option ${option} is not supported`))
        }
      }
    }
    return yield* Effect.fail(new Hangup(`more than ${maxOptions} options`))
  })
