/**
 * Crash exploration: the loop every crash test runs, as a library function.
 * Run the workload on the simulated devices, then at every barrier it
 * recorded list the post-crash states, crash into each, let the caller
 * recover and check, and count what broke, with progress, a summary and a
 * seed that replays it. `exploreWorkloads` puts that under a property over
 * generated workloads, so a failing workload shrinks to a small one.
 *
 * @since 0.2.0
 */
import type { InvalidRequest, WriteError } from "@effect-block/block"
import * as Arbitrary from "effect/Arbitrary"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import { CrashSimulator } from "./CrashSimulator.js"
import type { CrashState } from "./CrashState.js"
import { makeRandom } from "./internal/CrashStates.js"

/**
 * One state whose check failed.
 *
 * @since 0.2.0
 */
export interface Violation {
  /** The failure's `_tag` when it has one, `"defect"` for a defect, `"failure"` otherwise. */
  readonly kind: string
  /** The failure's message. */
  readonly message: string
  /** The state crashed into; `state.describe()` says what each pending write was and whether it landed. */
  readonly state: CrashState
  /** Its position in its epoch's list: with the summary's seed, `explore({ only: { epoch, index } })` replays it. */
  readonly index: number
}

/**
 * How far an exploration has got, reported every `progressEvery` states.
 *
 * @since 0.2.0
 */
export interface ExploreProgress {
  readonly explored: number
  readonly violations: number
  /** The epoch being explored, and how many the workload recorded. */
  readonly epoch: number
  readonly epochs: number
  readonly elapsedMillis: number
}

/**
 * What an exploration found.
 *
 * @since 0.2.0
 */
export interface ExploreSummary {
  /** States crashed into and checked. */
  readonly explored: number
  /** Epochs the workload recorded (each ended by a barrier, plus the open one). */
  readonly epochs: number
  /** Every epoch's list was exhaustive (no sampling anywhere). */
  readonly exhaustive: boolean
  /** How many checks failed, in all and by kind. */
  readonly violationCount: number
  readonly violationsByKind: Readonly<Record<string, number>>
  /** The first violations found (at most `keepViolations`). */
  readonly violations: ReadonlyArray<Violation>
  readonly elapsedMillis: number
  readonly statesPerSecond: number
  /**
   * Of `elapsedMillis`, the time spent in the simulator itself (listing
   * states and crashing into them); the rest is the workload's recovery and
   * the checks.
   */
  readonly simulatorMillis: number
  /** The seed the samples were drawn from: pass it again to explore the same states. */
  readonly seed: number
  /** The exploration stopped early (`stopAfter` violations or `maxStates` states reached). */
  readonly stoppedEarly: boolean
}

/**
 * Options of {@link explore}.
 *
 * @since 0.2.0
 */
export interface ExploreOptions<E1, E2, R> {
  /** Runs on the simulated devices first; mark what it acknowledges (`CrashSimulator.mark`). */
  readonly workload: Effect.Effect<void, E1, R>
  /** Recovers after a crash into `state` and checks the result: any failure is a violation. */
  readonly check: (state: CrashState) => Effect.Effect<void, E2, R>
  /** Seed of every epoch's sample. Default 0. */
  readonly seed?: number | undefined
  /** Passed on to `states()` for every epoch. */
  readonly limit?: number | undefined
  readonly torn?: boolean | undefined
  readonly damage?: "none" | "zeros" | "garbage" | undefined
  /** Stop after this many violations. Default: explore everything. */
  readonly stopAfter?: number | undefined
  /** Stop after this many states. Default: no limit. */
  readonly maxStates?: number | undefined
  /** Keep at most this many violations in the summary. Default 10. */
  readonly keepViolations?: number | undefined
  /** Explore only this state (replaying a violation). */
  readonly only?: { readonly epoch: number; readonly index: number } | undefined
  /** Called every `progressEvery` states (default 100) and once at the end. */
  readonly onProgress?: ((progress: ExploreProgress) => Effect.Effect<void, never, R>) | undefined
  readonly progressEvery?: number | undefined
}

const kindOf = (cause: Cause.Cause<unknown>): { kind: string; message: string } => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") {
    const value: unknown = error.value
    const tagged = typeof value === "object" && value !== null
    const tag = tagged && "_tag" in value && typeof value._tag === "string" ? value._tag : "failure"
    const message = tagged && "message" in value && typeof value.message === "string" ? value.message : String(value)
    return { kind: tag, message }
  }
  return { kind: "defect", message: Cause.pretty(cause) }
}

/** The seed of epoch `epoch`'s sample, derived from the exploration's seed. */
const epochSeed = (seed: number, epoch: number): number =>
  makeRandom((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).nextSeed()

/**
 * Runs `workload` on the simulated devices, then explores every epoch it
 * recorded: lists the epoch's crash states, crashes into each, runs
 * `check`, and counts the violations. Memory stays bounded: the history is
 * forgotten as the exploration goes (the states of each epoch are listed
 * before it starts). Fails with the workload's errors, and with the
 * devices' errors while crashing; a failing `check` is a violation, never
 * a failure of `explore`.
 *
 * @example
 * ```ts
 * import { BlockDevice } from "@effect-block/block"
 * import { RamdiskLive, RegistryLive } from "@effect-block/ramdisk"
 * import { CrashSimulator, CrashSimulatorLive, explore, formatSummary } from "@effect-block/testing"
 * import { Effect, Layer } from "effect"
 *
 * const Disk = RamdiskLive({ name: "demo", sizeSectors: 16 }).pipe(Layer.provide(RegistryLive))
 *
 * const program = Effect.gen(function*() {
 *   const device = yield* BlockDevice
 *   const simulator = yield* CrashSimulator
 *   const summary = yield* explore({
 *     workload: Effect.gen(function*() {
 *       yield* device.write(1, new Uint8Array(512).fill(1)) // the record
 *       yield* device.write(0, new Uint8Array(512).fill(1)) // the header pointing at it: no flush between
 *       yield* device.flush
 *       yield* simulator.mark("acked")
 *     }),
 *     check: () =>
 *       Effect.gen(function*() {
 *         const header = new Uint8Array(512)
 *         const record = new Uint8Array(512)
 *         yield* device.read(0, header)
 *         yield* device.read(1, record)
 *         if (header[0] === 1 && record[0] !== 1) return yield* Effect.fail(new Error("header without its record"))
 *       })
 *   })
 *   return formatSummary(summary) // 1 violation: the header landed without the record
 * }).pipe(Effect.provide(CrashSimulatorLive({ backend: "snapshot" }).pipe(Layer.provide(Disk))))
 *
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.2.0
 */
export const explore = <E1, E2, R>(
  options: ExploreOptions<E1, E2, R>
): Effect.Effect<ExploreSummary, E1 | InvalidRequest | WriteError, R | CrashSimulator> =>
  Effect.gen(function*() {
    const simulator = yield* CrashSimulator
    const seed = options.seed ?? 0
    const keep = options.keepViolations ?? 10
    const every = Math.max(1, options.progressEvery ?? 100)
    yield* options.workload
    // The summary reports real speed, so it reads the machine's monotonic clock (sub-millisecond: most
    // simulator calls take well under a millisecond), not Effect's Clock, which a TestClock stops.
    const now = Effect.sync(() => performance.now())
    const start = yield* now
    let simulatorMillis = 0
    /** Runs a simulator call, adding its time to `simulatorMillis`. */
    const timed = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const before = yield* now
        const result = yield* effect
        simulatorMillis += (yield* now) - before
        return result
      })
    const first = yield* simulator.firstEpoch
    const epochs = yield* simulator.epochs
    // List every epoch's states while the history holds them; then the history can go.
    // Listing stops once `maxStates` states are listed: states that would never be explored cost nothing.
    const lists: Array<ReadonlyArray<CrashState> | undefined> = []
    let exhaustive = true
    let listed = 0
    let unlisted = false
    for (let epoch = first; epoch < epochs; epoch++) {
      if (options.only !== undefined && options.only.epoch !== epoch) {
        lists.push(undefined)
        continue
      }
      if (options.maxStates !== undefined && listed >= options.maxStates) {
        exhaustive = false
        unlisted = true
        lists.push(undefined)
        continue
      }
      const states = yield* timed(simulator.states({
        epoch,
        seed: epochSeed(seed, epoch),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
        ...(options.torn === undefined ? {} : { torn: options.torn }),
        ...(options.damage === undefined ? {} : { damage: options.damage })
      }))
      exhaustive &&= states.coverage.exhaustive
      listed += states.length
      lists.push(states)
    }
    yield* simulator.forget
    let explored = 0
    let violationCount = 0
    let stoppedEarly = false
    const byKind: Record<string, number> = {}
    const violations: Array<Violation> = []
    const progress = (epoch: number) =>
      options.onProgress === undefined ? Effect.void : Effect.flatMap(now, (at) =>
        options.onProgress?.({ explored, violations: violationCount, epoch, epochs, elapsedMillis: at - start }) ??
          Effect.void)
    outer: for (let e = 0; e < lists.length; e++) {
      const states = lists[e]
      lists[e] = undefined
      if (states === undefined) continue
      for (let index = 0; index < states.length; index++) {
        if (options.only !== undefined && options.only.index !== index) continue
        const state = states[index]
        if (state === undefined) continue
        if (options.maxStates !== undefined && explored >= options.maxStates) {
          stoppedEarly = true
          break outer
        }
        yield* timed(simulator.crash(state))
        const exit = yield* Effect.exit(options.check(state))
        explored++
        // Crashing and recovering add epochs: forget them so memory stays bounded.
        yield* timed(simulator.forget)
        if (Exit.isFailure(exit)) {
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
          const { kind, message } = kindOf(exit.cause)
          violationCount++
          byKind[kind] = (byKind[kind] ?? 0) + 1
          if (violations.length < keep) violations.push({ kind, message, state, index })
          if (options.stopAfter !== undefined && violationCount >= options.stopAfter) {
            stoppedEarly = true
            break outer
          }
        }
        if (explored % every === 0) yield* progress(state.epoch)
      }
    }
    const elapsedMillis = (yield* now) - start
    yield* progress(epochs - 1)
    return {
      explored,
      epochs: epochs - first,
      exhaustive,
      violationCount,
      violationsByKind: byKind,
      violations,
      elapsedMillis,
      statesPerSecond: elapsedMillis > 0 ? explored * 1000 / elapsedMillis : explored === 0 ? 0 : Infinity,
      simulatorMillis,
      seed,
      stoppedEarly: stoppedEarly || unlisted
    }
  })

/**
 * A summary as a few lines for test output: counts, rate, violations by
 * kind, the first violation described write by write, and the replay seed.
 *
 * @since 0.2.0
 */
export const formatSummary = (summary: ExploreSummary): string => {
  const rate = Number.isFinite(summary.statesPerSecond) ? summary.statesPerSecond.toFixed(0) : "∞"
  const share = summary.elapsedMillis > 0 ?
    `, ${(summary.simulatorMillis * 100 / summary.elapsedMillis).toFixed(0)}% of it in the simulator` :
    ""
  const lines = [
    `explored ${summary.explored} crash states over ${summary.epochs} epochs (${
      summary.exhaustive ? "exhaustive" : "sampled"
    }${summary.stoppedEarly ? ", stopped early" : ""}) in ${(summary.elapsedMillis / 1000).toFixed(2)} s, ${rate} states/s${share}`
  ]
  const kinds = Object.entries(summary.violationsByKind).map(([kind, count]) => `${kind}: ${count}`)
  lines.push(summary.violationCount === 0 ? "no violations" : `${summary.violationCount} violations (${kinds.join(", ")})`)
  const firstViolation = summary.violations[0]
  if (firstViolation !== undefined) {
    lines.push(`first: [${firstViolation.kind}] ${firstViolation.message}`)
    lines.push(firstViolation.state.describe())
    lines.push(
      `replay: explore({ seed: ${summary.seed}, only: { epoch: ${firstViolation.state.epoch}, index: ${firstViolation.index} }, ... })`
    )
  } else {
    lines.push(`seed: ${summary.seed}`)
  }
  return lines.join("\n")
}

/**
 * Options of {@link exploreWorkloads}: {@link explore}'s, with the workload
 * and the check taking a generated input.
 *
 * @since 0.2.0
 */
export interface ExploreWorkloadsOptions<A, E1, E2, LE, R> extends
  Omit<ExploreOptions<E1, E2, R>, "workload" | "check" | "only">
{
  /** Generates the inputs (shrunk on failure). */
  readonly arbitrary: Arbitrary.Arbitrary<A>
  /** The simulated devices, built afresh for every input. */
  readonly layer: Layer.Layer<R | CrashSimulator, LE>
  readonly workload: (input: A) => Effect.Effect<void, E1, R | CrashSimulator>
  readonly check: (input: A, state: CrashState) => Effect.Effect<void, E2, R | CrashSimulator>
  /** Inputs to try (default 20) and the generator's seed (default `seed`). */
  readonly runs?: number | undefined
  readonly size?: number | undefined
  readonly replay?: Arbitrary.Replay | undefined
}

/**
 * Explores generated workloads until one has a violation, then shrinks it
 * to a smaller failing input: the property "every crash state of every
 * workload passes `check`". Returns the property check's result (`Passed`,
 * or `Falsified` with the shrunk input and a replay token) and a printable
 * report (`Arbitrary.formatCheckFailure` plus the shrunk input's summary).
 *
 * @since 0.2.0
 */
export const exploreWorkloads = <A, E1, E2, LE, R>(
  options: ExploreWorkloadsOptions<A, E1, E2, LE, R>
): Effect.Effect<
  { readonly result: Arbitrary.CheckResult<A, E1 | LE | InvalidRequest | WriteError>; readonly report: string }
> =>
  Effect.gen(function*() {
    const summaries = new Map<A, ExploreSummary>()
    const { arbitrary, check, layer, replay, runs, size, workload, ...rest } = options
    const result = yield* Arbitrary.checkEffect(
      arbitrary,
      (input) =>
        explore({ ...rest, workload: workload(input), check: (state) => check(input, state) }).pipe(
          // A fresh subtree for every input, even if the same layer is provided around this call.
          Effect.provide(layer, { local: true }),
          Effect.map((summary) => {
            summaries.set(input, summary)
            return summary.violationCount === 0
          })
        ),
      {
        runs: runs ?? 20,
        seed: options.seed ?? 0,
        ...(size === undefined ? {} : { size }),
        ...(replay === undefined ? {} : { replay })
      }
    )
    const failure = Arbitrary.formatCheckFailure(result)
    const shrunk = result._tag === "Falsified" ? summaries.get(result.shrunkInput) : undefined
    const report = [failure ?? `passed: ${result._tag === "Passed" ? result.runs : 0} workloads`, shrunk && formatSummary(shrunk)]
      .filter((line): line is string => typeof line === "string")
      .join("\n")
    return { result, report }
  })
