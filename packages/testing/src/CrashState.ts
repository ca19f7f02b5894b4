/**
 * The values the crash simulator hands out: a post-crash state, the
 * description of each write that was pending, and what a list of states
 * covers. Plain data a test can print, compare and crash into.
 *
 * @since 0.2.0
 */

/**
 * One write-type operation that was pending (not yet made durable by a
 * flush of its device) at a crash point.
 *
 * @since 0.2.0
 */
export interface PendingWrite {
  /** Its index among the pending writes of the state, in issue order, from 0. */
  readonly index: number
  /** The device of the power domain it went to (0 for a single-device simulator). */
  readonly device: number
  /** What it was. */
  readonly operation: "write" | "discard" | "resize"
  /** First sector written; for a resize, the smaller of the old and new size. */
  readonly sectorStart: number
  /** Sectors written; for a resize, how many sectors the size changed by. */
  readonly sectors: number
  /** For a resize, the new size; otherwise the device size when it was issued. */
  readonly sizeSectors: number
  /**
   * `"whole"`: it completed, and lands whole or not at all (in part only with
   * `torn`). `"unknown"`: it failed or was interrupted in flight, so any of
   * its sectors may or may not have landed.
   */
  readonly extent: "whole" | "unknown"
  /** The last `mark` recorded before it was issued, if any. */
  readonly after: string | undefined
}

/**
 * What a list of crash states covers.
 *
 * @since 0.2.0
 */
export interface Coverage {
  /** Every distinct state of the space is listed (otherwise the list is a sample). */
  readonly exhaustive: boolean
  /** How many landing combinations the space has, before deduplication by content (may be `Infinity`). */
  readonly space: number
  /** How many distinct states are listed. */
  readonly listed: number
  /** How many of them are in-order prefixes (the first k pending writes landed); always all of them. */
  readonly prefixes: number
  /** The seed the sample was drawn from: pass it as `states({ seed })` to list the same states again. */
  readonly seed: number
}

const range = (indices: ReadonlyArray<number>) => `[${indices.join(", ")}]`

/**
 * One state the devices may be in after a power failure: the durable image
 * of each device plus some of the pending writes. It is a self-contained
 * value, so it stays valid after other crashes and can be crashed into any
 * number of times, by the simulator that listed it.
 *
 * @since 0.1.0
 */
export class CrashState {
  /** The epoch the crash happens in. */
  readonly epoch: number
  /** How many write-type operations were pending at the crash point. */
  readonly writes: number
  /** Indices (in issue order, from 0) of the pending writes that landed in full. */
  readonly landed: ReadonlyArray<number>
  /** Indices of the pending writes that landed in part. */
  readonly torn: ReadonlyArray<number>
  /** Indices of the torn writes whose tear-point sector holds zeros or garbage (with `damage`). */
  readonly damaged: ReadonlyArray<number>
  /**
   * Every `mark` label recorded on this timeline before the crash point (in
   * order): what the program had done, and told its users, before the power
   * failed. An oracle treats what these marks acknowledge as must-survive.
   */
  readonly marks: ReadonlyArray<string>
  /** What each pending write was, by index. */
  readonly pending: ReadonlyArray<PendingWrite>

  /** Made by the simulator's `states()` and `crash()`; a state made any other way cannot be crashed into. */
  constructor(
    fields: {
      readonly epoch: number
      readonly writes: number
      readonly landed: ReadonlyArray<number>
      readonly torn: ReadonlyArray<number>
      readonly damaged: ReadonlyArray<number>
      readonly marks: ReadonlyArray<string>
      readonly pending: ReadonlyArray<PendingWrite>
    }
  ) {
    this.epoch = fields.epoch
    this.writes = fields.writes
    this.landed = fields.landed
    this.torn = fields.torn
    this.damaged = fields.damaged
    this.marks = fields.marks
    this.pending = fields.pending
  }

  /** One line for test output, e.g. `epoch 3: 2 of 4 writes landed [0, 2], torn [3]`. */
  toString(): string {
    const torn = this.torn.length === 0 ? "" : `, torn ${range(this.torn)}`
    const damaged = this.damaged.length === 0 ? "" : `, damaged ${range(this.damaged)}`
    return `epoch ${this.epoch}: ${this.landed.length} of ${this.writes} writes landed ${range(this.landed)}${torn}${damaged}`
  }

  /**
   * The line of `toString` followed by one line per pending write: what it
   * was, where, after which mark, and whether it landed, e.g.
   * `  #1 lost   write device 0 sectors 8..15 (after "acked commit 2")`.
   */
  describe(): string {
    const lines = [this.toString()]
    for (const write of this.pending) {
      const fate = this.landed.includes(write.index) ?
        "landed" :
        this.torn.includes(write.index) ?
        (this.damaged.includes(write.index) ? "torn+damaged" : "torn") :
        "lost"
      const where = write.operation === "resize" ?
        `to ${write.sizeSectors} sectors` :
        write.sectors === 1 ?
        `sector ${write.sectorStart}` :
        `sectors ${write.sectorStart}..${write.sectorStart + write.sectors - 1}`
      const extent = write.extent === "unknown" ? " [failed in flight: extent unknown]" : ""
      const after = write.after === undefined ? "" : ` (after ${JSON.stringify(write.after)})`
      lines.push(`  #${write.index} ${fate.padEnd(6)} ${write.operation} device ${write.device} ${where}${after}${extent}`)
    }
    return lines.join("\n")
  }
}

/**
 * The states `states()` lists: an array of {@link CrashState}, in search
 * order, that also says what it covers.
 *
 * @since 0.2.0
 */
export type CrashStates = ReadonlyArray<CrashState> & { readonly coverage: Coverage }
