/**
 * Taking a device argument from a caller: check it is a block device and
 * read its members once, so a Proxy or an object with throwing getters
 * becomes an `InvalidRequest` at the call instead of a defect later.
 */
import { Disconnected } from "@effect-block/device"
import * as Effect from "effect/Effect"
import { pipeArguments } from "effect/Pipeable"
import { type BlockDeviceShape, connectedProbe, isBlockDevice, type Probed, probeOf, TypeId } from "../BlockDevice.js"
import { InvalidRequest } from "../Errors.js"
import { describeValue } from "../Geometry.js"

const members = [
  "info",
  "isConnected",
  "read",
  "write",
  "flush",
  "discard",
  "resize",
  "seekMapped",
  "seekUnmapped",
  "readVectored",
  "writeVectored",
  "disconnect"
] as const

const effectMembers = new Set<string>(["info", "isConnected", "flush", "disconnect"])

/**
 * `value` as a device whose members were read once (a fresh plain object,
 * so later calls never run a getter or Proxy trap of `value`), or an
 * `InvalidRequest` naming `role` (such as "source") when it is not a block
 * device or reading it threw.
 */
export const takeDevice = (operation: string, role: string, value: unknown): BlockDeviceShape | InvalidRequest => {
  if (!isBlockDevice(value)) {
    return new InvalidRequest({
      operation,
      message: `${operation}: ${role} ${describeValue(value)} is not a block device`
    })
  }
  try {
    const read: Record<string, unknown> = {}
    for (const name of members) {
      const member: unknown = (value as unknown as Record<string, unknown>)[name]
      const ok = effectMembers.has(name) ? Effect.isEffect(member) : typeof member === "function"
      if (!ok) {
        return new InvalidRequest({
          operation,
          message: `${operation}: ${role} is not a block device (its ${name} is ${describeValue(member)})`
        })
      }
      read[name] = member
    }
    const probe = probeOf(value)
    const device: BlockDeviceShape & Probed = {
      ...(read as unknown as Omit<BlockDeviceShape, typeof TypeId | "pipe">),
      [TypeId]: TypeId,
      pipe() {
        return pipeArguments(this, arguments)
      },
      ...(probe === undefined ? {} : { [connectedProbe]: probe })
    }
    return device
  } catch {
    return new InvalidRequest({
      operation,
      message: `${operation}: ${role} could not be read as a block device (reading it threw)`
    })
  }
}

/**
 * `value` taken as a device (see {@link takeDevice}) and checked to be
 * connected, so a tool over a lost device fails `Disconnected` up front
 * rather than computing anything from the 0 sectors a destroyed device
 * reports (docs/semantics.md, "Wrappers").
 */
export const connectedDevice = (
  operation: string,
  role: string,
  value: unknown
): Effect.Effect<BlockDeviceShape, InvalidRequest | Disconnected> =>
  Effect.suspend((): Effect.Effect<BlockDeviceShape, InvalidRequest | Disconnected> => {
    const device = takeDevice(operation, role, value)
    if (device instanceof InvalidRequest) return Effect.fail(device)
    return Effect.flatMap(device.isConnected, (connected) =>
      connected ? Effect.succeed(device) : Effect.fail(
        new Disconnected({ operation, message: `${operation}: ${role}: the device is disconnected or destroyed` })
      ))
  })
