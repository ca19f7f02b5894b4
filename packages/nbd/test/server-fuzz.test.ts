/**
 * Hostile peers. Random bytes, valid sessions mutated (bytes flipped, cut
 * short, spliced with garbage, lengths inflated) and a client that never
 * reads its replies, all against one server. The rule: each connection gets
 * protocol replies or a clean close, the server never crashes or hangs,
 * every connection is cleaned up, memory stays bounded, and a well-behaved
 * client afterwards still gets correct data. The seed is printed; set
 * NBD_FUZZ_SEED to replay a run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import * as P from "../src/internal/Protocol.js"
import { ramdisk, server, withClient } from "./support/Fixtures.js"
import { goRequest, metaRequest } from "./support/RawClient.js"

/** A small seeded generator (mulberry32): the same seed, the same sessions. */
const random = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (below: number) => Math.floor(next() * below)
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
  return { next, int, bytes, pick }
}

type Random = ReturnType<typeof random>

const option = (type: number, data: Uint8Array = Buffer.alloc(0)) => {
  const head = Buffer.alloc(16)
  head.writeBigUInt64BE(P.IHAVEOPT, 0)
  head.writeUInt32BE(type, 8)
  head.writeUInt32BE(data.length, 12)
  return Buffer.concat([head, data])
}

const request = (type: number, flags: number, cookie: number, offset: number, length: number) => {
  const head = Buffer.alloc(28)
  head.writeUInt32BE(P.REQUEST_MAGIC, 0)
  head.writeUInt16BE(flags, 4)
  head.writeUInt16BE(type, 6)
  head.writeBigUInt64BE(BigInt(cookie), 8)
  head.writeBigUInt64BE(BigInt(offset), 16)
  head.writeUInt32BE(length, 24)
  return head
}

const size = 1024 * 512

/** Everything a valid client would send in one session, as one byte string. */
const validSession = (rng: Random): Buffer => {
  const parts: Array<Buffer> = [Buffer.from([0, 0, 0, 3])]
  const structured = rng.next() < 0.7
  if (structured) {
    parts.push(option(P.OPT_STRUCTURED_REPLY))
    parts.push(option(P.OPT_SET_META_CONTEXT, metaRequest("disk", [P.BASE_ALLOCATION])))
  }
  for (let i = rng.int(3); i > 0; i--) {
    parts.push(rng.pick([option(P.OPT_LIST), option(P.OPT_INFO, goRequest("disk", [1, 2, 3])), option(P.OPT_LIST_META_CONTEXT, metaRequest("disk", []))]))
  }
  parts.push(rng.next() < 0.8 ? option(P.OPT_GO, goRequest("disk", [P.INFO_BLOCK_SIZE])) : option(P.OPT_EXPORT_NAME, Buffer.from("disk")))
  for (let i = rng.int(12); i > 0; i--) {
    const sectors = 1 + rng.int(16)
    const offset = rng.int(size / 512 - sectors) * 512
    const type = rng.pick([P.CMD_READ, P.CMD_WRITE, P.CMD_FLUSH, P.CMD_TRIM, P.CMD_WRITE_ZEROES, P.CMD_BLOCK_STATUS, P.CMD_CACHE])
    parts.push(request(type, 0, i, offset, type === P.CMD_FLUSH ? 0 : sectors * 512))
    if (type === P.CMD_WRITE) parts.push(rng.bytes(sectors * 512))
  }
  if (rng.next() < 0.5) parts.push(request(P.CMD_DISC, 0, 0, 0, 0))
  return Buffer.concat(parts)
}

/** A valid session broken in one of the ways a hostile or buggy peer would break it. */
const mutatedSession = (rng: Random): Buffer => {
  const bytes = validSession(rng)
  switch (rng.int(5)) {
    case 0: {
      for (let i = 1 + rng.int(4); i > 0; i--) bytes[rng.int(bytes.length)] = rng.int(256)
      return bytes
    }
    case 1:
      return bytes.subarray(0, rng.int(bytes.length))
    case 2: {
      const at = rng.int(bytes.length)
      return Buffer.concat([bytes.subarray(0, at), rng.bytes(1 + rng.int(64)), bytes.subarray(at)])
    }
    case 3: {
      // Inflate a 32-bit field to a huge length.
      const at = rng.int(Math.max(1, bytes.length - 4))
      bytes.writeUInt32BE(rng.pick([0xffffffff, 0x80000000, P.DEFAULT_MAX_PAYLOAD + 1, 0x7fffffff]), at)
      return bytes
    }
    default: {
      // Unknown command types and flags.
      return Buffer.concat([bytes, request(rng.int(65536), rng.int(65536), 1, rng.int(size * 2), rng.int(1 << 20))])
    }
  }
}

/** Sends `bytes`, drains what comes back, and closes after the server closes or goes quiet. */
const session = (path: string, bytes: Buffer) =>
  new Promise<{ closedByServer: boolean }>((resolve) => {
    const socket = Net.createConnection({ path })
    let closedByServer = false
    let idle: ReturnType<typeof setTimeout> | undefined
    const finish = () => {
      clearTimeout(idle)
      clearTimeout(hardStop)
      socket.destroy()
      resolve({ closedByServer })
    }
    const quiet = () => {
      clearTimeout(idle)
      idle = setTimeout(finish, 60)
    }
    const hardStop = setTimeout(finish, 3000)
    socket.on("connect", () => {
      socket.write(bytes)
      quiet()
    })
    socket.on("data", quiet)
    socket.on("end", () => {
      closedByServer = true
      finish()
    })
    socket.on("close", finish)
    socket.on("error", finish)
  })

const seed = Number(process.env.NBD_FUZZ_SEED ?? Date.now() % 1_000_000)

describe("hostile input", () => {
  it.live(`random and mutated sessions never harm the server (seed ${seed})`, () =>
    Effect.gen(function*() {
      console.log(`nbd server fuzz seed: ${seed} (NBD_FUZZ_SEED=${seed} replays it)`)
      const device = yield* ramdisk(size / 512)
      const known = Buffer.alloc(4096, 0x5a)
      yield* device.write(1000, known)
      const { server: running, socket } = yield* server({ exports: [{ name: "disk", device }] })
      const rng = random(seed)
      const sessions = Array.from({ length: 160 }, (_, i) =>
        i % 4 === 0 ? rng.bytes(rng.int(200)) : i % 4 === 1 ? Buffer.concat([Buffer.from([0, 0, 0, 3]), rng.bytes(rng.int(300))]) : mutatedSession(rng))
      for (let i = 0; i < sessions.length; i += 16) {
        yield* Effect.promise(() => Promise.all(sessions.slice(i, i + 16).map((bytes) => session(socket, bytes))))
      }
      // Every connection is cleaned up (bounded wait).
      for (let i = 0; i < 100 && (yield* running.connections) > 0; i++) yield* Effect.sleep("20 millis")
      expect(yield* running.connections, `seed ${seed}: connections left open`).toBe(0)
      // A well-behaved client still gets correct data: what the fuzz wrote elsewhere does not matter,
      // so put a known pattern back first.
      const data = yield* withClient(socket, async (client) => {
        await client.open("disk", { structured: false })
        client.sendRequest(P.CMD_WRITE, 1n, 1000 * 512, 4096, 0, known)
        await client.readReply()
        client.sendRequest(P.CMD_READ, 2n, 1000 * 512, 4096)
        return (await client.readReply(4096)).data
      })
      expect(data.equals(known), `seed ${seed}`).toBe(true)
    }).pipe(Effect.scoped), 60_000)

  it.live("a client that never reads its replies stalls only itself, with bounded memory", () =>
    Effect.gen(function*() {
      const device = yield* ramdisk(16384)
      const { server: running, socket } = yield* server({ exports: [{ name: "disk", device }], maxInFlightBytes: 32 * 1024 * 1024 })
      const before = process.memoryUsage().arrayBuffers
      // 600 reads of 1 MiB: 600 MiB of replies nobody reads.
      const greedy = yield* Effect.promise(async () => {
        const { RawClient } = await import("./support/RawClient.js")
        const client = await RawClient.connect(socket)
        await client.open("disk", { structured: false })
        client.socket.pause()
        for (let i = 0; i < 600; i++) client.sendRequest(P.CMD_READ, BigInt(i), (i % 7) * 1024 * 1024, 1024 * 1024)
        return client
      })
      yield* Effect.sleep("1500 millis")
      const grown = process.memoryUsage().arrayBuffers - before
      // In flight: at most 32 MiB of replies, plus what the socket buffers hold.
      expect(grown).toBeLessThan(160 * 1024 * 1024)
      // Another client is served meanwhile.
      const error = yield* withClient(socket, async (client) => {
        await client.open("disk")
        client.sendRequest(P.CMD_FLUSH, 1n, 0, 0)
        return (await client.readReply()).error
      })
      expect(error).toBe(0)
      greedy.close()
      for (let i = 0; i < 100 && (yield* running.connections) > 0; i++) yield* Effect.sleep("20 millis")
      expect(yield* running.connections).toBe(0)
    }).pipe(Effect.scoped), 30_000)
})
