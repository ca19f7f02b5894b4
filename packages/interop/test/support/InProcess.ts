/**
 * A server in the test's own process, over a ramdisk the test can inspect
 * (its extents, its `allocatedBytes`), for checks a separate `serve`
 * process cannot show. Clients must be run with the asynchronous `run`, so
 * the event loop keeps serving while they work.
 */
import { makeServer } from "@effect-block/nbd"
import { makeRegistry, type RamdiskShape } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

/** A ramdisk served on `socket`, and `close` to stop it. */
export const inProcessServer = async (socket: string, sizeBytes: number) => {
  const scope = Effect.runSync(Scope.make())
  const { device, uri } = await Effect.runPromise(
    Effect.gen(function*() {
      const registry = yield* makeRegistry
      const device = yield* registry.connect({ name: "disk", sizeSectors: sizeBytes / 512 })
      const server = yield* makeServer({ exports: [{ name: "disk", device }], socket })
      return { device, uri: server.uri("disk") }
    }).pipe(Scope.provide(scope))
  )
  return {
    device: device as RamdiskShape,
    uri,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** One extent: `[offset, length, mapped]` in bytes. */
export type Extent = readonly [number, number, boolean]

/** Joins neighbouring extents of the same kind. */
export const merged = (extents: ReadonlyArray<Extent>): Array<Extent> => {
  const out: Array<Extent> = []
  for (const extent of extents) {
    const last = out[out.length - 1]
    if (last !== undefined && last[2] === extent[2] && last[0] + last[1] === extent[0]) {
      out[out.length - 1] = [last[0], last[1] + extent[1], last[2]]
    } else out.push(extent)
  }
  return out
}

/** The device's extents, from its seeks. */
export const deviceExtents = (device: RamdiskShape) =>
  Effect.runPromise(Effect.gen(function*() {
    const { sectorSize, sizeSectors } = yield* device.info
    const extents: Array<Extent> = []
    let at = 0
    for (let i = 0; at < sizeSectors && i < 1_000_000; i++) {
      const data = yield* device.seekMapped(at)
      if (data > at) extents.push([at * sectorSize, (data - at) * sectorSize, false])
      if (data >= sizeSectors) break
      const hole = yield* device.seekUnmapped(data)
      extents.push([data * sectorSize, (hole - data) * sectorSize, true])
      at = hole
    }
    return merged(extents)
  }))

/** The extents `nbdinfo --map` printed (its lines: offset, length, type, description). */
export const parseMap = (text: string): Array<Extent> =>
  merged(
    text.split("\n").filter((line) => line.trim().length > 0).map((line) => {
      const [offset, length, type] = line.trim().split(/\s+/)
      return [Number(offset), Number(length), (Number(type) & 1) === 0] as const
    })
  )
