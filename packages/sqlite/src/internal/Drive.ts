/**
 * Runs a device operation to completion from synchronous code (the SQLite
 * VFS callbacks), turning every way it can end into a value: the result,
 * or a `DeviceFailure` carrying the device's typed error, a
 * `SynchronousDeviceRequired` when the operation suspended, or a defect.
 * Nothing here throws.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { SynchronousDeviceRequired } from "../Errors.js"

/** Why a device operation did not succeed. */
export class DeviceFailure {
  constructor(readonly error: unknown) {}
}

/** Runs `effect` synchronously; a suspended run is interrupted and reported. */
export const drive = <A, E>(operation: string, effect: Effect.Effect<A, E>): A | DeviceFailure => {
  let exit: Exit.Exit<A, E>
  try {
    exit = Effect.runSyncExit(effect)
  } catch (defect) {
    return new DeviceFailure(defect)
  }
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) return new DeviceFailure(error.value)
  const defect = Cause.squash(exit.cause)
  if (Cause.isAsyncFiberError(defect)) {
    // The operation is still running on its own; do not let it finish behind SQLite's back.
    defect.fiber.interruptUnsafe()
    return new DeviceFailure(
      new SynchronousDeviceRequired({
        operation,
        message: `${operation}: the device suspended; only devices that complete synchronously ` +
          `(the ramdisk, the crash simulator and fault injector over it) can hold a SQLite database`
      })
    )
  }
  return new DeviceFailure(defect)
}
