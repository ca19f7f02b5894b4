/**
 * The namespace of named ramdisks: `connect` by name, `destroy`, `names`.
 *
 * Each `RegistryLive` layer instance is its own namespace, held in a
 * `Ref<HashMap<string, device>>`. There is no process-wide table, so tests
 * running in parallel, each with its own registry, never share a disk.
 *
 * @since 0.1.0
 */
import { defaultSectorSize, defaultSizeSectors, InvalidRequest } from "@effect-block/block"
import { checkGeometry, decodeOptions, describeValue } from "@effect-block/block/Implementer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Handle from "./internal/Handle.js"
import type { RamdiskShape } from "./Ramdisk.js"

/**
 * What to connect to, decoded with this schema: `null` is never "absent"
 * and `readOnly` must be a boolean, so `{ readOnly: 1 }` or
 * `{ readOnly: "true" }` fails `InvalidRequest` naming the option rather
 * than opening a read-write handle.
 *
 * @since 0.2.0
 */
export const ConnectOptions = Schema.Struct({
  /** The device name; not empty. */
  name: Schema.String,
  /** Size for a new device, in sectors (default 32768). Ignored if the device exists. */
  sizeSectors: Schema.optional(Schema.Number),
  /** Sector size for a new device: a power of two up to 65536 (default 512). Ignored if the device exists. */
  sectorSize: Schema.optional(Schema.Number),
  /** Whether this handle is read-only (default false). Applies to this handle only. */
  readOnly: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 */
export type ConnectOptions = typeof ConnectOptions.Type

const decodeConnectOptions = decodeOptions(ConnectOptions, "options")

/**
 * The operations of a ramdisk registry.
 *
 * @since 0.1.0
 */
export interface RegistryShape {
  /**
   * A new handle to the device called `name`, creating a zeroed device with
   * the given geometry if there is none. Fails `InvalidRequest`, creating
   * nothing, for an empty name or an invalid geometry.
   */
  readonly connect: (options: ConnectOptions) => Effect.Effect<RamdiskShape, InvalidRequest>
  /**
   * `connect` for the surrounding scope: the handle is disconnected when the
   * scope closes (the device stays in the registry until destroyed). Use it
   * for a second device inside an Effect, such as the destination of a copy.
   */
  readonly connectScoped: (options: ConnectOptions) => Effect.Effect<RamdiskShape, InvalidRequest, Scope.Scope>
  /**
   * Removes the device: its handles fail `Disconnected` from then on, and the
   * next `connect` with the name gets a new, zeroed device. Destroying a name
   * that does not exist (or a value that is not a string) succeeds.
   */
  readonly destroy: (name: string) => Effect.Effect<void>
  /** The names of the devices that exist now, sorted. */
  readonly names: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The ramdisk registry service.
 *
 * @since 0.1.0
 */
export class Registry extends Context.Service<Registry, RegistryShape>()("@effect-block/ramdisk/Registry") {}

const invalid = (message: string) => new InvalidRequest({ operation: "connect", message: `connect: ${message}` })

/**
 * Creates an empty registry. Use {@link RegistryLive} to provide one.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<RegistryShape> = Effect.sync(() => {
  const devices = Ref.makeUnsafe(HashMap.empty<string, Handle.RamdiskState>())
  const connect = (input: ConnectOptions): Effect.Effect<RamdiskShape, InvalidRequest> =>
      Effect.suspend(() => {
        // Decoded once into a plain object: a getter or Proxy is read a single time.
        const options = decodeConnectOptions("connect", input)
        if (options instanceof InvalidRequest) return Effect.fail(options)
        if (options.name.length === 0) return Effect.fail(invalid(`name ${describeValue(options.name)} is not a non-empty string`))
        const sectorSize = options.sectorSize ?? defaultSectorSize
        const sizeSectors = options.sizeSectors ?? defaultSizeSectors
        type Devices = HashMap.HashMap<string, Handle.RamdiskState>
        return Ref.modify(devices, (map: Devices): readonly [InvalidRequest | Handle.RamdiskState, Devices] => {
          const existing = Option.getOrUndefined(HashMap.get(map, options.name))
          if (existing !== undefined) return [existing, map]
          const badGeometry = checkGeometry("connect", { sectorSize, sizeSectors })
          if (badGeometry !== undefined) return [badGeometry, map]
          const state = Handle.makeState(options.name, sectorSize, sizeSectors)
          return [state, HashMap.set(map, options.name, state)]
        }).pipe(
          Effect.flatMap((found) =>
            found instanceof InvalidRequest ? Effect.fail(found) : Effect.succeed(Handle.connect(found, options.readOnly === true))
          )
        )
      })
  return {
    connect,
    connectScoped: (options) => Effect.acquireRelease(connect(options), (handle) => handle.disconnect),
    destroy: (name) =>
      typeof name !== "string" ? Effect.void : Ref.modify(devices, (map) => {
        const existing = Option.getOrUndefined(HashMap.get(map, name))
        if (existing === undefined) return [undefined, map]
        Handle.destroyState(existing)
        return [undefined, HashMap.remove(map, name)]
      }),
    names: Effect.map(Ref.get(devices), (map) => Array.from(HashMap.keys(map)).sort())
  }
})

/**
 * A layer providing a fresh, empty registry. Each build is its own namespace.
 *
 * @since 0.1.0
 */
export const RegistryLive: Layer.Layer<Registry> = Layer.effect(Registry, make)
