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
import * as Latch from "effect/Latch"

interface Entry {
  readonly start: number
  readonly end: number
  readonly exclusive: boolean
  readonly done: Latch.Latch
}

/** @internal */
export interface RangeLock {
  /**
   * Runs `effect` holding `[start, end)`: shared when `exclusive` is false
   * (reads), alone otherwise (writes, discards, resizes). Waiting for the
   * range can be interrupted; once the range is held, `effect` runs to the
   * end without interruption, because the operating system would finish the
   * I/O anyway and the range must stay held until it has.
   */
  readonly withRange: <A, E, R>(
    start: number,
    end: number,
    exclusive: boolean,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
}

/** @internal */
export const makeUnsafe = (): RangeLock => {
  const entries: Array<Entry> = []
  const withRange = <A, E, R>(start: number, end: number, exclusive: boolean, effect: Effect.Effect<A, E, R>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const waits: Array<Effect.Effect<void>> = []
        for (const other of entries) {
          if ((exclusive || other.exclusive) && other.start < end && start < other.end) waits.push(other.done.await)
        }
        const entry: Entry = { start, end, exclusive, done: Latch.makeUnsafe(false) }
        entries.push(entry)
        const release = Effect.sync(() => {
          const index = entries.indexOf(entry)
          if (index >= 0) entries.splice(index, 1)
          entry.done.openUnsafe()
        })
        const run = waits.length === 0 ?
          effect :
          Effect.andThen(restore(Effect.all(waits, { discard: true })), effect)
        return Effect.ensuring(run, release)
      })
    )
  return { withRange }
}
