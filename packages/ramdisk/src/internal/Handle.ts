/**
 * One named ramdisk (its state) and the handles connected to it.
 */
import { BlockDevice, checkRange, InvalidRequest, IsReadOnly } from "@effect-block/block"
import { Connection, Disconnected } from "@effect-block/device"
import * as Effect from "effect/Effect"
import * as MutableRef from "effect/MutableRef"
import * as Ref from "effect/Ref"
import type { RamdiskShape, Stats } from "../Ramdisk.js"
import * as Store from "./Store.js"

/**
 * An immutable picture of a ramdisk's contents and size, taken by
 * `Ramdisk.snapshot` and given back to `Ramdisk.restore`.
 *
 * @since 0.1.0
 */
export class Snapshot {
  readonly _tag = "RamdiskSnapshot"
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
    epoch,
    destroyed: false
  }
}

/** Marks a device destroyed and lets go of its data. */
export const destroyState = (state: RamdiskState): void => {
  state.destroyed = true
  state.epoch = new Store.Epoch()
  MutableRef.set(state.contents.ref, Store.emptyContents(state.layout, 0, state.epoch))
}

/** A new handle to `state`. */
export const connect = (state: RamdiskState, readOnly: boolean): RamdiskShape => {
  const { layout, name } = state
  const label = `ramdisk ${JSON.stringify(name)}`
  const connection = Connection.makeUnsafe(label, {
    lost: () => state.destroyed ? "the device was destroyed" : undefined
  })

  const destroyedError = (operation: string) => connection.disconnectedError(operation)

  /**
   * Runs `body` on the current contents in one synchronous step, failing
   * `Disconnected` if the device was destroyed. `body` returns the
   * operation's outcome and the new contents (or the same value).
   *
   * This runs the step at once: it is for the core operations, which
   * `BlockDevice.make` calls only when the operation runs. Everything else
   * goes through the lazy `modify`.
   */
  const modifyNow = <A, E>(
    operation: string,
    body: (contents: Store.Contents) => readonly [Effect.Effect<A, E>, Store.Contents]
  ): Effect.Effect<A, E | Disconnected> => {
    if (state.destroyed) return Effect.fail(destroyedError(operation))
    // Synchronous read-modify-write of the Ref: nothing can run in between.
    const [outcome, next] = body(Ref.getUnsafe(state.contents))
    MutableRef.set(state.contents.ref, next)
    return outcome
  }

  const currentNow = <A, E>(
    operation: string,
    body: (contents: Store.Contents) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | Disconnected> =>
    state.destroyed ? Effect.fail(destroyedError(operation)) : body(Ref.getUnsafe(state.contents))

  const modify = <A, E>(
    operation: string,
    body: (contents: Store.Contents) => readonly [Effect.Effect<A, E>, Store.Contents]
  ): Effect.Effect<A, E | Disconnected> => Effect.suspend(() => modifyNow(operation, body))

  const current = <A, E>(
    operation: string,
    body: (contents: Store.Contents) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | Disconnected> => Effect.suspend(() => currentNow(operation, body))

  /** The range check again, against the size at the moment the operation runs. */
  const inRange = (operation: string, contents: Store.Contents, sectorStart: number, sectors: number) =>
    checkRange(operation, sectorStart, sectors, contents.sizeSectors)

  const infoUnsafe = () => ({
    readWrite: !readOnly,
    sectorSize: layout.sectorSize,
    sizeSectors: Ref.getUnsafe(state.contents).sizeSectors
  })

  const device = BlockDevice.makeUnsafe({
    name: label,
    connection,
    info: Effect.sync(infoUnsafe),
    infoUnsafe,
    read: (sectorStart, buffers, sectors) =>
      currentNow("read", (contents) => {
        const bad = inRange("read", contents, sectorStart, sectors)
        if (bad !== undefined) return Effect.fail(bad)
        Store.read(contents, layout, sectorStart * layout.sectorSize, buffers)
        return Effect.void
      }),
    write: (sectorStart, buffers, sectors) =>
      modifyNow("write", (contents) => {
        const bad = inRange("write", contents, sectorStart, sectors)
        if (bad !== undefined) return [Effect.fail(bad), contents]
        return [Effect.void, Store.write(contents, layout, state.epoch, sectorStart * layout.sectorSize, buffers)]
      }),
    flush: current("flush", () => Effect.void),
    discard: (sectorStart, sectors) =>
      modifyNow("discard", (contents) => {
        const bad = inRange("discard", contents, sectorStart, sectors)
        if (bad !== undefined) return [Effect.fail(bad), contents]
        return [Effect.void, Store.discard(contents, layout, state.epoch, sectorStart, sectors)]
      }),
    resize: (sizeSectors) =>
      modifyNow("resize", (contents) => [Effect.void, Store.resize(contents, layout, state.epoch, sizeSectors)]),
    seekMapped: (from) => currentNow("seekMapped", (contents) => Effect.succeed(Store.seekMapped(contents, layout, from))),
    seekUnmapped: (from) =>
      currentNow("seekUnmapped", (contents) => Effect.succeed(Store.seekUnmapped(contents, layout, from)))
  })

  const stats = (contents: Store.Contents): Stats => ({
    allocatedBytes: contents.pageCount * layout.pageSize,
    allocatedPages: contents.pageCount,
    pageSize: layout.pageSize
  })

  return {
    ...device,
    name,
    snapshot: connection.guard(
      "snapshot",
      current("snapshot", (contents) => {
        // Everything the snapshot references becomes copy-on-write.
        state.epoch = new Store.Epoch()
        return Effect.succeed(new Snapshot(contents, layout))
      })
    ),
    restore: (snapshot) =>
      connection.guard(
        "restore",
        Effect.suspend((): Effect.Effect<void, Disconnected | IsReadOnly | InvalidRequest> => {
          if (readOnly) {
            return Effect.fail(
              new IsReadOnly({ operation: "restore", message: `restore on ${label}: the handle is read-only` })
            )
          }
          if (!(snapshot instanceof Snapshot) || snapshot.layout.sectorSize !== layout.sectorSize) {
            return Effect.fail(
              new InvalidRequest({
                operation: "restore",
                message: snapshot instanceof Snapshot ?
                  `restore on ${label}: the snapshot has ${snapshot.layout.sectorSize}-byte sectors, the device ${layout.sectorSize}-byte sectors` :
                  `restore on ${label}: the argument is not a ramdisk snapshot`
              })
            )
          }
          return modify("restore", () => {
            // The restored contents are shared with the snapshot: start a new epoch.
            state.epoch = new Store.Epoch()
            return [Effect.void, snapshot.contents]
          })
        })
      ),
    stats: connection.guard("stats", current("stats", (contents) => Effect.succeed(stats(contents))))
  }
}
