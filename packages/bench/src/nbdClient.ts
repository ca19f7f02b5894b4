/**
 * The NBD client's benchmark (issue 10), side by side with libnbd's and
 * fio's clients against the same server, nbdkit's `memory` plugin on a Unix
 * socket:
 *
 * - `effect-block copy` of a 1 GiB file into a fresh export and back out to
 *   a new file, against `nbdcopy` doing the same (throughput ratio, ≥ 1.0);
 * - a sparse 1 GiB export holding 16 MiB of data copied to a fresh export,
 *   against `nbdcopy` (time ratio, < 2);
 * - 4 KiB random reads and writes through the client from 16 fibers,
 *   against fio's `nbd` engine at iodepth 16 (IOPS ratio, ≥ 0.8).
 *
 * The command-line rows run the real commands (`node …/effect-block.js`
 * includes Node's start-up; `nbdcopy` is C), alternating which goes first,
 * each on a fresh server, and report the median of the per-repetition
 * ratios. The machine is shared: only the ratios mean anything.
 */
import { makeClient } from "@effect-block/nbd"
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { atLeast, below, median, progress, Quick, randomBlocks, ratio, type Row, type Suite, untilAccepting } from "./harness.js"
import { cli, requireProgram as requireProgramFor, runProgram as run } from "./programs.js"

const MiB = 1024 * 1024

interface Scale {
  readonly copyBytes: number
  readonly sparseBytes: number
  readonly sparseData: number
  readonly randomSeconds: number
  readonly repetitions: number
}

const fullScale: Scale = { copyBytes: 1024 * MiB, sparseBytes: 1024 * MiB, sparseData: 16 * MiB, randomSeconds: 3, repetitions: 3 }
const quickScale: Scale = { copyBytes: 16 * MiB, sparseBytes: 64 * MiB, sparseData: 4 * MiB, randomSeconds: 0.3, repetitions: 1 }


/** Seconds a command takes. */
const time = (program: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* run(program, args)
    return (performance.now() - start) / 1000
  })

const requireProgram = requireProgramFor("NBD client", "nbdkit, libnbd-bin, fio")

/** A fresh nbdkit memory export of `bytes` on a Unix socket in `dir`, stopped with the scope. */
const nbdkit = (dir: string, bytes: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const socket = Path.join(dir, `nbdkit-${Math.random().toString(36).slice(2)}.sock`)
      const child = ChildProcess.spawn("nbdkit", ["-U", socket, "-f", "--exit-with-parent", "memory", String(bytes)], {
        stdio: "ignore"
      })
      await untilAccepting(socket, 500)
      return { child, uri: `nbd+unix:///?socket=${socket}` }
    }),
    ({ child }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve()
          child.once("exit", () => resolve())
          child.kill()
        })
      )
  ).pipe(Effect.map(({ uri }) => uri))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-block-bench-nbd-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** A file of `bytes` of incompressible-looking, non-zero data (a repeated 1 MiB pattern). */
const dataFile = (path: string, bytes: number) =>
  Effect.sync(() => {
    const pattern = new Uint8Array(Math.min(MiB, bytes))
    let x = 0x2545f491
    for (let i = 0; i < pattern.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      pattern[i] = (x & 0xff) | 1
    }
    const fd = Fs.openSync(path, "w")
    for (let at = 0; at < bytes; at += pattern.length) Fs.writeSync(fd, pattern, 0, Math.min(pattern.length, bytes - at), at)
    Fs.closeSync(fd)
  })

/** Round trip file → export → new file with one tool; seconds for each direction. */
const roundTrip = (dir: string, scale: Scale, tool: "effect-block" | "nbdcopy") =>
  Effect.scoped(Effect.gen(function*() {
    const uri = yield* nbdkit(dir, scale.copyBytes)
    const source = Path.join(dir, "source.img")
    const back = Path.join(dir, `back-${tool}.img`)
    Fs.rmSync(back, { force: true })
    const copy = (from: string, to: string) =>
      tool === "nbdcopy" ? time("nbdcopy", [from, to]) : time(process.execPath, [cli, "copy", "--quiet", from, to])
    const into = yield* copy(source, uri)
    const out = yield* copy(uri, back)
    Fs.rmSync(back, { force: true })
    return { into, out }
  }))

/** A sparse export (16 MiB of data in 16 pieces over 1 GiB) copied to a fresh export; seconds. */
const sparseCopy = (dir: string, scale: Scale, tool: "effect-block" | "nbdcopy") =>
  Effect.scoped(Effect.gen(function*() {
    const src = yield* nbdkit(dir, scale.sparseBytes)
    const dst = yield* nbdkit(dir, scale.sparseBytes)
    const device = yield* makeClient({ uri: src })
    const piece = new Uint8Array(scale.sparseData / 16).fill(0x5a)
    const stride = scale.sparseBytes / 16 / 512
    for (let i = 0; i < 16; i++) yield* device.write(i * stride, piece)
    yield* device.flush
    yield* device.disconnect
    return tool === "nbdcopy" ? yield* time("nbdcopy", [src, dst]) : yield* time(process.execPath, [cli, "copy", "--quiet", src, dst])
  }))

/** 4 KiB random I/O from 16 fibers through the client for `seconds`: IOPS. */
const clientRandom = (uri: string, kind: "read" | "write", seconds: number) =>
  Effect.scoped(Effect.gen(function*() {
    const device = yield* makeClient({ uri })
    const { sizeSectors } = yield* device.info
    const blocks = Math.floor(sizeSectors / 8)
    const offsets = randomBlocks(kind === "read" ? 11 : 12, 1 << 20, blocks)
    let ops = 0
    let next = 0
    const end = performance.now() + seconds * 1000
    yield* Effect.all(
      Array.from({ length: 16 }, () =>
        Effect.gen(function*() {
          const buffer = new Uint8Array(4096).fill(0x33)
          while (performance.now() < end) {
            const sector = offsets[next++ & (offsets.length - 1)]! * 8
            if (kind === "read") yield* device.read(sector, buffer)
            else yield* device.write(sector, buffer)
            ops++
          }
        })),
      { concurrency: "unbounded", discard: true }
    )
    return ops / seconds
  }))

/** fio's nbd engine, 4 KiB random, iodepth 16, for `seconds`: IOPS. */
const fioRandom = (uri: string, kind: "read" | "write", seconds: number, bytes: number) =>
  Effect.map(
    run("fio", [
      "--name=bench",
      "--ioengine=nbd",
      `--uri=${uri}`,
      `--rw=rand${kind}`,
      "--bs=4k",
      "--iodepth=16",
      `--size=${bytes}`,
      `--runtime=${seconds}`,
      "--time_based=1",
      "--output-format=json"
    ]),
    (output) => {
      const json = JSON.parse(output.slice(output.indexOf("{"))) as { jobs: Array<Record<"read" | "write", { iops: number }>> }
      return json.jobs[0]![kind].iops
    }
  )

/** The suite. */
export const suite: Suite = {
  name: "nbd-client",
  run: Effect.gen(function*() {
    const quick = yield* Quick
    const scale = quick ? quickScale : fullScale
    for (const program of ["nbdkit", "nbdcopy", "fio"]) yield* requireProgram(program)
    if (!Fs.existsSync(cli)) return yield* Effect.fail(new Error(`${cli} is missing: build the command first (npm run build)`))
    return yield* Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      yield* dataFile(Path.join(dir, "source.img"), scale.copyBytes)
      const rows: Array<Row> = []

      const intoRatios: Array<number> = []
      const outRatios: Array<number> = []
      const ours: Array<number> = []
      const theirs: Array<number> = []
      for (let i = 0; i < scale.repetitions; i++) {
        yield* progress(`nbd-client: copy round trip ${i + 1}/${scale.repetitions}`)
        const order = i % 2 === 0 ? (["effect-block", "nbdcopy"] as const) : (["nbdcopy", "effect-block"] as const)
        const times: Record<string, { into: number; out: number }> = {}
        for (const tool of order) times[tool] = yield* roundTrip(dir, scale, tool)
        const eb = times["effect-block"]!
        const nc = times["nbdcopy"]!
        intoRatios.push(ratio(nc.into, eb.into))
        outRatios.push(ratio(nc.out, eb.out))
        ours.push(scale.copyBytes / MiB / ((eb.into + eb.out) / 2))
        theirs.push(scale.copyBytes / MiB / ((nc.into + nc.out) / 2))
      }
      rows.push(
        { name: "nbd client: copy 1 GiB file → export, effect-block copy vs nbdcopy (throughput ratio)", value: median(intoRatios), unit: "×", target: atLeast(1) },
        { name: "nbd client: copy 1 GiB export → file, effect-block copy vs nbdcopy (throughput ratio)", value: median(outRatios), unit: "×", target: atLeast(1) },
        { name: "nbd client: effect-block copy, mean of both directions", value: median(ours), unit: "MiB/s" },
        { name: "nbd client: nbdcopy, mean of both directions", value: median(theirs), unit: "MiB/s" }
      )

      const sparseRatios: Array<number> = []
      for (let i = 0; i < scale.repetitions; i++) {
        yield* progress(`nbd-client: sparse copy ${i + 1}/${scale.repetitions}`)
        const order = i % 2 === 0 ? (["effect-block", "nbdcopy"] as const) : (["nbdcopy", "effect-block"] as const)
        const times: Record<string, number> = {}
        for (const tool of order) times[tool] = yield* sparseCopy(dir, scale, tool)
        sparseRatios.push(ratio(times["effect-block"]!, times["nbdcopy"]!))
      }
      rows.push({
        name: "nbd client: copy sparse 1 GiB export (16 MiB data) → export, effect-block copy time / nbdcopy time",
        value: median(sparseRatios),
        unit: "×",
        target: below(2)
      })

      for (const kind of ["read", "write"] as const) {
        const ratios: Array<number> = []
        const iops: Array<number> = []
        for (let i = 0; i < scale.repetitions; i++) {
          yield* progress(`nbd-client: 4 KiB random ${kind} ${i + 1}/${scale.repetitions}`)
          const result = yield* Effect.scoped(Effect.gen(function*() {
            const uri = yield* nbdkit(dir, 1024 * MiB)
            if (i % 2 === 0) {
              const client = yield* clientRandom(uri, kind, scale.randomSeconds)
              return { client, fio: yield* fioRandom(uri, kind, scale.randomSeconds, 1024 * MiB) }
            }
            const fio = yield* fioRandom(uri, kind, scale.randomSeconds, 1024 * MiB)
            return { client: yield* clientRandom(uri, kind, scale.randomSeconds), fio }
          }))
          ratios.push(ratio(result.client, result.fio))
          iops.push(result.client)
        }
        rows.push(
          { name: `nbd client: 4 KiB random ${kind}s, 16 fibers vs fio nbd iodepth 16 (IOPS ratio)`, value: median(ratios), unit: "×", target: atLeast(0.8) },
          { name: `nbd client: 4 KiB random ${kind}s, 16 fibers`, value: median(iops), unit: "IOPS" }
        )
      }
      return rows
    }))
  })
}
