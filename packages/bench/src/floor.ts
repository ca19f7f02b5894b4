/**
 * The request-path benchmarks of issue 12: how close one 4 KiB request
 * through the ramdisk comes to the floor, Effect's own cost of one
 * operation (`yield* Effect.sync(() => copy)` in the same loop), and how
 * vectored requests compare with a raw `Uint8Array.set` loop.
 *
 * One full 1 GiB ramdisk, one flat pre-touched 1 GiB buffer (for the floor
 * and the raw loop), `random-access-memory` and `file-disk`'s `BufferDisk`,
 * all fully written first. Hot: 200,000 random 4 KiB transfers within the
 * first 1 MiB (cache resident); cold: over the whole device. Contenders are
 * timed round-robin (harness `measureRoundRobin`), median of the passes.
 */
import type { RamdiskShape } from "@effect-block/ramdisk"
import { makeRegistry } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import { BufferDisk } from "file-disk"
import RandomAccessMemory from "random-access-memory"
import {
  atLeast,
  atMost,
  type Contender,
  deviceContender,
  measureRoundRobin,
  median,
  progress,
  Quick,
  randomBlocks,
  ratio,
  type Row,
  type Suite
} from "./harness.js"
import { bufferDiskContender, ramContender, rawContender } from "./ramdisk.js"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const sectorSize = 512
const batch = 64

/** The floor: the same copy as the raw loop, one `Effect.sync` per operation, in one Effect program. */
const floorContender = (flat: Uint8Array): Contender<Buffer> => ({
  name: "Effect.sync(copy) floor",
  write: (offsets, buffer) =>
    Effect.gen(function*() {
      for (let i = 0; i < offsets.length; i++) {
        const offset = offsets[i] ?? 0
        yield* Effect.sync(() => flat.set(buffer, offset))
      }
    }),
  read: (offsets, buffer) =>
    Effect.gen(function*() {
      const length = buffer.byteLength
      for (let i = 0; i < offsets.length; i++) {
        const offset = offsets[i] ?? 0
        yield* Effect.sync(() => buffer.set(flat.subarray(offset, offset + length)))
      }
    })
})

/** The ramdisk through `writeVectored` / `readVectored`, `batch` requests per call (the list built per call). */
const vectoredContender = (device: RamdiskShape): Contender<Buffer> => {
  const requests = (offsets: Float64Array, from: number, buffer: Buffer) => {
    const list = new Array<{ sectorStart: number; buffers: Buffer }>(Math.min(batch, offsets.length - from))
    for (let i = 0; i < list.length; i++) list[i] = { sectorStart: (offsets[from + i] ?? 0) / sectorSize, buffers: buffer }
    return list
  }
  return {
    name: `ramdisk, vectored batches of ${batch}`,
    write: (offsets, buffer) =>
      Effect.gen(function*() {
        for (let from = 0; from < offsets.length; from += batch) yield* device.writeVectored(requests(offsets, from, buffer))
      }),
    read: (offsets, buffer) =>
      Effect.gen(function*() {
        for (let from = 0; from < offsets.length; from += batch) yield* device.readVectored(requests(offsets, from, buffer))
      })
  }
}

/** The floor suite. */
export const suite: Suite = {
  name: "floor",
  run: Effect.gen(function*() {
    const quick = yield* Quick
    const deviceBytes = quick ? 64 * MiB : GiB
    const ops = quick ? 5_000 : 200_000
    const repetitions = quick ? 2 : 7
    yield* progress(`floor: filling four ${deviceBytes / MiB} MiB contenders`)
    const registry = yield* makeRegistry
    const device = yield* registry.connect({ name: "floor", sectorSize, sizeSectors: deviceBytes / sectorSize })
    const flat = new Uint8Array(deviceBytes).fill(1)
    const ram = new RandomAccessMemory()
    const bufferDisk = new BufferDisk(Buffer.alloc(deviceBytes))
    const fill = Buffer.alloc(MiB, 1)
    for (let offset = 0; offset < deviceBytes; offset += MiB) {
      yield* device.write(offset / sectorSize, fill)
      yield* Effect.callback<void>((resume) => ram.write(offset, fill, () => resume(Effect.void)))
    }
    const contenders: ReadonlyArray<Contender<Buffer>> = [
      deviceContender("effect-block ramdisk", device, sectorSize),
      floorContender(flat),
      ramContender(ram),
      bufferDiskContender(bufferDisk),
      rawContender(flat),
      vectoredContender(device)
    ]
    const pick = (names: ReadonlyArray<string>) => contenders.filter((contender) => names.includes(contender.name))
    const hotOffsets = randomBlocks(0x686f74, ops, MiB / (4 * KiB)).map((block) => block * 4 * KiB)
    const coldOffsets = randomBlocks(0x636f6c, ops, deviceBytes / (4 * KiB)).map((block) => block * 4 * KiB)
    const rows: Array<Row> = []
    for (const [where, offsets] of [["hot (1 MiB working set)", hotOffsets], ["cold (whole device)", coldOffsets]] as const) {
      for (const kind of ["write", "read"] as const) {
        const name = `4 KiB random ${kind}, ${where}`
        yield* progress(`floor: ${name}`)
        const chosen = where.startsWith("hot") ?
          pick(["effect-block ramdisk", "Effect.sync(copy) floor", "random-access-memory", "file-disk BufferDisk"]) :
          contenders
        const samples = yield* measureRoundRobin({ kind, offsets, bytesPerOp: 4 * KiB }, chosen, repetitions, Buffer.alloc(4 * KiB))
        const nanoseconds = samples.map((pass) => 1e9 / median(pass.map((sample) => sample.opsPerSecond)))
        const of = (contender: string) => nanoseconds[chosen.findIndex((c) => c.name === contender)] ?? Number.NaN
        const ramdisk = of("effect-block ramdisk")
        for (const [index, contender] of chosen.entries()) {
          rows.push({ name: `${name}, ${contender.name}`, value: nanoseconds[index] ?? Number.NaN, unit: "ns/op" })
        }
        rows.push({ name: `${name}, ramdisk time / floor time`, value: ratio(ramdisk, of("Effect.sync(copy) floor")), unit: "×", target: atMost(1.3) })
        rows.push({ name: `${name}, ramdisk / random-access-memory (speed)`, value: ratio(of("random-access-memory"), ramdisk), unit: "×", target: atLeast(1) })
        rows.push({ name: `${name}, ramdisk / BufferDisk (speed)`, value: ratio(of("file-disk BufferDisk"), ramdisk), unit: "×", target: atLeast(1) })
        if (!where.startsWith("hot")) {
          rows.push({
            name: `${name}, vectored batches of ${batch} / raw Uint8Array.set loop (speed)`,
            value: ratio(of("raw Uint8Array.set"), of(`ramdisk, vectored batches of ${batch}`)),
            unit: "×",
            target: atLeast(0.6)
          })
        }
      }
    }
    yield* registry.destroy("floor")
    return rows
  })
}
