/**
 * The server's handshake, rule by rule: the greeting, every option it
 * answers, the errors it answers with, and the inputs that end a connection.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as P from "../src/internal/Protocol.js"
import { makeServer } from "../src/index.js"
import { ramdisk, server, withClient } from "./support/Fixtures.js"
import { goRequest, metaRequest } from "./support/RawClient.js"

describe("greeting", () => {
  it.effect("is NBDMAGIC, IHAVEOPT and the fixed newstyle and no-zeroes flags", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const flags = yield* withClient(socket, async (client) => (await client.greet()).handshakeFlags)
      expect(flags).toBe(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES)
    }).pipe(Effect.scoped))

  it.effect("a client without fixed newstyle, or with unknown flags, is hung up on", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      for (const flags of [0, P.FLAG_C_NO_ZEROES, P.FLAG_C_FIXED_NEWSTYLE | 4]) {
        const closed = yield* withClient(socket, async (client) => {
          await client.greet(flags)
          return client.waitClosed()
        })
        expect(closed).toBe(true)
      }
    }).pipe(Effect.scoped))
})

describe("OPT_LIST", () => {
  it.effect("lists every export with its description, then ACK", () =>
    Effect.gen(function*() {
      const a = yield* ramdisk()
      const b = yield* ramdisk()
      const { socket } = yield* server({ exports: [{ name: "a", device: a, description: "first" }, { name: "b", device: b }] })
      const replies = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_LIST)
        return client.readOptionReplies()
      })
      expect(replies.map((reply) => reply.type)).toEqual([P.REP_SERVER, P.REP_SERVER, P.REP_ACK])
      const first = replies[0]!.data
      expect(first.subarray(4, 4 + first.readUInt32BE(0)).toString()).toBe("a")
      expect(first.subarray(5).toString()).toBe("first")
    }).pipe(Effect.scoped))

  it.effect("with data is refused ERR_INVALID", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const reply = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_LIST, new Uint8Array(3))
        return client.readOptionReply()
      })
      expect(reply.type).toBe(P.REP_ERR_INVALID)
    }).pipe(Effect.scoped))
})

describe("OPT_INFO and OPT_GO", () => {
  it.effect("INFO reports size, flags, name, description and block sizes and stays in negotiation", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(4096, 4096)
      const { socket } = yield* server({ exports: [{ name: "x", device, description: "the disk" }] })
      const { afterwards, replies } = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_INFO, goRequest("x", [P.INFO_NAME, P.INFO_DESCRIPTION, P.INFO_BLOCK_SIZE]))
        const replies = await client.readOptionReplies()
        client.sendOption(P.OPT_LIST)
        return { replies, afterwards: await client.readOptionReplies() }
      })
      const infos = new Map(replies.filter((r) => r.type === P.REP_INFO).map((r) => [r.data.readUInt16BE(0), r.data]))
      expect(replies[replies.length - 1]!.type).toBe(P.REP_ACK)
      expect(Number(infos.get(P.INFO_EXPORT)!.readBigUInt64BE(2))).toBe(4096 * 4096)
      const flags = infos.get(P.INFO_EXPORT)!.readUInt16BE(10)
      expect(flags & P.FLAG_HAS_FLAGS).toBeTruthy()
      expect(flags & P.FLAG_SEND_FLUSH).toBeTruthy()
      expect(flags & P.FLAG_CAN_MULTI_CONN).toBeTruthy()
      expect(flags & P.FLAG_READ_ONLY).toBe(0)
      expect(infos.get(P.INFO_NAME)!.subarray(2).toString()).toBe("x")
      expect(infos.get(P.INFO_DESCRIPTION)!.subarray(2).toString()).toBe("the disk")
      const sizes = infos.get(P.INFO_BLOCK_SIZE)!
      expect([sizes.readUInt32BE(2), sizes.readUInt32BE(6), sizes.readUInt32BE(10)]).toEqual([4096, 4096, P.DEFAULT_MAX_PAYLOAD])
      expect(afterwards[afterwards.length - 1]!.type).toBe(P.REP_ACK)
    }).pipe(Effect.scoped))

  it.effect("an unknown export is ERR_UNKNOWN and the client may try again", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const { first, second } = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_GO, goRequest("nope"))
        const first = await client.readOptionReply()
        client.sendOption(P.OPT_GO, goRequest("disk"))
        return { first, second: await client.readOptionReplies() }
      })
      expect(first.type).toBe(P.REP_ERR_UNKNOWN)
      expect(second[second.length - 1]!.type).toBe(P.REP_ACK)
    }).pipe(Effect.scoped))

  it.effect("the empty name selects the first export", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const opened = yield* withClient(socket, (client) => client.open(""))
      expect(opened.size).toBe(2048 * 512)
    }).pipe(Effect.scoped))

  it.effect("malformed request data is ERR_INVALID", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const types = yield* withClient(socket, async (client) => {
        await client.greet()
        const bad = [new Uint8Array(3), Buffer.from([0, 0, 0, 9, 0, 0]), Buffer.from([0, 0, 0, 0, 0, 5])]
        const types = []
        for (const data of bad) {
          client.sendOption(P.OPT_GO, data)
          types.push((await client.readOptionReply()).type)
        }
        return types
      })
      expect(types).toEqual([P.REP_ERR_INVALID, P.REP_ERR_INVALID, P.REP_ERR_INVALID])
    }).pipe(Effect.scoped))

  it.effect("a read-only export says READ_ONLY and does not offer trim or zeroes", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk()
      const { socket } = yield* server({ exports: [{ name: "ro", device, readOnly: true }] })
      const { flags } = yield* withClient(socket, (client) => client.open("ro"))
      expect(flags & P.FLAG_READ_ONLY).toBeTruthy()
      expect(flags & (P.FLAG_SEND_TRIM | P.FLAG_SEND_WRITE_ZEROES)).toBe(0)
    }).pipe(Effect.scoped))
})

describe("OPT_EXPORT_NAME", () => {
  it.effect("answers size, flags and 124 zeros, then transmission starts", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const { error, head } = yield* withClient(socket, async (client) => {
        await client.greet(P.FLAG_C_FIXED_NEWSTYLE)
        client.sendOption(P.OPT_EXPORT_NAME, Buffer.from("disk"))
        const head = await client.read(134)
        client.sendRequest(P.CMD_FLUSH, 1n, 0, 0)
        return { head, error: (await client.readSimpleReply()).error }
      })
      expect(Number(head.readBigUInt64BE(0))).toBe(2048 * 512)
      expect(head.subarray(10).every((byte) => byte === 0)).toBe(true)
      expect(error).toBe(0)
    }).pipe(Effect.scoped))

  it.effect("an unknown name closes the connection (the option has no error reply)", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const closed = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_EXPORT_NAME, Buffer.from("nope"))
        return client.waitClosed()
      })
      expect(closed).toBe(true)
    }).pipe(Effect.scoped))
})

describe("OPT_ABORT, unknown options and framing", () => {
  it.effect("ABORT is acknowledged, then the server closes", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const { closed, reply } = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_ABORT)
        return { reply: await client.readOptionReply(), closed: await client.waitClosed() }
      })
      expect(reply.type).toBe(P.REP_ACK)
      expect(closed).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("unknown options and STARTTLS are ERR_UNSUP; oversized option data is ERR_TOO_BIG, skipped", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const types = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(99, Buffer.from("whatever"))
        client.sendOption(P.OPT_STARTTLS)
        client.sendOption(P.OPT_INFO, new Uint8Array(P.MAX_OPTION_LENGTH + 1))
        client.sendOption(P.OPT_LIST)
        const types = []
        for (let i = 0; i < 3; i++) types.push((await client.readOptionReply()).type)
        types.push(...(await client.readOptionReplies()).map((reply) => reply.type))
        return types
      })
      expect(types).toEqual([P.REP_ERR_UNSUP, P.REP_ERR_UNSUP, P.REP_ERR_TOO_BIG, P.REP_SERVER, P.REP_ACK])
    }).pipe(Effect.scoped))

  it.effect("a bad option magic closes the connection", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const closed = yield* withClient(socket, async (client) => {
        await client.greet()
        client.send(Buffer.alloc(16, 0x41))
        return client.waitClosed()
      })
      expect(closed).toBe(true)
    }).pipe(Effect.scoped))

  it.live("a client that stalls in the handshake is closed after the timeout", () =>
    Effect.gen(function*() {
      const { socket } = yield* server({ handshakeTimeoutMillis: 200 })
      const closed = yield* withClient(socket, async (client) => {
        await client.read(18)
        return client.waitClosed()
      })
      expect(closed).toBe(true)
    }).pipe(Effect.scoped))
})

describe("meta contexts", () => {
  it.effect("LIST offers base:allocation; SET selects it with a non-zero id", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const { listed, set } = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_STRUCTURED_REPLY)
        await client.readOptionReply()
        client.sendOption(P.OPT_LIST_META_CONTEXT, metaRequest("disk", []))
        const listed = await client.readOptionReplies()
        client.sendOption(P.OPT_SET_META_CONTEXT, metaRequest("disk", ["base:allocation", "other:thing"]))
        return { listed, set: await client.readOptionReplies() }
      })
      expect(listed.map((reply) => reply.type)).toEqual([P.REP_META_CONTEXT, P.REP_ACK])
      expect(listed[0]!.data.subarray(4).toString()).toBe("base:allocation")
      expect(set.map((reply) => reply.type)).toEqual([P.REP_META_CONTEXT, P.REP_ACK])
      expect(set[0]!.data.readUInt32BE(0)).not.toBe(0)
    }).pipe(Effect.scoped))

  it.effect("before structured replies they are ERR_INVALID", () =>
    Effect.gen(function*() {
      const { socket } = yield* server()
      const reply = yield* withClient(socket, async (client) => {
        await client.greet()
        client.sendOption(P.OPT_SET_META_CONTEXT, metaRequest("disk", ["base:allocation"]))
        return client.readOptionReply()
      })
      expect(reply.type).toBe(P.REP_ERR_INVALID)
    }).pipe(Effect.scoped))
})

describe("NbdServerLive options", () => {
  it.effect("are decoded: a bad option is a BadOptions error naming it", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk()
      const errors = []
      for (
        const options of [
          { exports: [{ name: "a", device }], port: 70000 },
          { exports: [] },
          { exports: [{ name: "a", device: { read: 1 } }] },
          { exports: [{ name: "a", device }], maxInFlight: 0 },
          { exports: [{ name: "a", device }], socket: "/tmp/x", port: 1 }
        ]
      ) {
        errors.push(yield* Effect.flip(makeServer(options as never)))
      }
      expect(errors.every((error) => error.reason === "BadOptions")).toBe(true)
      expect(errors[0]!.message).toContain("port")
      expect(errors[3]!.message).toContain("maxInFlight")
    }).pipe(Effect.scoped))
})
