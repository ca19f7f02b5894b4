/**
 * Crash-testing the WAL store: run a workload under a `CrashSimulator`, then
 * crash into the states of every epoch it recorded and check what recovery
 * returns against what the workload had been told.
 *
 * The oracle: a commit acknowledged before the crash point must be there;
 * the one commit in flight at the crash (if any) may be there or not, but
 * all of its entries or none; nothing else may appear, and recovery must
 * not fail. Acknowledgements are `mark`s, so every crash state carries the
 * list of commits acknowledged before it.
 *
 * @since 0.1.0
 */
import type { BlockDevice, WriteError } from "@effect-block/block"
import { CrashSimulator, type CrashState } from "@effect-block/testing"
import * as Effect from "effect/Effect"
import { type Entry, open, recover, type Variant, type WalCorrupt, type WalFull } from "./Store.js"

/**
 * A workload: commits, in order.
 *
 * @since 0.1.0
 */
export type Workload = ReadonlyArray<ReadonlyArray<Entry>>

const ackLabel = (commit: number) => `acked commit ${commit}`

/**
 * Runs `workload` on a fresh store, marking each commit once acknowledged.
 *
 * @since 0.1.0
 */
export const runWorkload = (
  variant: Variant,
  workload: Workload
): Effect.Effect<void, WriteError | WalCorrupt | WalFull, BlockDevice | CrashSimulator> =>
  Effect.gen(function*() {
    const simulator = yield* CrashSimulator
    const store = yield* open(variant)
    for (let i = 0; i < workload.length; i++) {
      yield* store.commit(workload[i] ?? [])
      yield* simulator.mark(ackLabel(i))
    }
  })

/** The contents after the first `commits` commits of `workload`. */
const contentsAfter = (workload: Workload, commits: number): Map<string, string> => {
  const contents = new Map<string, string>()
  for (const batch of workload.slice(0, commits)) for (const [key, value] of batch) contents.set(key, value)
  return contents
}

const sameContents = (a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>) =>
  a.size === b.size && [...a].every(([key, value]) => b.get(key) === value)

const show = (contents: ReadonlyMap<string, string>) => `{${[...contents].map(([k, v]) => `${k}=${v}`).join(", ")}}`

/**
 * A crash state in which recovery did not return the committed keys.
 *
 * @since 0.1.0
 */
export interface Violation {
  /** Position of the state in the exploration order, from 0. */
  readonly index: number
  readonly state: CrashState
  /** What went wrong, for the test output. */
  readonly message: string
}

/**
 * What an exploration found.
 *
 * @since 0.1.0
 */
export interface Exploration {
  /** How many crash states were checked. */
  readonly explored: number
  /** The first state that broke the oracle (exploration stops there), if any. */
  readonly violation: Violation | undefined
}

/**
 * Options of {@link exploreCrashes}, passed on to `CrashSimulator.states`.
 *
 * @since 0.1.0
 */
export interface ExploreOptions {
  readonly torn?: boolean | undefined
  readonly limit?: number | undefined
  readonly seed?: number | undefined
}

/**
 * Crashes into the states of every epoch recorded so far, epoch by epoch,
 * recovering and checking after each one. Run it after {@link runWorkload}.
 *
 * @since 0.1.0
 */
export const exploreCrashes = (
  workload: Workload,
  options: ExploreOptions = {}
): Effect.Effect<Exploration, WriteError, BlockDevice | CrashSimulator> =>
  Effect.gen(function*() {
    const simulator = yield* CrashSimulator
    // Crashing adds epochs; explore only those the workload recorded.
    const epochs = yield* simulator.epochs
    let explored = 0
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const state of yield* simulator.states({ ...options, epoch })) {
        const index = explored++
        yield* simulator.crash(state)
        const acked = state.marks.filter((label) => label.startsWith("acked commit ")).length
        const must = contentsAfter(workload, acked)
        const may = acked < workload.length ? contentsAfter(workload, acked + 1) : must
        const outcome = yield* Effect.result(recover)
        if (outcome._tag === "Failure") {
          return { explored, violation: { index, state, message: `recovery failed: ${outcome.failure.message}` } }
        }
        const got = outcome.success.entries
        if (!sameContents(got, must) && !sameContents(got, may)) {
          return {
            explored,
            violation: {
              index,
              state,
              message: `recovered ${show(got)}; expected ${show(must)}${may === must ? "" : ` or ${show(may)}`}`
            }
          }
        }
      }
    }
    return { explored, violation: undefined }
  })
