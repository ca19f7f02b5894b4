/**
 * The range lock behind the file device's atomicity (src/internal/RangeLock.ts), driven with tasks the
 * test finishes by hand, so the rules about interruption are checked without depending on how long a
 * system call takes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as RangeLock from "../src/internal/RangeLock.js"

/** A task that runs until `finish` is called, recording that it started. */
const gate = () => {
  let finish: () => void = () => undefined
  const state = { started: false }
  const promise = new Promise<undefined>((resolve) => {
    finish = () => resolve(undefined)
  })
  return {
    state,
    finish: () => finish(),
    task: () => {
      state.started = true
      return promise
    }
  }
}

describe("run", () => {
  it.effect("a task interrupted while it waits for its range never runs, and the range passes to the next", () =>
    Effect.gen(function*() {
      const lock = RangeLock.makeUnsafe()
      const holder = gate()
      const waiting = gate()
      const next = gate()
      const first = yield* Effect.forkChild(lock.run(0, 8, true, holder.task))
      yield* Effect.yieldNow
      const interrupted = yield* Effect.forkChild(lock.run(4, 5, true, waiting.task))
      yield* Effect.yieldNow
      const after = yield* Effect.forkChild(lock.run(4, 5, true, next.task))
      yield* Effect.yieldNow
      expect([holder.state.started, waiting.state.started, next.state.started]).toEqual([true, false, false])
      yield* Fiber.interrupt(interrupted)
      holder.finish()
      yield* Fiber.join(first)
      yield* Effect.yieldNow
      expect(waiting.state.started).toBe(false)
      expect(next.state.started).toBe(true)
      next.finish()
      yield* Fiber.join(after)
      expect(waiting.state.started).toBe(false)
    }))

  it.effect("a task interrupted after it started keeps its range until its promise settles", () =>
    Effect.gen(function*() {
      const lock = RangeLock.makeUnsafe()
      const holder = gate()
      const next = gate()
      const first = yield* Effect.forkChild(lock.run(0, 8, true, holder.task))
      yield* Effect.yieldNow
      expect(holder.state.started).toBe(true)
      yield* Fiber.interrupt(first)
      const after = yield* Effect.forkChild(lock.run(0, 1, false, next.task))
      yield* Effect.yieldNow
      expect(next.state.started).toBe(false)
      holder.finish()
      yield* Effect.promise(() => Promise.resolve())
      yield* Effect.yieldNow
      expect(next.state.started).toBe(true)
      next.finish()
      yield* Fiber.join(after)
    }))

  it.effect("reads share a range, and disjoint writes run side by side", () =>
    Effect.gen(function*() {
      const lock = RangeLock.makeUnsafe()
      const tasks = [gate(), gate(), gate(), gate()]
      const fibers = yield* Effect.forEach([
        lock.run(0, 8, false, tasks[0]!.task),
        lock.run(2, 4, false, tasks[1]!.task),
        lock.run(8, 16, true, tasks[2]!.task),
        lock.run(3, 9, true, tasks[3]!.task)
      ], (run) => Effect.forkChild(run))
      yield* Effect.yieldNow
      expect(tasks.map((task) => task.state.started)).toEqual([true, true, true, false])
      for (const task of tasks) task.finish()
      yield* Effect.forEach(fibers, Fiber.join)
      expect(tasks[3]!.state.started).toBe(true)
    }))
})
