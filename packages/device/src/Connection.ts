/**
 * The connected/disconnected state of one device handle.
 *
 * Every handle needs the same three things: a way to disconnect (idempotent,
 * never failing), a cheap check on each call, and the `Disconnected` error
 * that check produces. Implementations create one `Connection` per handle
 * and route every operation through {@link Connection.guard}.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { Disconnected } from "./Device.js"

/**
 * The connection state of a single handle.
 *
 * @since 0.1.0
 */
export interface Connection {
  /** A label for messages, such as the device name. */
  readonly device: string
  /** Whether the handle is still connected. */
  readonly isConnected: Effect.Effect<boolean>
  /** Synchronous form of `isConnected`, for hot paths that are already inside an Effect. */
  readonly isConnectedUnsafe: () => boolean
  /** Marks the handle disconnected. Idempotent; never fails. */
  readonly disconnect: Effect.Effect<void>
  /** The error a call on this handle fails with once it is disconnected. */
  readonly disconnectedError: (operation: string) => Disconnected
  /**
   * Runs `effect` only while connected; otherwise fails with `Disconnected`
   * without running it.
   */
  readonly guard: <A, E, R>(operation: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Disconnected, R>
}

/**
 * Options for {@link make}.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * Why the device behind the handle is gone (it was destroyed, its backing
   * store closed), or `undefined` while it is there. Checked on every call, so
   * a device-level loss disconnects every handle at once.
   */
  readonly lost?: (() => string | undefined) | undefined
}

/**
 * Creates the state for a new, connected handle. `device` names the device
 * in error messages.
 *
 * @since 0.1.0
 */
export const make = (device: string, options?: Options): Effect.Effect<Connection> =>
  Effect.sync(() => makeUnsafe(device, options))

/**
 * Synchronous form of {@link make}, for code that builds handles outside
 * Effect (wrappers that are plain functions over devices).
 *
 * @since 0.1.0
 */
export const makeUnsafe = (device: string, options?: Options): Connection => {
  let connected = true
  const lost = options?.lost ?? (() => undefined)
  const isConnectedUnsafe = () => connected && lost() === undefined
  const disconnectedError = (operation: string) =>
    new Disconnected({
      operation,
      message: `${operation} on ${device}: ${connected ? lost() ?? "the handle is disconnected" : "the handle is disconnected"}`
    })
  return {
    device,
    isConnected: Effect.sync(isConnectedUnsafe),
    isConnectedUnsafe,
    disconnect: Effect.sync(() => {
      connected = false
    }),
    disconnectedError,
    guard: <A, E, R>(operation: string, effect: Effect.Effect<A, E, R>) =>
      Effect.suspend((): Effect.Effect<A, E | Disconnected, R> =>
        isConnectedUnsafe() ? effect : Effect.fail(disconnectedError(operation))
      )
  }
}
