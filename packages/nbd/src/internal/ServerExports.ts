/**
 * The server's export table: the names a client may ask for and, per
 * connection, the device behind the chosen one. A table comes from a fixed
 * list of devices or from a registry (each name an export, each connection
 * its own handle, disconnected when the connection ends).
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** An export as one connection sees it. */
export interface OpenExport {
  readonly name: string
  readonly description: string
  readonly device: BlockDeviceShape
  /** Whether the export refuses writes (the option, or a read-only device). */
  readonly readOnly: boolean
  /** Whether a flush on one connection covers writes made on every other. */
  readonly multiConn: boolean
  readonly sectorSize: number
  /** Size in bytes when the export was opened. */
  readonly sizeBytes: number
}

/** The table. `open` acquires in the caller's scope; closing it releases what the server owns. */
export interface ExportTable {
  readonly list: Effect.Effect<ReadonlyArray<{ readonly name: string; readonly description: string }>>
  readonly open: (name: string) => Effect.Effect<OpenExport | undefined, never, Scope.Scope>
}

/** One export of a fixed list. */
export interface ListedExport {
  readonly name: string
  readonly description: string
  readonly device: BlockDeviceShape
  readonly readOnly: boolean
}

const opened = (entry: ListedExport, device: BlockDeviceShape) =>
  Effect.map(device.info, (info): OpenExport => ({
    name: entry.name,
    description: entry.description,
    device,
    readOnly: entry.readOnly || !info.readWrite,
    // Every connection shares this one device value, so a flush reaches every connection's writes.
    multiConn: true,
    sectorSize: info.sectorSize,
    sizeBytes: info.sizeSectors * info.sectorSize
  }))

/**
 * A table over a fixed list. The empty name (NBD's default export) selects
 * the first entry unless an entry is itself named "".
 */
export const fromList = (entries: ReadonlyArray<ListedExport>): ExportTable => {
  const find = (name: string): ListedExport | undefined =>
    entries.find((entry) => entry.name === name) ?? (name === "" ? entries[0] : undefined)
  return {
    list: Effect.succeed(entries.map(({ description, name }) => ({ name, description }))),
    open: (name) =>
      Effect.suspend(() => {
        const entry = find(name)
        return entry === undefined ? Effect.succeed(undefined) : opened(entry, entry.device)
      })
  }
}

/** What the server needs of a registry (the ramdisk's `Registry` has this shape). */
export interface RegistrySource {
  readonly names: Effect.Effect<ReadonlyArray<string>>
  readonly connect: (options: { readonly name: string; readonly readOnly?: boolean }) => Effect.Effect<
    BlockDeviceShape,
    unknown
  >
}

/**
 * A table over a registry: its names now are the exports (the empty name
 * selects the first); each open connects a handle that the scope disconnects.
 */
export const fromRegistry = (registry: RegistrySource, readOnly: boolean): ExportTable => {
  const resolve = (name: string) =>
    Effect.map(registry.names, (names) => (names.includes(name) ? name : name === "" ? names[0] : undefined))
  return {
    list: Effect.map(registry.names, (names) => names.map((name) => ({ name, description: "" }))),
    open: (requested) =>
      Effect.flatMap(resolve(requested), (name) => {
        if (name === undefined) return Effect.succeed(undefined)
        return Effect.acquireRelease(
          Effect.option(registry.connect({ name, readOnly })),
          (handle) => (handle._tag === "Some" ? handle.value.disconnect : Effect.void)
        ).pipe(
          Effect.flatMap((handle) =>
            handle._tag === "None"
              ? Effect.succeed(undefined)
              : opened({ name, description: "", device: handle.value, readOnly }, handle.value)
          )
        )
      })
  }
}
