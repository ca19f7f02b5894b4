/**
 * The benchmark harness: what a result row is, how a row is judged against
 * its target, how rows are printed (plain text and markdown), and the small
 * measuring tools every suite shares (a seeded PRNG for offsets, repeated
 * timing with a median, heap snapshots after a forced collection, and
 * contenders timed round-robin over the same transfers).
 *
 * Everything that does not touch the clock or the garbage collector is pure,
 * so the table and the verdicts can be unit-tested.
 */
import type { BlockDeviceShape } from "@effect-block/block"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Net from "node:net"

/**
 * A bound a measured value must respect: `atLeast` (value ≥ bound) or
 * `atMost` (value ≤ bound) or `below` (value < bound).
 */
export interface Target {
  readonly kind: "atLeast" | "atMost" | "below"
  readonly bound: number
}

/** value ≥ bound. */
export const atLeast = (bound: number): Target => ({ kind: "atLeast", bound })
/** value ≤ bound. */
export const atMost = (bound: number): Target => ({ kind: "atMost", bound })
/** value < bound. */
export const below = (bound: number): Target => ({ kind: "below", bound })

/** One line of the result table. A row without a target is informational. */
export interface Row {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly target?: Target | undefined
}

/** A group of measurements; `run` produces its rows. Suites run one after another. */
export interface Suite {
  readonly name: string
  readonly run: Effect.Effect<ReadonlyArray<Row>, unknown>
}

/**
 * When true, suites shrink their workloads so the whole benchmark runs in
 * seconds (`--quick`): to check that it works, not to measure.
 */
export const Quick = Context.Reference<boolean>("@effect-block/bench/Quick", { defaultValue: () => false })

/** Whether the row meets its target: "pass", "MISS", or "" for an informational row. */
export const verdict = (row: Row): "pass" | "MISS" | "" => {
  const { target } = row
  if (target === undefined) return ""
  if (!Number.isFinite(row.value)) return "MISS"
  const ok = target.kind === "atLeast" ?
    row.value >= target.bound :
    target.kind === "atMost" ?
    row.value <= target.bound :
    row.value < target.bound
  return ok ? "pass" : "MISS"
}

/** A number for people: three significant digits, thousands grouped, no exponent. */
export const formatNumber = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞"
  const magnitude = Math.abs(value)
  if (magnitude >= 1000) return Math.round(value).toLocaleString("en-US")
  if (magnitude === 0) return "0"
  if (magnitude >= 100) return value.toFixed(0)
  if (magnitude >= 10) return value.toFixed(1)
  if (magnitude >= 1) return value.toFixed(2)
  return value.toPrecision(3)
}

/** The target as text, e.g. "≥ 0.5", "< 0.5 s". */
export const formatTarget = (row: Row): string => {
  const { target } = row
  if (target === undefined) return "—"
  const symbol = target.kind === "atLeast" ? "≥" : target.kind === "atMost" ? "≤" : "<"
  return `${symbol} ${formatNumber(target.bound)}`
}

const headers = ["benchmark", "value", "unit", "target", "result"] as const

const cells = (row: Row): ReadonlyArray<string> => [
  row.name,
  formatNumber(row.value),
  row.unit,
  formatTarget(row),
  verdict(row)
]

/** The rows as an aligned plain-text table (numbers right-aligned). */
export const formatTable = (rows: ReadonlyArray<Row>): string => {
  const lines = [headers as ReadonlyArray<string>, ...rows.map(cells)]
  const widths = headers.map((_, column) => Math.max(...lines.map((line) => [...(line[column] ?? "")].length)))
  const pad = (text: string, width: number, right: boolean) => {
    const fill = " ".repeat(width - [...text].length)
    return right ? fill + text : text + fill
  }
  const render = (line: ReadonlyArray<string>) =>
    line.map((cell, column) => pad(cell, widths[column] ?? 0, column === 1)).join("  ").trimEnd()
  const rule = widths.map((width) => "-".repeat(width)).join("  ")
  const [head, ...body] = lines
  return [render(head ?? []), rule, ...body.map(render)].join("\n") + "\n"
}

const escapeMarkdown = (text: string): string => text.replace(/\|/g, "\\|")

/** The rows as a GitHub-flavoured markdown table. */
export const formatMarkdown = (rows: ReadonlyArray<Row>): string => {
  const line = (values: ReadonlyArray<string>) => `| ${values.map(escapeMarkdown).join(" | ")} |`
  return [
    line(headers),
    "|---|---:|---|---|---|",
    ...rows.map((row) => {
      const [name = "", value = "", unit = "", target = "", result = ""] = cells(row)
      return line([name, value, unit, target, result === "MISS" ? "**MISS**" : result])
    })
  ].join("\n") + "\n"
}

/** The median of a non-empty list (the mean of the middle two for an even count); NaN if empty. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] ?? Number.NaN : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

/** `value / reference`, NaN when the reference is zero or not finite. */
export const ratio = (value: number, reference: number): number =>
  reference === 0 || !Number.isFinite(reference) ? Number.NaN : value / reference

/**
 * A small, fast, seeded PRNG (mulberry32): the same seed gives the same
 * sequence, so every contender is handed the same offsets and a run can be
 * reproduced. Returns floats in [0, 1).
 */
export const prng = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * `count` random block numbers in `[0, blocks)` from `seed`. Two draws per
 * number, so `blocks` may exceed 2^32 (a 1 PiB device has 2^38 pages).
 */
export const randomBlocks = (seed: number, count: number, blocks: number): Float64Array => {
  const next = prng(seed)
  const out = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const unit = next() + next() / 4294967296
    out[i] = Math.min(blocks - 1, Math.floor(unit * blocks))
  }
  return out
}

/** Throughput figures of one timed pass. */
export interface Throughput {
  readonly opsPerSecond: number
  readonly mibPerSecond: number
}

/** Ops/s and MiB/s for `ops` operations of `bytesPerOp` bytes taking `milliseconds`. */
export const throughput = (ops: number, bytesPerOp: number, milliseconds: number): Throughput => {
  const seconds = milliseconds / 1000
  return { opsPerSecond: ops / seconds, mibPerSecond: ops * bytesPerOp / (1024 * 1024) / seconds }
}

/** The current high-resolution time in milliseconds. */
export const now: Effect.Effect<number> = Effect.sync(() => performance.now())

/** Milliseconds `effect` takes, and its result. */
export const timed = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<readonly [number, A], E> =>
  Effect.gen(function*() {
    const start = performance.now()
    const result = yield* effect
    return [performance.now() - start, result] as const
  })

/** Runs a full collection when node was started with `--expose-gc`; otherwise does nothing. */
export const collectGarbage: Effect.Effect<void> = Effect.sync(() => {
  const gc = globalThis.gc
  if (gc !== undefined) {
    gc()
    gc()
  }
})

/** Whether heap measurements are meaningful (node was started with `--expose-gc`). */
export const canCollectGarbage = (): boolean => globalThis.gc !== undefined

/** Heap plus off-heap (ArrayBuffer) bytes in use after a full collection. */
export const liveBytes: Effect.Effect<number> = Effect.andThen(collectGarbage, () =>
  Effect.sync(() => {
    const usage = process.memoryUsage()
    return usage.heapUsed + usage.external
  }))

/** Writes a progress note to stderr, so stdout carries only the table. */
export const progress = (message: string): Effect.Effect<void> =>
  Effect.sync(() => {
    process.stderr.write(`[bench] ${message}\n`)
  })

/** One pass of a workload: each of `offsets` (bytes) gets one transfer of `buffer`. */
export type Pass<B extends Uint8Array = Uint8Array> = (offsets: Float64Array, buffer: B) => Effect.Effect<void, unknown>

/** One implementation under test, with its write and read passes. */
export interface Contender<B extends Uint8Array = Uint8Array> {
  readonly name: string
  readonly write: Pass<B>
  readonly read: Pass<B>
}

/**
 * A block device as a contender, driven by one Effect program per pass
 * looping over `device.write` / `device.read`, as an application would.
 */
export const deviceContender = (name: string, device: BlockDeviceShape, sectorSize: number): Contender => ({
  name,
  write: (offsets, buffer) =>
    Effect.gen(function*() {
      for (let i = 0; i < offsets.length; i++) yield* device.write((offsets[i] ?? 0) / sectorSize, buffer)
    }),
  read: (offsets, buffer) =>
    Effect.gen(function*() {
      for (let i = 0; i < offsets.length; i++) yield* device.read((offsets[i] ?? 0) / sectorSize, buffer)
    })
})

/** What a throughput workload does: which pass, at which offsets (bytes), how many bytes each transfer moves. */
export interface Transfers {
  readonly kind: "write" | "read"
  readonly offsets: Float64Array
  readonly bytesPerOp: number
}

/**
 * The throughput of each contender in each repetition of `transfers`
 * (`samples[contender][repetition]`), all using `buffer` after it is filled
 * with a fixed non-zero pattern. Contenders are timed round-robin after one
 * warm-up pass each, so the contenders of one repetition see the same machine.
 */
export const measureRoundRobin = <B extends Uint8Array>(
  transfers: Transfers,
  contenders: ReadonlyArray<Contender<B>>,
  repetitions: number,
  buffer: B
): Effect.Effect<ReadonlyArray<ReadonlyArray<Throughput>>, unknown> =>
  Effect.gen(function*() {
    for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 131 + 7) & 0xff
    const pass = (contender: Contender<B>) => contender[transfers.kind](transfers.offsets, buffer)
    for (const contender of contenders) yield* pass(contender)
    const samples: Array<Array<Throughput>> = contenders.map(() => [])
    for (let repetition = 0; repetition < repetitions; repetition++) {
      for (const [index, contender] of contenders.entries()) {
        yield* collectGarbage
        const [milliseconds] = yield* timed(pass(contender))
        samples[index]?.push(throughput(transfers.offsets.length, transfers.bytesPerOp, milliseconds))
      }
    }
    return samples
  })

/**
 * Resolves once a server accepts connections on the Unix socket at `path`
 * (polling every 10 ms, at most `attempts` times). The socket file appears
 * when the server binds, a moment before it listens, so its existence alone
 * lets a client in too early (ECONNREFUSED).
 */
export const untilAccepting = async (path: string, attempts: number): Promise<void> => {
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const probe = Net.connect(path)
      probe.once("connect", () => {
        probe.destroy()
        resolve(true)
      })
      probe.once("error", () => resolve(false))
    })
  for (let i = 0; i < attempts; i++) {
    if (await accepts()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

