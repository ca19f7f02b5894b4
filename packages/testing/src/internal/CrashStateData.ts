/**
 * What a `CrashState` carries for the simulator that made it, kept out of
 * the public class (and its .d.ts): the durable images to start from and the
 * pieces to replay on each device, keyed by the state object.
 */
import type { Piece } from "./CrashStates.js"

/** The simulator-only part of a crash state. */
export interface StateData {
  /** The power domain that produced the state. */
  readonly owner: object
  /** One durable image per device of the domain, in the backend's own type. */
  readonly images: ReadonlyArray<unknown>
  /** One replay list per device. */
  readonly pieces: ReadonlyArray<ReadonlyArray<Piece>>
}

/** The simulator-only part of every live crash state. */
export const stateData = new WeakMap<object, StateData>()
