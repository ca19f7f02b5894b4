/**
 * Fixtures for the server's tests: a fresh ramdisk, a server on a fresh
 * Unix socket in a temporary directory, and a raw client run against it.
 */
import type { BlockDeviceShape } from "@effect-block/block"
import { makeRegistry } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeServer, type NbdServerShape } from "../../src/index.js"
import { RawClient } from "./RawClient.js"

/** A fresh directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-nbd-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** A ramdisk handle of its own registry. */
export const ramdisk = (sizeSectors = 2048, sectorSize = 512) =>
  Effect.gen(function*() {
    const registry = yield* makeRegistry
    return yield* registry.connect({ name: "disk", sizeSectors, sectorSize })
  })

/** A server over `exports` (default: one ramdisk export named "disk") on a fresh socket. */
export const server = (
  options: {
    readonly exports?: ReadonlyArray<{ name: string; device: BlockDeviceShape; description?: string; readOnly?: boolean }>
    readonly maxInFlight?: number
    readonly maxInFlightBytes?: number
    readonly handshakeTimeoutMillis?: number
  } = {}
) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const exports = options.exports ?? [{ name: "disk", device: yield* ramdisk() }]
    const socket = Path.join(dir, "nbd.sock")
    const running: NbdServerShape = yield* makeServer({ ...options, exports, socket })
    return { server: running, socket }
  })

/** Runs `scenario` with a connected raw client, closing it afterwards. */
export const withClient = <A>(socket: string, scenario: (client: RawClient) => Promise<A>) =>
  Effect.promise(async () => {
    const client = await RawClient.connect(socket)
    try {
      return await scenario(client)
    } finally {
      client.close()
    }
  })
