/**
 * A tiny block device over one sector table, correct by default, with
 * switches that each break one part of the contract. The conformance and
 * model tests use it to show that they catch each kind of broken device, and
 * that the correct one passes: a rule that cannot fail proves nothing.
 *
 * The table can have many handles (plain, read-only, and the one "beneath"
 * the handle under test, as if that handle were a wrapper over it) and can
 * be destroyed: `FlatControls` does that, and {@link flatControls} hands it
 * to the conformance suite.
 */
import { BlockDevice, type BlockDeviceShape, type InvalidRequest } from "@effect-block/block"
import { checkRange, type Core } from "@effect-block/block/Implementer"
import { Connection } from "@effect-block/device"
import type { ConformanceControls } from "@effect-block/testing"
import { Context, Effect, Layer } from "effect"

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
  /** write zeroes the sectors it does not cover in each 4-sector page it touches (hides its neighbours' data). */
  readonly clobbersPage?: boolean
  /** after destroy, handles report 0 sectors and so answer InvalidRequest instead of Disconnected. */
  readonly invalidAfterDestroy?: boolean
  /** a read-only handle says readWrite false but writes anyway. */
  readonly readOnlyWrites?: boolean
  /** each handle keeps its own size: a resize is seen by the handle that made it only. */
  readonly sizePerHandle?: boolean
  /** a read puts the table back as it was when the read started, losing writes made meanwhile. */
  readsRestoreOld?: boolean
  /** disconnecting the handle under test also disconnects the handle beneath it. */
  readonly disconnectsBeneath?: boolean
  /** readVectored and writeVectored are hand-written and forget the connection: they work after disconnect. */
  readonly vectoredIgnoresDisconnect?: boolean
}

/** What the flat device's tests may do to it: open more handles, destroy it. */
export class FlatControls extends Context.Service<FlatControls, {
  readonly connect: (readOnly: boolean) => BlockDeviceShape
  readonly destroy: () => void
  readonly beneath: BlockDeviceShape
}>()("test/FlatControls") {}

/** The controls of the conformance suite, over {@link FlatControls}. */
export const flatControls: ConformanceControls<FlatControls> = {
  connect: FlatControls.use((controls) =>
    Effect.acquireRelease(Effect.sync(() => controls.connect(false)), (handle) => handle.disconnect)
  ),
  connectReadOnly: FlatControls.use((controls) =>
    Effect.acquireRelease(Effect.sync(() => controls.connect(true)), (handle) => handle.disconnect)
  ),
  destroy: FlatControls.use((controls) => Effect.sync(controls.destroy)),
  beneath: FlatControls.use((controls) => Effect.succeed(controls.beneath))
}

/** A fresh device (new, zeroed state) each time the layer is built, with its {@link FlatControls}. */
export const flatDevice = (
  flaws: Flaws = {},
  geometry: { readonly sectorSize?: number; readonly sizeSectors?: number } = {}
): Layer.Layer<BlockDevice | FlatControls> =>
  Layer.effectContext(Effect.sync(() => {
    const table: Table = { sectors: new Map(), sizeSectors: geometry.sizeSectors ?? 128, destroyed: false }
    const sectorSize = geometry.sectorSize ?? 512
    const beneath = makeFlat(flaws, sectorSize, table, { readOnly: false })
    const device = makeFlat(flaws, sectorSize, table, { readOnly: false, over: beneath })
    return Context.make(BlockDevice, device).pipe(Context.add(FlatControls, {
      connect: (readOnly) => makeFlat(flaws, sectorSize, table, { readOnly }),
      destroy: () => {
        table.destroyed = true
        table.sectors.clear()
      },
      beneath
    }))
  }))

/** The device's state, shared by its handles. */
interface Table {
  readonly sectors: Map<number, Uint8Array>
  sizeSectors: number
  destroyed: boolean
}

const makeFlat = (
  flaws: Flaws,
  sectorSize: number,
  table: Table,
  handle: { readonly readOnly: boolean; readonly over?: BlockDeviceShape }
): BlockDeviceShape => {
  /** Sector data; an absent sector is an unmapped (zero) one. */
  const sectors = table.sectors
  let ownSize = table.sizeSectors
  const size = () => table.destroyed && flaws.invalidAfterDestroy === true ? 0 : flaws.sizePerHandle === true ? ownSize : table.sizeSectors
  const setSize = (newSize: number) => {
    if (flaws.sizePerHandle === true) ownSize = newSize
    else table.sizeSectors = newSize
  }
  // A read-only handle that writes anyway: its core is writable, its info says otherwise.
  const writable = !handle.readOnly || flaws.readOnlyWrites === true
  const connection = Connection.makeUnsafe("flat test device", {
    lost: () => table.destroyed && flaws.invalidAfterDestroy !== true ? "the device was destroyed" : undefined
  })

  const info = () => ({ readWrite: writable, sectorSize, sizeSectors: size() })

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
        const bad = checkRange("write", sectorStart, sectorsWritten, size())
        if (bad !== undefined) return Effect.fail(bad)
        if (flaws.clobbersPage === true) {
          const first = sectorStart - (sectorStart % 4)
          for (let s = first; s < sectorStart + sectorsWritten; s++) if (s < sectorStart) sectors.delete(s)
          const end = sectorStart + sectorsWritten
          for (let s = end; s % 4 !== 0; s++) sectors.delete(s)
        }
        for (const step of writeSteps(sectorStart, buffers)) step()
        return Effect.void
      })

  const firstFrom = (from: number, mapped: boolean) => {
    for (let s = from; s < size(); s++) if (sectors.has(s) === mapped) return s
    return size()
  }

  const read = (sectorStart: number, buffers: ReadonlyArray<Uint8Array>) =>
    flaws.readsRestoreOld === true ?
      Effect.gen(function*() {
        const saved = new Map(sectors)
        yield* Effect.yieldNow
        readInto(sectorStart, buffers)
        sectors.clear()
        for (const [sector, data] of saved) sectors.set(sector, data)
      }) :
      Effect.sync(() => readInto(sectorStart, buffers))

  const core: Core = {
    name: "flat test device",
    info: Effect.sync(info),
    connection,
    read,
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
        setSize(newSize)
      }),
    seekMapped: (from) =>
      Effect.sync(() => flaws.seekSkipsData === true ? Math.min(firstFrom(from + 1, true), size()) : firstFrom(from, true)),
    seekUnmapped: (from) => Effect.sync(() => firstFrom(from, false))
  }

  const device = BlockDevice.makeUnsafe(core)
  const reported = handle.readOnly && flaws.readOnlyWrites === true ?
    { info: Effect.sync(() => ({ ...info(), readWrite: false })) } :
    {}
  return {
    ...device,
    ...reported,
    ...(flaws.disconnectDoesNothing === true ? { disconnect: Effect.void } : {}),
    ...(flaws.disconnectsBeneath === true && handle.over !== undefined ?
      { disconnect: Effect.andThen(device.disconnect, handle.over.disconnect) } :
      {}),
    ...(flaws.skipsBoundsCheck === true ?
      {
        read: (sectorStart, buffers) =>
          Effect.sync(() => readInto(sectorStart, buffers instanceof Uint8Array ? [buffers] : buffers)),
        write: (sectorStart, buffers) =>
          Effect.sync(() => {
            for (const step of writeSteps(sectorStart, buffers instanceof Uint8Array ? [buffers] : buffers)) step()
          })
      } satisfies Pick<BlockDeviceShape, "read" | "write"> :
      {}),
    ...(flaws.vectoredIgnoresDisconnect === true ?
      {
        readVectored: (requests) =>
          Effect.sync(() => {
            for (const { buffers, sectorStart } of requests) {
              readInto(sectorStart, buffers instanceof Uint8Array ? [buffers] : buffers)
            }
          }),
        writeVectored: (requests) =>
          Effect.sync(() => {
            for (const { buffers, sectorStart } of requests) {
              for (const step of writeSteps(sectorStart, buffers instanceof Uint8Array ? [buffers] : buffers)) step()
            }
          })
      } satisfies Pick<BlockDeviceShape, "readVectored" | "writeVectored"> :
      {})
  }
}
