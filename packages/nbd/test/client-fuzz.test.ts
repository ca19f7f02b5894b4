/**
 * A malicious or broken server never crashes or hangs the client: replies
 * and handshakes mutated at random (bytes flipped, cut short, garbage
 * appended) or replaced by garbage always end the client's call with a
 * typed error — or, when the mutation left a valid exchange, with success —
 * within a bound, never with a defect. Bounded runs; fast-check prints the
 * seed of any failure so it replays.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { makeClient } from "../src/index.js"
import * as P from "../src/internal/Protocol.js"
import { chunk, fakeServer, negotiate, optionReply, simpleReply, u16, u32, u64, type Wire } from "./support/FakeServer.js"

const intBetween = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

const Damage = Schema.Struct({
  garbageOnly: Schema.Boolean,
  // Most flips land in the first 64 bytes, where the magic, cookies, types, lengths and offsets are.
  flips: Schema.Array(Schema.Struct({ at: Schema.Union([intBetween(0, 64), intBetween(0, 2100)]), value: intBetween(0, 255) }))
    .check(Schema.isMaxLength(4)),
  cutAt: intBetween(0, 2200),
  extra: Schema.Array(intBetween(0, 255)).check(Schema.isMaxLength(64))
})
type Damage = typeof Damage.Type

const damage = (valid: Buffer, d: Damage): Buffer => {
  if (d.garbageOnly) return Buffer.from(d.extra.length === 0 ? [0xde, 0xad] : d.extra)
  const bytes = Buffer.from(valid)
  for (const { at, value } of d.flips) if (at < bytes.length) bytes[at] = value
  return Buffer.concat([bytes.subarray(0, Math.min(bytes.length, d.cutAt)), Buffer.from(d.extra)])
}

const Command = Schema.Literals(["read", "write", "seekMapped", "flush", "discard"])

/** The valid reply a correct server would send to `command` for bytes `[offset, offset + length)`. */
const validReply = (command: number, cookie: Buffer, offset: number, length: number): Buffer => {
  if (command === P.CMD_READ) {
    const half = Math.floor(length / 2)
    return Buffer.concat([
      chunk(cookie, 0, P.REPLY_TYPE_OFFSET_HOLE, Buffer.concat([u64(offset), u32(half)])),
      chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset + half), Buffer.alloc(length - half, 0x5a)]))
    ])
  }
  if (command === P.CMD_BLOCK_STATUS) {
    return chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_BLOCK_STATUS, Buffer.concat([u32(7), u32(length), u32(0)]))
  }
  return simpleReply(cookie, 0)
}

/** Every error a client call may fail with: all typed. */
const typedTags = new Set(["IOError", "Disconnected", "InvalidRequest", "IsReadOnly", "Unimplemented"])
const openTags = new Set(["NbdConnectError", "NbdProtocolError", "NbdOptionError", "InvalidRequest"])

const expectTyped = (exit: Exit.Exit<unknown, { readonly _tag: string }>, allowed: Set<string>) => {
  if (Exit.isSuccess(exit)) return
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  expect(allowed.has(error.value._tag), `unexpected ${error.value._tag}`).toBe(true)
}

/** Ends the connection shortly after the damaged bytes, so a client waiting for more is released. */
const sendThenClose = (wire: Wire, bytes: Buffer) => {
  wire.write(bytes)
  setTimeout(() => wire.socket.end(), 20)
}

describe("a broken server in the transmission phase", () => {
  it.live.prop(
    "every request ends with success or a typed error, within a bound",
    { command: Command, damage: Damage },
    ({ command, damage: d }) =>
      Effect.gen(function*() {
        const server = yield* fakeServer({ size: 1 << 20 }, {
          onRequest: ({ command: c, cookie, length, offset }, wire) =>
            sendThenClose(wire, damage(validReply(c, cookie, offset, length), d))
        })
        const device = yield* makeClient({ uri: server.uri })
        const buffer = new Uint8Array(1024)
        const call = command === "read" ?
          device.read(4, buffer) :
          command === "write" ?
          device.write(4, buffer) :
          command === "seekMapped" ?
          device.seekMapped(4) :
          command === "flush" ?
          device.flush :
          device.discard(4, 2)
        const exit = yield* Effect.exit(call.pipe(Effect.timeout("3 seconds")))
        expectTyped(exit as Exit.Exit<unknown, { readonly _tag: string }>, typedTags)
        // A later call is answered too (Disconnected or success), never left hanging.
        const after = yield* Effect.exit(device.read(0, new Uint8Array(512)).pipe(Effect.timeout("3 seconds")))
        expectTyped(after as Exit.Exit<unknown, { readonly _tag: string }>, typedTags)
      }).pipe(Effect.scoped),
    { timeout: 60_000, arbitrary: { runs: 60 } }
  )
})

/** What a correct server sends our client during the handshake, all of it. */
const validHandshake = Buffer.concat([
  u64(P.NBDMAGIC),
  u64(P.IHAVEOPT),
  u16(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES),
  optionReply(P.OPT_STRUCTURED_REPLY, P.REP_ACK),
  optionReply(P.OPT_SET_META_CONTEXT, P.REP_META_CONTEXT, Buffer.concat([u32(7), Buffer.from(P.BASE_ALLOCATION)])),
  optionReply(P.OPT_SET_META_CONTEXT, P.REP_ACK),
  optionReply(P.OPT_GO, P.REP_INFO, Buffer.concat([u16(P.INFO_EXPORT), u64(1 << 20), u16(P.FLAG_HAS_FLAGS)])),
  optionReply(P.OPT_GO, P.REP_INFO, Buffer.concat([u16(P.INFO_BLOCK_SIZE), u32(512), u32(4096), u32(1 << 20)])),
  optionReply(P.OPT_GO, P.REP_ACK)
])

describe("named attacks on a read", () => {
  const attack = (reply: (cookie: Buffer, offset: number, length: number) => Buffer, expected: string) =>
    Effect.gen(function*() {
      const server = yield* fakeServer({ size: 1 << 20 }, {
        onRequest: ({ cookie, length, offset }, wire) => wire.write(reply(cookie, offset, length))
      })
      const device = yield* makeClient({ uri: server.uri })
      const error = yield* Effect.flip(device.read(4, new Uint8Array(1024)).pipe(Effect.timeout("3 seconds")))
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain(expected)
      if (error._tag === "IOError") expect(error.cause).toMatchObject({ _tag: "NbdProtocolError" })
      expect((yield* Effect.flip(device.read(0, new Uint8Array(512))))._tag).toBe("Disconnected")
    }).pipe(Effect.scoped)
  const other = Buffer.from([0, 0, 0, 0, 0, 0, 0x12, 0x34])

  it.live("a bad magic", () => attack((cookie) => Buffer.concat([u32(0x12345678), u32(0), cookie]), "bad reply magic"))
  it.live("a cookie no request has", () => attack(() => simpleReply(other, 0), "no request in flight has"))
  it.live("a chunk past the end of the request", () =>
    attack(
      (cookie, offset, length) =>
        chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset + 512), Buffer.alloc(length, 1)])),
      "outside the read"
    ))
  it.live("a hole before the start of the request", () =>
    attack(
      (cookie, offset, length) => chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_HOLE, Buffer.concat([u64(offset - 512), u32(length)])),
      "outside the read"
    ))
  it.live("an oversized data chunk", () =>
    attack(
      (cookie, offset) => Buffer.concat([u32(P.STRUCTURED_REPLY_MAGIC), u16(P.REPLY_FLAG_DONE), u16(P.REPLY_TYPE_OFFSET_DATA), cookie, u32(0xfffffff0), u64(offset)]),
      "for a read of 1024 bytes"
    ))
  it.live("an oversized error chunk", () =>
    attack(
      (cookie) => Buffer.concat([u32(P.STRUCTURED_REPLY_MAGIC), u16(P.REPLY_FLAG_DONE), u16(P.REPLY_TYPE_ERROR), cookie, u32(1 << 30)]),
      "over the"
    ))
  it.live("the same bytes twice", () =>
    attack(
      (cookie, offset) =>
        Buffer.concat([
          chunk(cookie, 0, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset), Buffer.alloc(512, 1)])),
          chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset), Buffer.alloc(1024, 1)]))
        ]),
      "already sent"
    ))
  it.live("a reply that ends with bytes missing", () =>
    attack(
      (cookie, offset) => chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset), Buffer.alloc(512, 1)])),
      "ended after 512"
    ))
})

describe("a broken server in the handshake", () => {
  it.live.prop(
    "connecting ends with a device or a typed error, within a bound",
    { damage: Damage },
    ({ damage: d }) =>
      Effect.gen(function*() {
        const server = yield* fakeServer({}, {
          onRequest: () => undefined,
          raw: async (wire) => {
            sendThenClose(wire, damage(validHandshake, d))
            await new Promise((resolve) => setTimeout(resolve, 30))
          }
        })
        const exit = yield* Effect.exit(makeClient({ uri: server.uri, connectTimeout: Duration.seconds(3) }).pipe(Effect.timeout("4 seconds")))
        expectTyped(exit as Exit.Exit<unknown, { readonly _tag: string }>, openTags)
      }).pipe(Effect.scoped),
    { timeout: 60_000, arbitrary: { runs: 60 } }
  )

  it.live("a valid transcript sent at once connects (the fuzz's baseline)", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({}, {
        onRequest: () => undefined,
        raw: async (wire) => {
          wire.write(validHandshake)
          await wire.read(1 << 30)
        }
      })
      const device = yield* makeClient({ uri: server.uri })
      expect(device.export.baseAllocation).toBe(true)
    }).pipe(Effect.scoped))

  it.live("negotiate() of the fake server and the transcript agree", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({ size: 1 << 20, blockSizes: [512, 4096, 1 << 20] }, {
        onRequest: () => undefined,
        raw: async (wire) => {
          await negotiate(wire, { size: 1 << 20, blockSizes: [512, 4096, 1 << 20] })
          await wire.read(28)
        }
      })
      const device = yield* makeClient({ uri: server.uri })
      expect(device.export.maximumBlock).toBe(1 << 20)
    }).pipe(Effect.scoped))
})
