/**
 * Driving a device from synchronous code (a SQLite VFS, a C-style callback
 * API): the supported way, and the typed answer when the device cannot be
 * driven that way.
 *
 * `Effect.runSync` runs an effect to completion only if nothing in it
 * suspends. The ramdisk does all its work in the call, and so do the crash
 * simulator over a ramdisk (either backend) and the block wrappers over a
 * ramdisk: they can be driven synchronously. The file device, NBD clients,
 * and anything with latency are asynchronous: `Effect.runSync` throws on
 * them, and the operation keeps running in the background.
 * {@link runDeviceSync} does the same run, but answers an asynchronous
 * device with a typed `NotSynchronous` failure and interrupts what was left
 * running (under the crash simulator, an interrupted write is pending with
 * unknown extent, as for any interrupted write).
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"

/**
 * The effect suspended (the device is asynchronous), so it could not be run
 * to completion synchronously. What it had started was interrupted.
 *
 * @since 0.2.0
 */
export class NotSynchronous extends Schema.TaggedError<NotSynchronous>()("NotSynchronous", {
  message: Schema.String
}) {}

/**
 * Runs `effect` synchronously and returns its `Exit`: its own success or
 * failure, or `NotSynchronous` if it suspended (an asynchronous device), in
 * which case the rest of it is interrupted. Never throws.
 *
 * @example
 * ```ts
 * import { makeRegistry } from "@effect-block/ramdisk"
 * import { runDeviceSync } from "@effect-block/testing"
 * import { Effect, Exit } from "effect"
 *
 * const disk = Effect.runSync(Effect.gen(function*() {
 *   const registry = yield* makeRegistry
 *   return yield* Effect.orDie(registry.connect({ name: "vfs", sizeSectors: 16 }))
 * }))
 * // From a synchronous callback:
 * const exit = runDeviceSync(disk.write(0, new Uint8Array(512)))
 * if (Exit.isFailure(exit)) {
 *   // NotSynchronous means: this device is asynchronous, drive it from Effect code instead
 * }
 * ```
 *
 * @since 0.2.0
 */
export const runDeviceSync = <A, E>(effect: Effect.Effect<A, E>): Exit.Exit<A, E | NotSynchronous> => {
  let exit: Exit.Exit<A, E>
  try {
    exit = Effect.runSyncExit(effect)
  } catch (defect) {
    return Exit.die(defect)
  }
  if (Exit.isSuccess(exit)) return exit
  const found = Cause.findDefect(exit.cause)
  if (found._tag === "Success" && Cause.isAsyncFiberError(found.success)) {
    Effect.runFork(Fiber.interrupt(found.success.fiber))
    return Exit.fail(
      new NotSynchronous({
        message: "runDeviceSync: the effect suspended (an asynchronous device): drive it from Effect code instead"
      })
    )
  }
  return exit
}
