/**
 * The NBD client's rules, against a scripted in-process server
 * (support/FakeServer.ts): options and URIs, the handshake and its fallbacks,
 * replies of every shape, pipelining, errno mapping, and what a lost
 * connection does with and without a reconnect schedule. The conformance
 * suite against our own server is in conformance.test.ts; real servers are in
 * the interop suite.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Duration from "effect/Duration"
import { makeClient } from "../src/index.js"
import * as P from "../src/internal/Protocol.js"
import { chunk, fakeServer, memoryHandler, optionReply, simpleReply, u16, u32, u64 } from "./support/FakeServer.js"

const sector = (fill: number) => new Uint8Array(512).fill(fill)

describe("options", () => {
  it.effect("refuses a malformed option with InvalidRequest naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeClient({ uri: "nbd://localhost/x", readOnly: "yes" as unknown as boolean }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("readOnly")
    }))

  it.effect("refuses an unknown option (a misspelt readonly) with InvalidRequest naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeClient({ uri: "nbd://localhost/x", readonly: true } as unknown as { uri: string }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("readonly")
    }))

  it.effect("refuses null for an option rather than taking it as absent", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeClient({ uri: "nbd://localhost/x", sectorSize: null } as unknown as { uri: string }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("sectorSize")
    }))

  it.effect("refuses an options object whose getters throw with InvalidRequest", () =>
    Effect.gen(function*() {
      const hostile = new Proxy({}, {
        get: () => {
          throw new Error("boom")
        },
        ownKeys: () => {
          throw new Error("boom")
        }
      })
      const error = yield* Effect.flip(makeClient(hostile as { uri: string }))
      expect(error._tag).toBe("InvalidRequest")
    }))

  it.live("refuses a sector size below the server's minimum block size", () =>
    Effect.gen(function*() {
      const { handler } = memoryHandler(1 << 20)
      const server = yield* fakeServer({ blockSizes: [4096, 4096, 1 << 20] }, handler)
      const error = yield* Effect.flip(makeClient({ uri: server.uri, sectorSize: 512 }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("minimum block size 4096")
      const device = yield* makeClient({ uri: server.uri })
      expect((yield* device.info).sectorSize).toBe(4096)
    }).pipe(Effect.scoped))
})

describe("URIs", () => {
  it.effect.each([
    ["nbds://example.com/disk", "TlsUnsupported"],
    ["nbds+unix:///disk?socket=/tmp/s", "TlsUnsupported"],
    ["nbd+vsock:///disk", "UnsupportedTransport"],
    ["http://example.com/disk", "Malformed"],
    ["nbd+unix:///disk", "Malformed"],
    ["nbd+unix://host/disk?socket=/tmp/s", "Malformed"],
    ["nbd://example.com:99999/disk", "Malformed"],
    ["nbd:///disk", "Malformed"],
    ["not a uri", "Malformed"]
  ] as const)("refuses %s with NbdUriError (%s)", ([uri, reason]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeClient({ uri }))
      expect(error._tag).toBe("NbdUriError")
      if (error._tag === "NbdUriError") expect(error.reason).toBe(reason)
      if (reason === "TlsUnsupported") expect(error.message).toContain("TLS not supported yet")
    }).pipe(Effect.scoped))

  it.live("connects to the export a nbd+unix URI names, %-decoded", () =>
    Effect.gen(function*() {
      let asked = ""
      const server = yield* fakeServer({}, {
        onRequest: () => undefined,
        raw: async (wire) => {
          wire.write(Buffer.concat([u64(P.NBDMAGIC), u64(P.IHAVEOPT), u16(P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES)]))
          await wire.read(4)
          for (;;) {
            const head = await wire.read(16)
            if (head === undefined) return
            const data = (await wire.read(head.readUInt32BE(12)))!
            const option = head.readUInt32BE(8)
            if (option !== P.OPT_GO) {
              wire.write(optionReply(option, P.REP_ERR_UNSUP))
              continue
            }
            asked = data.subarray(4, 4 + data.readUInt32BE(0)).toString()
            wire.write(optionReply(option, P.REP_INFO, Buffer.concat([u16(P.INFO_EXPORT), u64(4096), u16(1)])))
            wire.write(optionReply(option, P.REP_ACK))
            await wire.read(28)
            return
          }
        }
      })
      const device = yield* makeClient({ uri: `nbd+unix:///my%20disk?socket=${server.socketPath}` })
      expect(asked).toBe("my disk")
      expect(device.export.structuredReplies).toBe(false)
    }).pipe(Effect.scoped))
})

describe("handshake", () => {
  it.live("fails NbdConnectError when nothing listens", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeClient({ uri: "nbd+unix:///?socket=/nonexistent/effect-block.sock" }))
      expect(error._tag).toBe("NbdConnectError")
      expect(error.message).toContain("/nonexistent/effect-block.sock")
    }).pipe(Effect.scoped))

  it.live("fails NbdConnectError when the server says nothing within the timeout", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({}, { onRequest: () => undefined, raw: () => new Promise((r) => setTimeout(r, 2000)) })
      const error = yield* Effect.flip(makeClient({ uri: server.uri, connectTimeout: Duration.millis(100) }))
      expect(error._tag).toBe("NbdConnectError")
      expect(error.message).toContain("no NBD handshake within")
    }).pipe(Effect.scoped))

  it.live("fails NbdProtocolError on a bad magic", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({}, {
        onRequest: () => undefined,
        raw: async (wire) => wire.write(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n"))
      })
      const error = yield* Effect.flip(makeClient({ uri: server.uri }))
      expect(error._tag).toBe("NbdProtocolError")
      expect(error.message).toContain("bad initial magic")
    }).pipe(Effect.scoped))

  it.live("turns an NBD_REP_ERR_* refusal of NBD_OPT_GO into NbdOptionError with the server's message", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({ refuseGo: { reply: P.REP_ERR_UNKNOWN, message: "no export named x" } }, {
        onRequest: () => undefined
      })
      const error = yield* Effect.flip(makeClient({ uri: server.uri }))
      expect(error._tag).toBe("NbdOptionError")
      if (error._tag === "NbdOptionError") {
        expect(error.reply).toBe("NBD_REP_ERR_UNKNOWN")
        expect(error.serverMessage).toBe("no export named x")
      }
      expect(error.message).toContain("no export named x")
    }).pipe(Effect.scoped))

  it.live("falls back to NBD_OPT_EXPORT_NAME when the server has no NBD_OPT_GO", () =>
    Effect.gen(function*() {
      const { handler } = memoryHandler(1 << 20, false)
      const server = yield* fakeServer({ noGo: true, structured: false, size: 1 << 20 }, handler)
      const device = yield* makeClient({ uri: server.uri })
      expect(device.export.exportNameFallback).toBe(true)
      yield* device.write(3, sector(9))
      const back = new Uint8Array(512)
      yield* device.read(3, back)
      expect(back).toEqual(sector(9))
    }).pipe(Effect.scoped))

  it.live("keeps the context id the server gives base:allocation", () =>
    Effect.gen(function*() {
      // memoryHandler answers block status for context 7, the id negotiate() hands out.
      const { handler } = memoryHandler(1 << 20)
      const server = yield* fakeServer({}, handler)
      const device = yield* makeClient({ uri: server.uri })
      expect(device.export.baseAllocation).toBe(true)
      expect(yield* device.seekMapped(5)).toBe(5)
    }).pipe(Effect.scoped))
})

describe("read", () => {
  it.live("assembles structured chunks in any order, zero-filling OFFSET_HOLE", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({}, {
        onRequest: ({ cookie, offset }, wire) => {
          // Bytes 256..1024 as data, then bytes 0..256 as a hole, then NONE with DONE.
          wire.write(chunk(cookie, 0, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset + 256), Buffer.alloc(768, 3)])))
          wire.write(chunk(cookie, 0, P.REPLY_TYPE_OFFSET_HOLE, Buffer.concat([u64(offset), u32(256)])))
          wire.write(chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_NONE, Buffer.alloc(0)))
        }
      })
      const device = yield* makeClient({ uri: server.uri })
      const a = new Uint8Array(512).fill(1)
      const b = new Uint8Array(1024).fill(1)
      yield* device.read(2, [a, b.subarray(512)])
      expect(a.subarray(0, 256).every((x) => x === 0)).toBe(true)
      expect(a.subarray(256).every((x) => x === 3)).toBe(true)
      expect(b.subarray(512).every((x) => x === 3)).toBe(true)
      expect(b.subarray(0, 512).every((x) => x === 1)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("completes pipelined requests from many fibers in whatever order the server answers", () =>
    Effect.gen(function*() {
      const held: Array<() => void> = []
      const server = yield* fakeServer({}, {
        onRequest: ({ cookie, offset }, wire) => {
          held.push(() =>
            wire.write(
              chunk(cookie, P.REPLY_FLAG_DONE, P.REPLY_TYPE_OFFSET_DATA, Buffer.concat([u64(offset), Buffer.alloc(512, offset / 512)]))
            )
          )
          // Answer only when all 16 are in flight, newest first.
          if (held.length === 16) for (const answer of held.reverse()) answer()
        }
      })
      const device = yield* makeClient({ uri: server.uri })
      const results = yield* Effect.forEach(Array.from({ length: 16 }, (_, i) => i), (i) =>
        Effect.map(Effect.suspend(() => {
          const buffer = new Uint8Array(512)
          return Effect.as(device.read(i, buffer), buffer)
        }), (buffer) => buffer[0]), { concurrency: "unbounded" })
      expect(results).toEqual(Array.from({ length: 16 }, (_, i) => i))
    }).pipe(Effect.scoped))

  it.live("splits a request larger than the server's maximum block size", () =>
    Effect.gen(function*() {
      const { data, handler } = memoryHandler(1 << 20)
      const lengths: Array<number> = []
      const server = yield* fakeServer({ blockSizes: [512, 4096, 65536] }, {
        onRequest: (request, wire, n) => {
          lengths.push(request.length)
          return handler.onRequest(request, wire, n)
        }
      })
      data.fill(5, 0, 200 * 1024)
      const device = yield* makeClient({ uri: server.uri })
      const buffer = new Uint8Array(200 * 1024)
      yield* device.read(0, buffer)
      expect(lengths).toEqual([65536, 65536, 65536, 8192])
      expect(buffer.every((x) => x === 5)).toBe(true)
    }).pipe(Effect.scoped))
})

describe("server errors", () => {
  const failing = (errno: number, structured: boolean) =>
    fakeServer({}, {
      onRequest: ({ cookie }, wire) =>
        wire.write(
          structured ?
            chunk(
              cookie,
              P.REPLY_FLAG_DONE,
              P.REPLY_TYPE_ERROR,
              Buffer.concat([u32(errno), u16(11), Buffer.from("medium sad!")])
            ) :
            simpleReply(cookie, errno)
        )
    })

  it.live("maps EIO to IOError carrying the errno and the server's message", () =>
    Effect.gen(function*() {
      const server = yield* failing(P.EIO, true)
      const device = yield* makeClient({ uri: server.uri })
      const error = yield* Effect.flip(device.read(0, new Uint8Array(512)))
      expect(error._tag).toBe("IOError")
      expect(error.message).toContain("EIO: medium sad!")
      if (error._tag === "IOError") expect(error.cause).toMatchObject({ _tag: "NbdRequestError", errno: P.EIO })
    }).pipe(Effect.scoped))

  it.live.each([
    [P.EPERM, "IsReadOnly"],
    [P.EINVAL, "InvalidRequest"],
    [P.EOVERFLOW, "InvalidRequest"],
    [P.ENOTSUP, "Unimplemented"],
    [P.ESHUTDOWN, "Disconnected"],
    [P.ENOSPC, "IOError"]
  ] as const)("maps errno %i on a write to %s", ([errno, tag]) =>
    Effect.gen(function*() {
      const server = yield* failing(errno, false)
      const device = yield* makeClient({ uri: server.uri })
      const error = yield* Effect.flip(device.write(0, new Uint8Array(512)))
      expect(error._tag).toBe(tag)
    }).pipe(Effect.scoped))
})

describe("discard", () => {
  it.live("is NBD_CMD_WRITE_ZEROES where the server has it, else Unimplemented", () =>
    Effect.gen(function*() {
      const commands: Array<number> = []
      const { handler } = memoryHandler(1 << 20)
      const spy = {
        onRequest: (request: Parameters<typeof handler.onRequest>[0], wire: Parameters<typeof handler.onRequest>[1], n: number) => {
          commands.push(request.command)
          return handler.onRequest(request, wire, n)
        }
      }
      const zeroing = yield* fakeServer({}, spy)
      yield* (yield* makeClient({ uri: zeroing.uri })).discard(0, 8)
      expect(commands).toEqual([P.CMD_WRITE_ZEROES])
      const trimOnly = yield* fakeServer({ flags: P.FLAG_HAS_FLAGS | P.FLAG_SEND_TRIM }, spy)
      const error = yield* Effect.flip((yield* makeClient({ uri: trimOnly.uri })).discard(0, 8))
      expect(error._tag).toBe("Unimplemented")
    }).pipe(Effect.scoped))
})

describe("lost connection", () => {
  it.live("a server that drops every connection on a request: each request fails IOError after bounded resends", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({}, { onRequest: (_request, wire) => void wire.socket.destroy() })
      const device = yield* makeClient({ uri: server.uri, reconnect: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 3 })) })
      const error = yield* Effect.flip(device.read(0, new Uint8Array(512)))
      expect(error._tag).toBe("IOError")
      expect(server.connections()).toBeLessThanOrEqual(10)
    }).pipe(Effect.scoped))

  it.live("fails requests in flight with IOError and later ones with Disconnected", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer({}, { onRequest: (_request, wire) => void wire.socket.destroy() })
      const device = yield* makeClient({ uri: server.uri })
      const inFlight = yield* Effect.flip(device.read(0, new Uint8Array(512)))
      expect(inFlight._tag).toBe("IOError")
      const later = yield* Effect.flip(device.read(0, new Uint8Array(512)))
      expect(later._tag).toBe("Disconnected")
    }).pipe(Effect.scoped))

  it.live("with a reconnect schedule, reconnects and sends reads and writes again", () =>
    Effect.gen(function*() {
      const { data, handler } = memoryHandler(1 << 20)
      const server = yield* fakeServer({}, {
        onRequest: (request, wire, connection) => connection === 0 ? void wire.socket.destroy() : handler.onRequest(request, wire, connection)
      })
      data.fill(4, 0, 512)
      const device = yield* makeClient({ uri: server.uri, reconnect: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 5 })) })
      const back = new Uint8Array(512)
      yield* device.read(0, back)
      expect(back[0]).toBe(4)
      expect(server.connections()).toBe(2)
      yield* device.write(1, sector(6))
      expect(data[512]).toBe(6)
    }).pipe(Effect.scoped))

  it.live("after a loss with unflushed writes, the next flush fails IOError rather than promise durability", () =>
    Effect.gen(function*() {
      const { handler } = memoryHandler(1 << 20)
      const server = yield* fakeServer({}, handler)
      const device = yield* makeClient({ uri: server.uri, reconnect: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 5 })) })
      yield* device.write(0, sector(1))
      server.dropAll()
      yield* Effect.sleep("20 millis")
      const error = yield* Effect.flip(device.flush)
      expect(error._tag).toBe("IOError")
      yield* device.flush
    }).pipe(Effect.scoped))

  it.live("gives up when the schedule is exhausted: Disconnected from then on", () =>
    Effect.gen(function*() {
      const { handler } = memoryHandler(1 << 20)
      const server = yield* fakeServer({}, handler)
      const device = yield* makeClient({ uri: server.uri, reconnect: Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 2 })) })
      yield* device.read(0, new Uint8Array(512))
      server.stop()
      yield* Effect.sleep("20 millis")
      const later = yield* Effect.flip(device.read(0, new Uint8Array(512)))
      expect(later._tag).toBe("Disconnected")
      expect(later.message).toContain("reconnecting failed")
      expect((yield* Effect.flip(device.write(0, new Uint8Array(512))))._tag).toBe("Disconnected")
    }).pipe(Effect.scoped))
})

describe("disconnect", () => {
  it.live("sends NBD_CMD_DISC and closes", () =>
    Effect.gen(function*() {
      let sawDisc = false
      const server = yield* fakeServer({}, {
        onRequest: () => undefined,
        raw: async (wire) => {
          const { negotiate } = await import("./support/FakeServer.js")
          if (!(await negotiate(wire, {}))) return
          const head = await wire.read(28)
          sawDisc = head !== undefined && head.readUInt16BE(6) === P.CMD_DISC
        }
      })
      const device = yield* makeClient({ uri: server.uri })
      yield* device.disconnect
      yield* Effect.sleep("20 millis")
      expect(sawDisc).toBe(true)
      const error = yield* Effect.flip(device.read(0, new Uint8Array(512)))
      expect(error._tag).toBe("Disconnected")
    }).pipe(Effect.scoped))
})
