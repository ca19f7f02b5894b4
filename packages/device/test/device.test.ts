/**
 * The device package: one-line error formatting and per-handle connection state.
 */
import { Connection, Disconnected, formatError, Unimplemented } from "@effect-block/device"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

describe("formatError", () => {
  it("prints the tag and the message on one line", () => {
    expect(formatError(new Unimplemented({ operation: "resize", message: "resize on disk: not supported" }))).toBe(
      "Unimplemented: resize on disk: not supported"
    )
  })

  it("folds line breaks in the message into spaces", () => {
    expect(formatError(new Disconnected({ operation: "read", message: "first\n  second\r\nthird" }))).toBe(
      "Disconnected: first second third"
    )
  })

  it("prints just the tag when the message is empty", () => {
    expect(formatError({ _tag: "IOError", message: "" })).toBe("IOError")
  })
})

describe("Connection.guard", () => {
  it.effect("runs the effect while connected", () =>
    Effect.gen(function*() {
      const connection = yield* Connection.make("disk")
      expect(yield* connection.guard("read", Effect.succeed(42))).toBe(42)
    }))

  it.effect("fails Disconnected without running the effect once disconnected", () =>
    Effect.gen(function*() {
      const connection = yield* Connection.make("disk")
      let ran = false
      yield* connection.disconnect
      const error = yield* Effect.flip(connection.guard("read", Effect.sync(() => ran = true)))
      expect(error).toBeInstanceOf(Disconnected)
      expect(error.message).toBe("read on disk: the handle is disconnected")
      expect(ran).toBe(false)
    }))

  it.effect("reports a device-level loss given by `lost`", () =>
    Effect.gen(function*() {
      let reason: string | undefined = undefined
      const connection = yield* Connection.make("disk", { lost: () => reason })
      expect(yield* connection.isConnected).toBe(true)
      reason = "the device was destroyed"
      expect(yield* connection.isConnected).toBe(false)
      const error = yield* Effect.flip(connection.guard("write", Effect.void))
      expect(error.message).toBe("write on disk: the device was destroyed")
    }))
})

describe("Connection.disconnect", () => {
  it.effect("is idempotent and never fails", () =>
    Effect.gen(function*() {
      const connection = yield* Connection.make("disk")
      yield* connection.disconnect
      yield* connection.disconnect
      expect(yield* connection.isConnected).toBe(false)
    }))
})
