/**
 * One named ramdisk (its state) and the handles connected to it.
 */
import { BlockDevice, InvalidRequest, IsReadOnly } from "@effect-block/block"
import { Connection } from "@effect-block/device"
import * as Effect from "effect/Effect"
import * as MutableRef from "effect/MutableRef"
import * as Ref from "effect/Ref"
import type { RamdiskShape, Stats } from "../Ramdisk.js"
import { Pool } from "./Pool.js"
import * as IndexBytes from "./IndexBytes.js"
import * as Seek from "./Seek.js"
import * as Store from "./Store.js"

/**
 * An immutable picture of a ramdisk's contents and size, taken by
 * `Ramdisk.snapshot` and given back to `Ramdisk.restore`.
 *
 * @since 0.1.0
 */
export class Snapshot {
  readonly _tag = "RamdiskSnapshot"
  /** Only real snapshots carry it: `#brand in value` never runs a Proxy trap or getter of `value`. */
  readonly #brand = true

  /** Whether `value` is a snapshot this module made (never throws, whatever `value` is). */
  static is(value: unknown): value is Snapshot {
    return typeof value === "object" && value !== null && #brand in value
  }
  /** @internal */
  readonly contents: Store.Contents
  /** @internal */
  readonly layout: Store.Layout

  /** @internal */
  constructor(contents: Store.Contents, layout: Store.Layout) {
    this.contents = contents
    this.layout = layout
  }

  /** The sector size of the device the snapshot was taken from. */
  get sectorSize(): number {
    return this.layout.sectorSize
  }

  /** The device size, in sectors, when the snapshot was taken. */
  get sizeSectors(): number {
    return this.contents.sizeSectors
  }

  /** Bytes of sector data the snapshot references (shared with the device where unchanged). */
  get allocatedBytes(): number {
    return this.contents.pageCount * this.layout.pageSize
  }
}

/** The shared state of one named ramdisk. */
export interface RamdiskState {
  readonly name: string
  readonly layout: Store.Layout
  readonly contents: Ref.Ref<Store.Contents>
  /** Where the device's pages come from and go back to. */
  readonly pool: Pool
  /** The copy-on-write epoch; replaced by every snapshot and restore. */
  epoch: Store.Epoch
  /** Set by `Registry.destroy`: every handle then fails `Disconnected`. */
  destroyed: boolean
}

export const makeState = (name: string, sectorSize: number, sizeSectors: number): RamdiskState => {
  const layout: Store.Layout = { sectorSize, pageSize: Store.pageSizeFor(sectorSize) }
  const epoch = new Store.Epoch()
  return {
    name,
    layout,
    contents: Ref.makeUnsafe(Store.emptyContents(layout, sizeSectors, epoch)),
    pool: new Pool(layout.pageSize, Store.CHUNK_PAGES, Math.ceil(sizeSectors * sectorSize / layout.pageSize)),
    epoch,
    destroyed: false
  }
}

/** Marks a device destroyed and lets go of its data. */
export const destroyState = (state: RamdiskState): void => {
  state.destroyed = true
  state.epoch = new Store.Epoch()
  MutableRef.set(state.contents.ref, Store.emptyContents(state.layout, 0, state.epoch))
  state.pool.clear()
}

/** A new handle to `state`. */
export const connect = (state: RamdiskState, readOnly: boolean): RamdiskShape => {
  const { layout, name, pool } = state
  const label = `ramdisk ${JSON.stringify(name)}`
  const connection = Connection.makeUnsafe(label, {
    lost: () => state.destroyed ? "the device was destroyed" : undefined
  })

  const contents = () => Ref.getUnsafe(state.contents)
  const update = (next: Store.Contents) => MutableRef.set(state.contents.ref, next)

  const infoUnsafe = () => ({
    readWrite: !readOnly,
    sectorSize: layout.sectorSize,
    sizeSectors: contents().sizeSectors
  })

  // `make` checks the connection (which includes the device being destroyed)
  // and validates against `infoUnsafe`, then calls these in the same
  // synchronous step: each runs on exactly the contents that were checked,
  // and no other fiber can run in between. So they do their work in the call
  // and return the outcome, with no check of their own.
  const device = BlockDevice.makeUnsafe({
    name: label,
    connection,
    info: Effect.sync(infoUnsafe),
    infoUnsafe,
    read: (sectorStart, buffers) => {
      Store.read(contents(), layout, sectorStart * layout.sectorSize, buffers)
      return Effect.void
    },
    write: (sectorStart, buffers) => {
      update(Store.write(contents(), state.epoch, pool, sectorStart * layout.sectorSize, buffers))
      return Effect.void
    },
    // Native vectored requests: the whole list read, or applied as one update, in this one step.
    readVectored: (requests) => {
      const held = contents()
      for (let i = 0; i < requests.length; i++) {
        const request = requests[i]!
        Store.read(held, layout, request.sectorStart * layout.sectorSize, request.list)
      }
      return Effect.void
    },
    writeVectored: (requests) => {
      update(Store.writeMany(contents(), state.epoch, pool, layout.sectorSize, requests))
      return Effect.void
    },
    discard: (sectorStart, sectors) => {
      update(Store.discard(contents(), layout, state.epoch, pool, sectorStart, sectors))
      return Effect.void
    },
    resize: (sizeSectors) => {
      update(Store.resize(contents(), layout, state.epoch, pool, sizeSectors))
      return Effect.void
    },
    seekMapped: (from) => Effect.succeed(Seek.seekMapped(contents(), layout, from)),
    seekUnmapped: (from) => Effect.succeed(Seek.seekUnmapped(contents(), layout, from))
  })

  const stats = (held: Store.Contents): Stats => {
    const allocatedBytes = held.pageCount * layout.pageSize
    const freeBytes = pool.freePages * layout.pageSize
    const indexBytes = IndexBytes.indexBytes(held)
    return {
      allocatedBytes,
      allocatedPages: held.pageCount,
      pageSize: layout.pageSize,
      freeBytes,
      indexBytes,
      heldBytes: allocatedBytes + freeBytes + indexBytes
    }
  }

  return {
    ...device,
    name,
    snapshot: connection.guard(
      "snapshot",
      Effect.sync(() => {
        // Everything the snapshot references becomes copy-on-write.
        state.epoch = new Store.Epoch()
        return new Snapshot(contents(), layout)
      })
    ),
    restore: (snapshot) =>
      connection.guard(
        "restore",
        Effect.suspend((): Effect.Effect<void, IsReadOnly | InvalidRequest> => {
          if (readOnly) {
            return Effect.fail(
              new IsReadOnly({ operation: "restore", message: `restore on ${label}: the handle is read-only` })
            )
          }
          if (!Snapshot.is(snapshot) || snapshot.layout.sectorSize !== layout.sectorSize) {
            return Effect.fail(
              new InvalidRequest({
                operation: "restore",
                message: Snapshot.is(snapshot) ?
                  `restore on ${label}: the snapshot has ${snapshot.layout.sectorSize}-byte sectors, the device ${layout.sectorSize}-byte sectors` :
                  `restore on ${label}: the argument is not a ramdisk snapshot`
              })
            )
          }
          // The restored contents are shared with the snapshot: start a new epoch.
          state.epoch = new Store.Epoch()
          update(snapshot.contents)
          return Effect.void
        })
      ),
    stats: connection.guard("stats", Effect.sync(() => stats(contents())))
  }
}
