/**
 * The file-device benchmark of issue 4: sequential 1 MiB writes and reads
 * through the effect-block file device against plain `node:fs` positional
 * writes and reads (`FileHandle.write`/`read` with an explicit position) on
 * the same file, at the same offsets, with the same buffer. The target is the
 * file device reaching at least 0.8× of plain `node:fs`. Each timed sample
 * sweeps the whole 256 MiB file four times; the ratio is the median of the
 * per-repetition ratios.
 *
 * Informational rows add 4 KiB random I/O, where the device's per-request
 * work (validation, the range lock, one Effect step) weighs most.
 *
 * The file lives in a fresh directory under the system temporary directory,
 * removed afterwards. Both contenders go through the page cache, so this
 * measures what the device adds on top of the system calls, not the disk.
 */
import { FileDevice } from "@effect-block/file"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  atLeast,
  type Contender,
  deviceContender,
  measureRoundRobin,
  median,
  progress,
  Quick,
  randomBlocks,
  ratio,
  type Row,
  type Suite,
  type Transfers
} from "./harness.js"

const KiB = 1024
const MiB = 1024 * KiB
const sectorSize = 512

/** How much work each part does; `quick` is a smoke test of the suite, not a measurement. */
interface Scale {
  readonly fileBytes: number
  /** Sequential passes over the whole file per timed sample, so a sample lasts long enough to time. */
  readonly sweeps: number
  readonly randomOps: number
  readonly repetitions: number
}

const fullScale: Scale = { fileBytes: 256 * MiB, sweeps: 4, randomOps: 20_000, repetitions: 9 }
const quickScale: Scale = { fileBytes: 16 * MiB, sweeps: 1, randomOps: 1_000, repetitions: 2 }

/** Same offsets for every contender: the seed is fixed. */
const offsetSeed = 0xf11e_b10c

/** Plain `node:fs`: one awaited positional call per transfer, looping over short transfers as the device does. */
const fsContender = (handle: Fs.FileHandle): Contender => ({
  name: "node:fs positional",
  write: (offsets, buffer) =>
    Effect.tryPromise(async () => {
      for (let i = 0; i < offsets.length; i++) {
        const position = offsets[i] ?? 0
        for (let done = 0; done < buffer.byteLength;) {
          done += (await handle.write(buffer, done, buffer.byteLength - done, position + done)).bytesWritten
        }
      }
    }),
  read: (offsets, buffer) =>
    Effect.tryPromise(async () => {
      for (let i = 0; i < offsets.length; i++) {
        const position = offsets[i] ?? 0
        for (let done = 0; done < buffer.byteLength;) {
          const { bytesRead } = await handle.read(buffer, done, buffer.byteLength - done, position + done)
          if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`)
          done += bytesRead
        }
      }
    })
})

interface Workload extends Transfers {
  readonly name: string
  /** The device's required share of plain `node:fs` throughput; informational when absent. */
  readonly target?: number | undefined
}

/** MiB/s of each contender in each repetition of `workload`. */
const measure = (workload: Workload, contenders: ReadonlyArray<Contender>, repetitions: number) =>
  Effect.map(
    measureRoundRobin(workload, contenders, repetitions, new Uint8Array(workload.bytesPerOp)),
    (samples) => samples.map((pass) => pass.map((sample) => sample.mibPerSecond))
  )

/**
 * Each contender's median, and the device's ratio to `node:fs` as the median
 * of the per-repetition ratios: pairing the two passes of a repetition keeps
 * a change in machine load between repetitions out of the ratio.
 */
const rowsOf = (workload: Workload, contenders: ReadonlyArray<Contender>, samples: ReadonlyArray<ReadonlyArray<number>>) => {
  const [device = [], fs = []] = samples
  const rows: Array<Row> = contenders.map((contender, index) => ({
    name: `file ${workload.name}: ${contender.name}`,
    value: median(samples[index] ?? []),
    unit: "MiB/s"
  }))
  rows.push({
    name: `file ${workload.name}: device / node:fs`,
    value: median(device.map((value, index) => ratio(value, fs[index] ?? Number.NaN))),
    unit: "×",
    target: workload.target === undefined ? undefined : atLeast(workload.target)
  })
  return rows
}

/**
 * Runs the file-device measurements at `scale` in a temporary directory and
 * returns their rows. Exported for harnesses that pick their own scale.
 */
export const runFileBenchmark = (scale: Scale): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "effect-block-bench-file-"))),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    )
    const path = Path.join(dir, "disk.img")
    const sizeSectors = scale.fileBytes / sectorSize
    const device = yield* FileDevice.make({ path, create: { sizeSectors } })
    const handle = yield* Effect.acquireRelease(
      Effect.promise(() => Fs.open(path, "r+")),
      (handle) => Effect.promise(() => handle.close())
    )
    const contenders = [deviceContender("file device", device, sectorSize), fsContender(handle)]

    const chunks = scale.fileBytes / MiB
    const sequential = Float64Array.from({ length: chunks * scale.sweeps }, (_, i) => (i % chunks) * MiB)
    const random = randomBlocks(offsetSeed, scale.randomOps, scale.fileBytes / (4 * KiB)).map((block) => block * 4 * KiB)
    const workloads: ReadonlyArray<Workload> = [
      { name: "1 MiB sequential write", kind: "write", offsets: sequential, bytesPerOp: MiB, target: 0.8 },
      { name: "1 MiB sequential read", kind: "read", offsets: sequential, bytesPerOp: MiB, target: 0.8 },
      { name: "4 KiB random write", kind: "write", offsets: random, bytesPerOp: 4 * KiB },
      { name: "4 KiB random read", kind: "read", offsets: random, bytesPerOp: 4 * KiB }
    ]
    const rows: Array<Row> = []
    for (const workload of workloads) {
      yield* progress(`file: ${workload.name}, ${workload.offsets.length} requests over a ${scale.fileBytes / MiB} MiB file`)
      rows.push(...rowsOf(workload, contenders, yield* measure(workload, contenders, scale.repetitions)))
    }
    return rows
  }))

/** The file-device benchmark suite: full scale, or the quick smoke scale under `--quick`. */
export const suite: Suite = {
  name: "file",
  run: Effect.flatMap(Quick, (quick) => runFileBenchmark(quick ? quickScale : fullScale))
}
