/**
 * A lock over byte (or sector) ranges, so that operations on overlapping
 * ranges of one device run one after another while disjoint ones overlap.
 *
 * Positional reads and writes on a file are not atomic with respect to each
 * other once they span several pages or several system calls, so without it a
 * reader could see half of a concurrent write. Requests queue in arrival
 * order: each waits only for the earlier requests it conflicts with, which
 * keeps the lock fair (a stream of readers cannot starve a writer).
 *
 * @internal
 */
import * as Effect from "effect/Effect"

interface Entry {
  readonly start: number
  readonly end: number
  readonly exclusive: boolean
  /** Called when this entry's task ends or is abandoned; created only when someone has to wait. */
  waiters: Array<() => void> | undefined
}

/** @internal */
export interface RangeLock {
  /**
   * Runs `task` holding `[start, end)`: shared when `exclusive` is false
   * (reads), alone otherwise (writes, discards, resizes). `task` reports a
   * failure by resolving to an error value; it must not reject (a rejection
   * becomes a defect).
   *
   * Waiting for the range can be interrupted. Once the task has started, the
   * range stays held until its promise settles, even if the fiber is
   * interrupted meanwhile: the operating system finishes the I/O anyway, and
   * no other request may see it half done.
   */
  readonly run: <E>(
    start: number,
    end: number,
    exclusive: boolean,
    task: () => Promise<E | undefined>
  ) => Effect.Effect<void, E>
}

/** @internal */
export const makeUnsafe = (): RangeLock => {
  const entries: Array<Entry> = []

  const release = (entry: Entry) => {
    const index = entries.indexOf(entry)
    if (index >= 0) entries.splice(index, 1)
    const waiters = entry.waiters
    entry.waiters = undefined
    if (waiters !== undefined) for (const ended of waiters) ended()
  }

  // One callback per request, rather than a chain of Effect steps: this sits on every read and write.
  const run = <E>(start: number, end: number, exclusive: boolean, task: () => Promise<E | undefined>) =>
    Effect.callback<void, E>((resume) => {
      let conflicts: Array<Entry> | undefined
      for (const other of entries) {
        if ((exclusive || other.exclusive) && other.start < end && start < other.end) (conflicts ??= []).push(other)
      }
      const entry: Entry = { start, end, exclusive, waiters: undefined }
      entries.push(entry)
      let state: "waiting" | "running" | "abandoned" = "waiting"
      const begin = () => {
        if (state !== "waiting") return
        state = "running"
        task().then(
          (error) => {
            release(entry)
            resume(error === undefined ? Effect.void : Effect.fail(error))
          },
          (defect: unknown) => {
            release(entry)
            resume(Effect.die(defect))
          }
        )
      }
      if (conflicts === undefined) begin()
      else {
        let left = conflicts.length
        const ended = () => {
          if (--left === 0) begin()
        }
        for (const other of conflicts) (other.waiters ??= []).push(ended)
      }
      return Effect.sync(() => {
        if (state === "waiting") {
          state = "abandoned"
          release(entry)
        }
      })
    })

  return { run }
}
