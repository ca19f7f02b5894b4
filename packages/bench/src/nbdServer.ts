/**
 * The NBD server's benchmark (issue 9): `effect-block serve` (a ramdisk)
 * against nbdkit's `memory` plugin, same size, Unix sockets, the same real
 * clients, side by side in one run:
 *
 * - `qemu-img bench` 4 KiB reads and writes at queue depth 1 and 16;
 * - fio's `nbd` engine: 4 KiB random reads and writes at iodepth 1 and 16,
 *   and 1 MiB sequential reads and writes (iodepth 4);
 * - `nbdcopy` of a 1 GiB file into the export and back out (to `null:`).
 *
 * Each repetition starts both servers fresh, runs the workload on each
 * (alternating which goes first) and takes the ratio ours / nbdkit's; the
 * row is the median ratio, target ≥ 1.0. Both servers are separate
 * processes; the machine is shared, so only the ratios mean anything.
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { atLeast, median, progress, Quick, ratio, type Row, type Suite, untilAccepting } from "./harness.js"
import { cli, requireProgram as requireProgramFor, runProgram as run } from "./programs.js"

const MiB = 1024 * 1024
const GiB = 1024 * MiB

interface Scale {
  readonly qemuOps: number
  readonly fioSeconds: number
  readonly copyBytes: number
  readonly repetitions: number
}

const fullScale: Scale = { qemuOps: 40_000, fioSeconds: 3, copyBytes: GiB, repetitions: 3 }
const quickScale: Scale = { qemuOps: 2000, fioSeconds: 0.5, copyBytes: 32 * MiB, repetitions: 1 }


const requireProgram = requireProgramFor("NBD server", "qemu-utils, nbdkit, libnbd-bin, fio")

type Contender = "effect-block" | "nbdkit"

/** A fresh server of `bytes` on a Unix socket in `dir`, stopped with the scope. */
const server = (contender: Contender, dir: string, bytes: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const socket = Path.join(dir, `${contender}-${Math.random().toString(36).slice(2)}.sock`)
      const child = contender === "nbdkit"
        ? ChildProcess.spawn("nbdkit", ["-U", socket, "-f", "--exit-with-parent", "memory", String(bytes)], { stdio: "ignore" })
        : ChildProcess.spawn(process.execPath, [cli, "serve", "--size", String(bytes), "--socket", socket], {
          stdio: ["ignore", "pipe", "ignore"]
        })
      await untilAccepting(socket, 3000)
      return { child, uri: `nbd+unix:///?socket=${socket}` }
    }),
    ({ child }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve()
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
          child.once("exit", () => {
            clearTimeout(timer)
            resolve()
          })
          child.kill("SIGTERM")
        })
      )
  )

/** A workload: runs against a URI, returns a rate (higher is better). */
type Workload = (uri: string) => Effect.Effect<number, Error>

const qemuBench = (scale: Scale, write: boolean, depth: number): Workload => (uri) =>
  Effect.gen(function*() {
    const args = ["bench", "-f", "raw", "-t", "none", "-c", String(scale.qemuOps), "-d", String(depth), "-s", "4k"]
    if (write) args.push("-w")
    const start = performance.now()
    yield* run("qemu-img", [...args, uri])
    return scale.qemuOps / ((performance.now() - start) / 1000)
  })

const fio = (scale: Scale, rw: string, blockSize: string, depth: number): Workload => (uri) =>
  Effect.gen(function*() {
    const out = yield* run("fio", [
      "--name=bench",
      "--ioengine=nbd",
      `--uri=${uri}`,
      `--rw=${rw}`,
      `--bs=${blockSize}`,
      `--iodepth=${depth}`,
      "--size=256M",
      `--runtime=${scale.fioSeconds}`,
      "--time_based",
      "--output-format=json"
    ])
    // fio prints "fio: connected to NBD server" before the JSON.
    const job = JSON.parse(out.slice(out.indexOf("{"))).jobs[0]
    return rw.includes("read") ? job.read.bw_bytes : job.write.bw_bytes
  })

/** Seconds → rate for `nbdcopy`: bytes per second. */
const copy = (source: (uri: string) => string, destination: (uri: string) => string, bytes: number) => (uri: string) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* run("nbdcopy", [source(uri), destination(uri)])
    return bytes / ((performance.now() - start) / 1000)
  })

/** The median over repetitions of ours / nbdkit's for one workload, each on fresh servers. */
const compare = (dir: string, scale: Scale, bytes: number, workload: Workload, prepare: Workload) =>
  Effect.gen(function*() {
    const ratios: Array<number> = []
    const rates: Record<Contender, Array<number>> = { "effect-block": [], nbdkit: [] }
    for (let rep = 0; rep < scale.repetitions; rep++) {
      const order: ReadonlyArray<Contender> = rep % 2 === 0 ? ["effect-block", "nbdkit"] : ["nbdkit", "effect-block"]
      const measured: Partial<Record<Contender, number>> = {}
      for (const contender of order) {
        measured[contender] = yield* Effect.scoped(Effect.gen(function*() {
          const { uri } = yield* server(contender, dir, bytes)
          yield* prepare(uri)
          return yield* workload(uri)
        }))
        rates[contender].push(measured[contender]!)
      }
      ratios.push(ratio(measured["effect-block"]!, measured.nbdkit!))
    }
    return { ratio: median(ratios), ours: median(rates["effect-block"]), theirs: median(rates.nbdkit), ratios }
  })

/** The suite. */
export const suite: Suite = {
  name: "nbd-server",
  run: Effect.gen(function*() {
    for (const program of ["qemu-img", "nbdkit", "fio", "nbdcopy"]) yield* requireProgram(program)
    const scale = (yield* Quick) ? quickScale : fullScale
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-bench-nbd-"))
    const rows: Array<Row> = []
    const add = (name: string, unit: string, result: { ratio: number; ours: number; theirs: number; ratios: Array<number> }) => {
      rows.push({ name: `nbd server: ${name} vs nbdkit memory (ratio)`, value: result.ratio, unit: "×", target: atLeast(1) })
      rows.push({ name: `nbd server: ${name}, effect-block`, value: result.ours, unit })
      rows.push({ name: `nbd server: ${name}, nbdkit memory`, value: result.theirs, unit })
    }
    const size = GiB
    const fillBytes = Math.min(256 * MiB, scale.copyBytes)
    const source = Path.join(dir, "source.img")
    const fd = Fs.openSync(source, "w")
    const block = Buffer.alloc(MiB)
    for (let i = 0; i < Math.max(scale.copyBytes, fillBytes) / MiB; i++) {
      for (let j = 0; j < MiB; j += 4096) block.writeUInt32LE((i * 977 + j + 1) >>> 0, j)
      Fs.writeSync(fd, block)
    }
    Fs.closeSync(fd)
    const fill = Path.join(dir, "fill.img")
    Fs.copyFileSync(source, fill)
    Fs.truncateSync(fill, fillBytes)
    // Every measurement runs on a server whose first 256 MiB hold data (so reads read data, not
    // holes) and which has served a warm-up pass (Node compiles its hot paths while it runs).
    const prepare: Workload = (uri) =>
      Effect.gen(function*() {
        yield* run("nbdcopy", [fill, uri])
        yield* run("qemu-img", ["bench", "-f", "raw", "-t", "none", "-c", String(scale.qemuOps / 2), "-d", "16", "-s", "4k", uri])
        yield* run("qemu-img", ["bench", "-f", "raw", "-t", "none", "-w", "-c", String(scale.qemuOps / 2), "-d", "16", "-s", "4k", uri])
        return 0
      })
    try {
      for (const [write, depth] of [[false, 1], [false, 16], [true, 1], [true, 16]] as const) {
        const name = `qemu-img bench 4 KiB ${write ? "writes" : "reads"} depth ${depth}`
        yield* progress(name)
        add(name, "IOPS", yield* compare(dir, scale, size, qemuBench(scale, write, depth), prepare))
      }
      const toIops = (result: { ratio: number; ours: number; theirs: number; ratios: Array<number> }) => ({
        ...result,
        ours: result.ours / 4096,
        theirs: result.theirs / 4096
      })
      for (const [rw, depth] of [["randread", 1], ["randread", 16], ["randwrite", 1], ["randwrite", 16]] as const) {
        const name = `fio nbd 4 KiB ${rw} iodepth ${depth}`
        yield* progress(name)
        add(name, "IOPS", toIops(yield* compare(dir, scale, size, fio(scale, rw, "4k", depth), prepare)))
      }
      for (const rw of ["read", "write"] as const) {
        const name = `fio nbd 1 MiB sequential ${rw}s iodepth 4`
        yield* progress(name)
        const result = yield* compare(dir, scale, size, fio(scale, rw, "1M", 4), prepare)
        add(name, "MiB/s", { ...result, ours: result.ours / MiB, theirs: result.theirs / MiB })
      }
      const copyIn = copy(() => source, (uri) => uri, scale.copyBytes)
      yield* progress("nbdcopy in")
      const into = yield* compare(dir, scale, size, copyIn, prepare)
      add(`nbdcopy ${scale.copyBytes / MiB} MiB file → export`, "MiB/s", { ...into, ours: into.ours / MiB, theirs: into.theirs / MiB })
      yield* progress("nbdcopy out")
      const out = yield* compare(dir, scale, size, copy((uri) => uri, () => "null:", scale.copyBytes), (uri) =>
        Effect.andThen(prepare(uri), copyIn(uri)))
      add(`nbdcopy ${scale.copyBytes / MiB} MiB export → null:`, "MiB/s", { ...out, ours: out.ours / MiB, theirs: out.theirs / MiB })
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
    return rows
  })
}
