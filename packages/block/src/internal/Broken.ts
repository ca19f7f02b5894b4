/**
 * The device a wrapper becomes when it is given something it cannot wrap (a
 * value that is not a device, bad options): every operation but `info` and
 * `disconnect` fails with the reason, so a wrapper, which returns a device
 * rather than an Effect, still never throws.
 */
import { Connection } from "@effect-block/device"
import * as Effect from "effect/Effect"
import { pipeArguments } from "effect/Pipeable"
import { type BlockDeviceShape, TypeId } from "../BlockDevice.js"
import { InvalidRequest } from "../Errors.js"
import type { Info } from "../Geometry.js"

/** A device named `name` whose every operation fails `InvalidRequest` with `reason`'s message. */
export const brokenDevice = (name: string, reason: InvalidRequest): BlockDeviceShape => {
  const connection = Connection.makeUnsafe(name)
  const failed = (operation: string) =>
    connection.guard(operation, Effect.fail(new InvalidRequest({ operation, message: reason.message })))
  const info: Info = { readWrite: false, sectorSize: 512, sizeSectors: 0 }
  return {
    [TypeId]: TypeId,
    info: Effect.succeed(info),
    isConnected: connection.isConnected,
    read: () => failed("read"),
    write: () => failed("write"),
    flush: failed("flush"),
    discard: () => failed("discard"),
    resize: () => failed("resize"),
    seekMapped: () => failed("seekMapped"),
    seekUnmapped: () => failed("seekUnmapped"),
    readVectored: () => failed("readVectored"),
    writeVectored: () => failed("writeVectored"),
    disconnect: connection.disconnect,
    pipe() {
      return pipeArguments(this, arguments)
    }
  }
}

/**
 * Whether an argument in an options position reads as options: nothing, or
 * a plain object (prototype `Object.prototype` or `null`) that is not a
 * device. Anything else there (`null`, a number, a typed array, a Proxy
 * whose traps throw) is taken for a bad device of the data-first form, so
 * `overlay(base, null)` or `copy(src, 42)` fail rather than return a function.
 */
export const isOptionsArgument = (value: unknown): boolean => {
  if (value === undefined) return true
  try {
    if (typeof value !== "object" || value === null || TypeId in value) return false
    const prototype: unknown = Reflect.getPrototypeOf(value)
    return prototype === Object.prototype || prototype === null
  } catch {
    return false
  }
}
