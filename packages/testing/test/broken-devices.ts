/**
 * A tiny block device over one sector table, correct by default, with
 * switches that each break one part of the contract. The conformance and
 * model tests use it to show that they catch each kind of broken device, and
 * that the correct one passes: a rule that cannot fail proves nothing.
 */
import { BlockDevice, type BlockDeviceShape, type InvalidRequest } from "@effect-block/block"
import { checkRange, type Core } from "@effect-block/block/Implementer"
import { Effect, Layer } from "effect"

/** Ways to break the device; all off means a correct device. */
export interface Flaws {
  /** write keeps a view of the caller's buffer instead of copying it. */
  readonly keepsBuffers?: boolean
  /** read and write skip every validation (a hand-written shape, bypassing `BlockDevice.make`). */
  readonly skipsBoundsCheck?: boolean
  /** resize only changes the size: data past a shrink comes back after a grow. */
  readonly staleAfterResize?: boolean
  /** seekMapped starts looking one sector after `from`, skipping data at `from`. */
  readonly seekSkipsData?: boolean
  /** disconnect does nothing: the handle keeps working. */
  readonly disconnectDoesNothing?: boolean
  /** write copies one sector at a time and yields in between, so other fibers see half a write. */
  readonly yieldsBetweenSectors?: boolean
  /** write silently drops every sector at or past this one. */
  readonly dropsWritesFrom?: number
}

/** A fresh device (new, zeroed state) each time the layer is built. */
export const flatDevice = (
  flaws: Flaws = {},
  geometry: { readonly sectorSize?: number; readonly sizeSectors?: number } = {}
): Layer.Layer<BlockDevice> =>
  Layer.effect(BlockDevice, Effect.sync(() => makeFlat(flaws, geometry.sectorSize ?? 512, geometry.sizeSectors ?? 128)))

const makeFlat = (flaws: Flaws, sectorSize: number, initialSize: number): BlockDeviceShape => {
  let sizeSectors = initialSize
  /** Sector data; `undefined` is an unmapped (zero) sector. */
  const sectors = new Map<number, Uint8Array>()

  const info = () => ({ readWrite: true, sectorSize, sizeSectors })

  const readInto = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>) => {
    let sector = sectorStart
    for (const buffer of buffers) {
      for (let offset = 0; offset < buffer.length; offset += sectorSize) {
        const data = sectors.get(sector++)
        if (data === undefined) buffer.fill(0, offset, offset + sectorSize)
        else buffer.set(data, offset)
      }
    }
  }

  const store = (sector: number, data: Uint8Array) => {
    if (flaws.dropsWritesFrom !== undefined && sector >= flaws.dropsWritesFrom) return
    // `new Uint8Array(data)` copies; a Node Buffer's `slice` would not.
    sectors.set(sector, flaws.keepsBuffers === true ? data : new Uint8Array(data))
  }

  /** One write, as a list of per-sector steps. */
  const writeSteps = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>) => {
    const steps: Array<() => void> = []
    let sector = sectorStart
    for (const buffer of buffers) {
      for (let offset = 0; offset < buffer.length; offset += sectorSize) {
        const at = sector++
        const data = buffer.subarray(offset, offset + sectorSize)
        steps.push(() => store(at, data))
      }
    }
    return steps
  }

  const writeFrom = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>): Effect.Effect<void, InvalidRequest> =>
    flaws.yieldsBetweenSectors === true ?
      Effect.forEach(writeSteps(sectorStart, buffers), (step) => Effect.andThen(Effect.sync(step), Effect.yieldNow), {
        discard: true
      }) :
      Effect.suspend(() => {
        // Re-checked against the size now, in the same step as the write.
        const sectorsWritten = buffers.reduce((n, b) => n + b.length / sectorSize, 0)
        const bad = checkRange("write", sectorStart, sectorsWritten, sizeSectors)
        if (bad !== undefined) return Effect.fail(bad)
        for (const step of writeSteps(sectorStart, buffers)) step()
        return Effect.void
      })

  const firstFrom = (from: number, mapped: boolean) => {
    for (let s = from; s < sizeSectors; s++) if (sectors.has(s) === mapped) return s
    return sizeSectors
  }

  const core: Core = {
    name: "flat test device",
    info: Effect.sync(info),
    read: (sectorStart, buffers) => Effect.sync(() => readInto(sectorStart, buffers)),
    write: (sectorStart, buffers) => writeFrom(sectorStart, buffers),
    discard: (sectorStart, count) =>
      Effect.sync(() => {
        for (let s = sectorStart; s < sectorStart + count; s++) sectors.delete(s)
      }),
    resize: (newSize) =>
      Effect.sync(() => {
        if (flaws.staleAfterResize !== true) {
          for (const s of Array.from(sectors.keys())) if (s >= newSize) sectors.delete(s)
        }
        sizeSectors = newSize
      }),
    seekMapped: (from) =>
      Effect.sync(() => flaws.seekSkipsData === true ? Math.min(firstFrom(from + 1, true), sizeSectors) : firstFrom(from, true)),
    seekUnmapped: (from) => Effect.sync(() => firstFrom(from, false))
  }

  const device = BlockDevice.makeUnsafe(core)
  return {
    ...device,
    ...(flaws.disconnectDoesNothing === true ? { disconnect: Effect.void } : {}),
    ...(flaws.skipsBoundsCheck === true ?
      {
        read: (sectorStart, buffers) =>
          Effect.sync(() => readInto(sectorStart, buffers instanceof Uint8Array ? [buffers] : buffers)),
        write: (sectorStart, buffers) =>
          Effect.sync(() => {
            for (const step of writeSteps(sectorStart, buffers instanceof Uint8Array ? [buffers] : buffers)) step()
          })
      } satisfies Pick<BlockDeviceShape, "read" | "write"> :
      {})
  }
}
