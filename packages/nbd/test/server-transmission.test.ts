/**
 * The server's transmission phase, one `describe` per command: what each
 * does to the device, what it answers, the errors it maps, pipelining and
 * out-of-order replies, and the inputs that end a connection.
 */
import { type BlockDeviceShape, IOError } from "@effect-block/block"
import { makeUnsafe } from "@effect-block/block/Implementer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as P from "../src/internal/Protocol.js"
import { ramdisk, server, withClient } from "./support/Fixtures.js"
import { assembleRead, type RawClient } from "./support/RawClient.js"

const pattern = (length: number, seed: number) => {
  const bytes = Buffer.alloc(length)
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff
  return bytes
}

/** A served ramdisk and its handle, for checking what requests did to it. */
const served = (sizeSectors = 2048, sectorSize = 512) =>
  Effect.gen(function*() {
    const device = yield* ramdisk(sizeSectors, sectorSize)
    const { socket } = yield* server({ exports: [{ name: "disk", device }] })
    return { device, socket }
  })

const deviceBytes = (device: BlockDeviceShape, offset: number, length: number) =>
  Effect.gen(function*() {
    const buffer = new Uint8Array(length)
    yield* device.read(offset / 512, buffer)
    return Buffer.from(buffer)
  })

const simpleRead = async (client: RawClient, cookie: bigint, offset: number, length: number) => {
  client.sendRequest(P.CMD_READ, cookie, offset, length)
  return client.readReply(length)
}

describe("CMD_WRITE and CMD_READ", () => {
  it.effect("a write lands on the device; a read returns it (simple replies)", () =>
    Effect.gen(function*() {
      const { device, socket } = yield* served()
      const data = pattern(8192, 1)
      const reply = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        client.sendRequest(P.CMD_WRITE, 7n, 4096, data.length, 0, data)
        const written = await client.readSimpleReply()
        const read = await simpleRead(client, 8n, 4096, data.length)
        return { written, read }
      })
      expect(reply.written).toEqual({ error: 0, cookie: 7n })
      expect(reply.read.kind).toBe("simple")
      expect(reply.read.cookie).toBe(8n)
      expect(reply.read.data.equals(data)).toBe(true)
      expect((yield* deviceBytes(device, 4096, 8192)).equals(data)).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("with structured replies a read is OFFSET_DATA chunks, holes as OFFSET_HOLE", () =>
    Effect.gen(function*() {
      const { device, socket } = yield* served(4096)
      const data = pattern(65536, 2)
      yield* device.write(256, data) // bytes [128 KiB, 192 KiB)
      const reply = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_READ, 1n, 0, 1024 * 1024)
        return client.readReply()
      })
      expect(reply.kind).toBe("structured")
      expect(reply.error).toBe(0)
      const types = reply.chunks.map((chunk) => chunk.type)
      expect(types).toContain(P.REPLY_TYPE_OFFSET_HOLE)
      expect(types).toContain(P.REPLY_TYPE_OFFSET_DATA)
      const whole = assembleRead(reply, 0, 1024 * 1024)
      expect(whole.subarray(128 * 1024, 192 * 1024).equals(data)).toBe(true)
      expect(whole.subarray(0, 128 * 1024).every((byte) => byte === 0)).toBe(true)
      const described = reply.chunks.reduce(
        (sum, chunk) =>
          sum + (chunk.type === P.REPLY_TYPE_OFFSET_HOLE ? chunk.data.readUInt32BE(8) : chunk.data.length - 8),
        0
      )
      expect(described).toBe(1024 * 1024)
    }).pipe(Effect.scoped))

  it.effect("DF makes a read one data chunk", () =>
    Effect.gen(function*() {
      const { socket } = yield* served(4096)
      const reply = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_READ, 1n, 0, 512 * 1024, P.CMD_FLAG_DF)
        return client.readReply()
      })
      expect(reply.chunks.map((chunk) => chunk.type)).toEqual([P.REPLY_TYPE_OFFSET_DATA])
    }).pipe(Effect.scoped))

  it.effect("FUA flushes after the write", () =>
    Effect.gen(function*() {
      let flushes = 0
      const inner = yield* ramdisk()
      const device = makeUnsafe({
        name: "counting",
        info: inner.info,
        read: (at, buffers) => inner.read(at, buffers),
        write: (at, buffers) => inner.write(at, buffers),
        flush: Effect.sync(() => {
          flushes++
        })
      })
      const { socket } = yield* server({ exports: [{ name: "disk", device }] })
      yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_WRITE, 1n, 0, 512, 0, pattern(512, 1))
        await client.readReply()
        client.sendRequest(P.CMD_WRITE, 2n, 0, 512, P.CMD_FLAG_FUA, pattern(512, 1))
        await client.readReply()
      })
      expect(flushes).toBe(1)
    }).pipe(Effect.scoped))

  it.effect("errors: past the end EINVAL (read) / ENOSPC (write), unaligned EINVAL, too long EOVERFLOW", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const errors = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        const size = 2048 * 512
        const errors = []
        client.sendRequest(P.CMD_READ, 1n, size - 512, 1024)
        errors.push((await client.readReply()).error)
        client.sendRequest(P.CMD_WRITE, 2n, size, 512, 0, pattern(512, 0))
        errors.push((await client.readReply()).error)
        client.sendRequest(P.CMD_READ, 3n, 100, 512)
        errors.push((await client.readReply()).error)
        client.sendRequest(P.CMD_READ, 4n, 0, P.DEFAULT_MAX_PAYLOAD + 512)
        errors.push((await client.readReply()).error)
        client.sendRequest(P.CMD_READ, 5n, Number.MAX_SAFE_INTEGER, 512)
        errors.push((await client.readReply()).error)
        // The connection is still usable.
        errors.push((await simpleRead(client, 6n, 0, 512)).error)
        return errors
      })
      expect(errors).toEqual([P.EINVAL, P.ENOSPC, P.EINVAL, P.EOVERFLOW, P.EINVAL, 0])
    }).pipe(Effect.scoped))

  it.effect("a refused write's payload is skipped, keeping the stream in step", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const errors = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        client.sendRequest(P.CMD_WRITE, 1n, 100, 512, 0, pattern(512, 0))
        client.sendRequest(P.CMD_WRITE, 2n, 0, 512, 0x8000, pattern(512, 0))
        client.sendRequest(P.CMD_FLUSH, 3n, 0, 0)
        return [(await client.readReply()).error, (await client.readReply()).error, (await client.readReply()).error]
      })
      expect(errors).toEqual([P.EINVAL, P.EINVAL, 0])
    }).pipe(Effect.scoped))

  it.effect("device errors map: IOError EIO (as an error chunk when structured), read-only EPERM", () =>
    Effect.gen(function*() {
      const inner = yield* ramdisk()
      const failing = makeUnsafe({
        name: "failing",
        info: inner.info,
        read: () => Effect.fail(new IOError({ operation: "read", message: "medium error" })),
        write: (at, buffers) => inner.write(at, buffers)
      })
      const { socket } = yield* server({
        exports: [{ name: "bad", device: failing }, { name: "ro", device: inner, readOnly: true }]
      })
      const bad = yield* withClient(socket, async (client) => {
        await client.open("bad")
        client.sendRequest(P.CMD_READ, 1n, 0, 512)
        return client.readReply()
      })
      expect(bad.error).toBe(P.EIO)
      expect(bad.chunks[0]!.type).toBe(P.REPLY_TYPE_ERROR)
      expect(bad.chunks[0]!.data.subarray(6).toString()).toContain("medium error")
      const ro = yield* withClient(socket, async (client) => {
        await client.open("ro")
        client.sendRequest(P.CMD_WRITE, 1n, 0, 512, 0, pattern(512, 0))
        return client.readReply()
      })
      expect(ro.error).toBe(P.EPERM)
    }).pipe(Effect.scoped))
})

describe("pipelining", () => {
  it.effect("many requests in flight are all answered, each under its cookie", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const replies = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        for (let i = 0; i < 200; i++) client.sendRequest(P.CMD_WRITE, BigInt(i), (i % 64) * 512, 512, 0, pattern(512, i))
        const cookies = []
        for (let i = 0; i < 200; i++) cookies.push((await client.readSimpleReply()).cookie)
        return cookies
      })
      expect([...replies].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i)))
    }).pipe(Effect.scoped))

  it.live("a slow request does not hold back a fast one: replies come out of order", () =>
    Effect.gen(function*() {
      const inner = yield* ramdisk()
      const device = makeUnsafe({
        name: "slow at sector 0",
        info: inner.info,
        read: (at, buffers) => Effect.andThen(at === 0 ? Effect.sleep("200 millis") : Effect.void, inner.read(at, buffers)),
        write: (at, buffers) => inner.write(at, buffers)
      })
      const { socket } = yield* server({ exports: [{ name: "disk", device }] })
      const order = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        client.sendRequest(P.CMD_READ, 1n, 0, 512)
        client.sendRequest(P.CMD_READ, 2n, 512, 512)
        const first = await client.readReply(512)
        const second = await client.readReply(512)
        return [first.cookie, second.cookie]
      })
      expect(order).toEqual([2n, 1n])
    }).pipe(Effect.scoped))
})

describe("CMD_FLUSH", () => {
  it.effect("succeeds on a ramdisk", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const reply = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_FLUSH, 9n, 0, 0)
        return client.readReply()
      })
      expect(reply).toMatchObject({ kind: "simple", error: 0, cookie: 9n })
    }).pipe(Effect.scoped))
})

describe("CMD_TRIM and CMD_WRITE_ZEROES", () => {
  it.effect("TRIM discards: the range reads as zeros and the pages are freed", () =>
    Effect.gen(function*() {
      const { device, socket } = yield* served(4096)
      yield* device.write(0, pattern(1024 * 1024, 3))
      const before = (yield* device.stats).allocatedBytes
      const error = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_TRIM, 1n, 0, 512 * 1024)
        return (await client.readReply()).error
      })
      expect(error).toBe(0)
      expect((yield* deviceBytes(device, 0, 512 * 1024)).every((byte) => byte === 0)).toBe(true)
      expect((yield* device.stats).allocatedBytes).toBeLessThanOrEqual(before - 512 * 1024)
    }).pipe(Effect.scoped))

  it.effect("WRITE_ZEROES keeps the device sparse; with NO_HOLE it writes zeros", () =>
    Effect.gen(function*() {
      // The ramdisk is zero-aware (zeros written allocate nothing), so which call the
      // server made is seen by counting calls, not by the bytes allocated.
      const device = yield* ramdisk(4096, 512)
      const calls: Array<string> = []
      const counted: BlockDeviceShape = {
        ...device,
        write: (sectorStart, buffers) => Effect.andThen(Effect.sync(() => calls.push("write")), device.write(sectorStart, buffers)),
        discard: (sectorStart, sectors) => Effect.andThen(Effect.sync(() => calls.push("discard")), device.discard(sectorStart, sectors))
      }
      const { socket } = yield* server({ exports: [{ name: "disk", device: counted }] })
      yield* device.write(0, pattern(1024 * 1024, 3))
      const full = (yield* device.stats).allocatedBytes
      yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_WRITE_ZEROES, 1n, 0, 512 * 1024)
        await client.readReply()
      })
      const sparse = (yield* device.stats).allocatedBytes
      expect(sparse).toBeLessThanOrEqual(full - 512 * 1024)
      yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_WRITE_ZEROES, 1n, 1024 * 1024, 256 * 1024, P.CMD_FLAG_NO_HOLE)
        await client.readReply()
      })
      expect(calls).toEqual(["discard", "write"])
      expect((yield* device.stats).allocatedBytes).toBe(sparse)
      expect((yield* deviceBytes(device, 0, 512 * 1024)).every((byte) => byte === 0)).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("FAST_ZERO with NO_HOLE, or on a device that cannot discard, is ENOTSUP and changes nothing", () =>
    Effect.gen(function*() {
      const inner = yield* ramdisk()
      yield* inner.write(0, pattern(4096, 5))
      const noDiscard = makeUnsafe({
        name: "no discard",
        info: inner.info,
        read: (at, buffers) => inner.read(at, buffers),
        write: (at, buffers) => inner.write(at, buffers)
      })
      const { socket } = yield* server({ exports: [{ name: "disk", device: noDiscard }] })
      const errors = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_WRITE_ZEROES, 1n, 0, 4096, P.CMD_FLAG_FAST_ZERO)
        const first = (await client.readReply()).error
        client.sendRequest(P.CMD_WRITE_ZEROES, 2n, 0, 4096, P.CMD_FLAG_FAST_ZERO | P.CMD_FLAG_NO_HOLE)
        const second = (await client.readReply()).error
        return [first, second]
      })
      expect(errors).toEqual([P.ENOTSUP, P.ENOTSUP])
      expect((yield* deviceBytes(inner, 0, 4096)).equals(pattern(4096, 5))).toBe(true)
      // Without FAST_ZERO the same device writes zeros.
      const error = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_WRITE_ZEROES, 1n, 0, 4096)
        return (await client.readReply()).error
      })
      expect(error).toBe(0)
      expect((yield* deviceBytes(inner, 0, 4096)).every((byte) => byte === 0)).toBe(true)
    }).pipe(Effect.scoped))
})

describe("CMD_BLOCK_STATUS", () => {
  const extents = (data: Buffer) => {
    const out = []
    for (let at = 4; at < data.length; at += 8) out.push([data.readUInt32BE(at), data.readUInt32BE(at + 4)])
    return out
  }

  it.effect("describes base:allocation from the device's seeks", () =>
    Effect.gen(function*() {
      const { device, socket } = yield* served(4096)
      yield* device.write(256, pattern(65536, 1)) // [128 KiB, 192 KiB)
      const reply = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_BLOCK_STATUS, 1n, 0, 1024 * 1024)
        return client.readReply()
      })
      expect(reply.chunks[0]!.type).toBe(P.REPLY_TYPE_BLOCK_STATUS)
      expect(extents(reply.chunks[0]!.data)).toEqual([
        [128 * 1024, P.STATE_HOLE | P.STATE_ZERO],
        [64 * 1024, 0],
        [832 * 1024, P.STATE_HOLE | P.STATE_ZERO]
      ])
    }).pipe(Effect.scoped))

  it.effect("REQ_ONE answers one extent no longer than the request", () =>
    Effect.gen(function*() {
      const { device, socket } = yield* served(4096)
      yield* device.write(256, pattern(65536, 1))
      const reply = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_BLOCK_STATUS, 1n, 64 * 1024, 1024 * 1024, P.CMD_FLAG_REQ_ONE)
        return client.readReply()
      })
      expect(extents(reply.chunks[0]!.data)).toEqual([[64 * 1024, P.STATE_HOLE | P.STATE_ZERO]])
    }).pipe(Effect.scoped))

  it.effect("without a selected meta context it is EINVAL", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const error = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        client.sendRequest(P.CMD_BLOCK_STATUS, 1n, 0, 4096)
        return (await client.readReply()).error
      })
      expect(error).toBe(P.EINVAL)
    }).pipe(Effect.scoped))
})

describe("CMD_CACHE, unknown commands and CMD_DISC", () => {
  it.effect("CACHE succeeds in range, EINVAL past the end; unknown commands and flags are EINVAL", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const errors = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_CACHE, 1n, 0, 4096)
        client.sendRequest(P.CMD_CACHE, 2n, 2048 * 512, 4096)
        client.sendRequest(42, 3n, 0, 0)
        client.sendRequest(P.CMD_FLUSH, 4n, 0, 0, P.CMD_FLAG_NO_HOLE)
        const errors = new Map<bigint, number>()
        for (let i = 0; i < 4; i++) {
          const reply = await client.readReply()
          errors.set(reply.cookie, reply.error)
        }
        return [1n, 2n, 3n, 4n].map((cookie) => errors.get(cookie))
      })
      expect(errors).toEqual([0, P.EINVAL, P.EINVAL, P.EINVAL])
    }).pipe(Effect.scoped))

  it.effect("DISC answers what is in flight, then closes", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const result = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_WRITE, 1n, 0, 512, 0, pattern(512, 1))
        client.sendRequest(P.CMD_DISC, 2n, 0, 0)
        const reply = await client.readReply()
        return { cookie: reply.cookie, closed: await client.waitClosed() }
      })
      expect(result).toEqual({ cookie: 1n, closed: true })
    }).pipe(Effect.scoped))

  it.effect("a bad request magic closes the connection; other connections carry on", () =>
    Effect.gen(function*() {
      const { socket } = yield* served()
      const result = yield* withClient(socket, (other) =>
        other.open("disk").then(() =>
          withClientPromise(socket, async (client) => {
            await client.open("disk")
            client.send(Buffer.alloc(28, 0x55))
            const closed = await client.waitClosed()
            other.sendRequest(P.CMD_FLUSH, 1n, 0, 0)
            return { closed, other: (await other.readReply()).error }
          })
        ))
      expect(result).toEqual({ closed: true, other: 0 })
    }).pipe(Effect.scoped))
})

describe("buffer reuse", () => {
  it.effect("many pipelined large writes and reads each carry their own data", () =>
    Effect.gen(function*() {
      const { device, socket } = yield* served(16384)
      const region = 256 * 1024
      const ok = yield* withClient(socket, async (client) => {
        await client.open("disk")
        // Writes large enough to span socket chunks: their payloads are copied into reused buffers.
        for (let i = 0; i < 32; i++) client.sendRequest(P.CMD_WRITE, BigInt(i), i * region, region, 0, pattern(region, i))
        for (let i = 0; i < 32; i++) await client.readReply()
        // 128 reads while the client does not read: the socket backs up, so replies wait in it while
        // later reads are served. A reply buffer reused before the socket has sent it would show here.
        client.socket.pause()
        const at = (i: number) => ((i * 7) % 32) * region
        for (let i = 0; i < 128; i++) client.sendRequest(P.CMD_READ, BigInt(i), at(i), region, P.CMD_FLAG_DF)
        await new Promise((resolve) => setTimeout(resolve, 300))
        client.socket.resume()
        let ok = true
        for (let i = 0; i < 128; i++) {
          const reply = await client.readReply()
          const n = Number(reply.cookie)
          ok &&= assembleRead(reply, at(n), region).equals(pattern(region, (n * 7) % 32))
        }
        return ok
      })
      expect(ok).toBe(true)
      for (const i of [0, 13, 31]) expect((yield* deviceBytes(device, i * region, region)).equals(pattern(region, i))).toBe(true)
    }).pipe(Effect.scoped))
})

const withClientPromise = async <A>(socket: string, scenario: (client: RawClient) => Promise<A>) => {
  const { RawClient } = await import("./support/RawClient.js")
  const client = await RawClient.connect(socket)
  try {
    return await scenario(client)
  } finally {
    client.close()
  }
}
