/**
 * The ramdisk memory benchmarks of issue 12: does the device hold what it
 * says, and no more?
 *
 * - memory truth: 100,000 random 4 KiB writes on a 1 PiB device; the
 *   process's memory growth against `stats.allocatedBytes` (target ≤ 1.2×),
 *   the bookkeeping per page that growth implies (target ≤ 600 bytes), and
 *   how close `stats.heldBytes` comes to the growth;
 * - zeros: 64 MiB of zeros written to a fresh device allocate nothing, and
 *   zeros written over data free it;
 * - first writes: 100,000 random 4 KiB writes into pages never written,
 *   against rewriting the same pages (target ≤ 2×).
 */
import { makeRegistry, type RamdiskShape, type RegistryShape } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import { atMost, collectGarbage, liveBytes, median, progress, Quick, randomBlocks, ratio, type Suite, timed } from "./harness.js"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const PiB = 1024 * 1024 * GiB
const sectorSize = 512
const pageBytes = 4 * KiB

/** Writes `buffer` at each page number, one Effect program for the whole loop. */
const writePages = (device: RamdiskShape, pages: Float64Array, buffer: Uint8Array) =>
  Effect.gen(function*() {
    for (let i = 0; i < pages.length; i++) yield* device.write((pages[i] ?? 0) * pageBytes / sectorSize, buffer)
  })

const patterned = (bytes: number, salt: number): Uint8Array => {
  const buffer = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) buffer[i] = (i * 131 + salt) & 0xff
  return buffer
}

const memoryTruth = (registry: RegistryShape, writes: number) =>
  Effect.gen(function*() {
    yield* progress(`memory: ${writes.toLocaleString("en-US")} random 4 KiB writes on a 1 PiB device`)
    const pages = randomBlocks(0x6d656d, writes, PiB / pageBytes)
    const buffer = patterned(pageBytes, 3)
    // A warm-up device first, so code and lazily built structures are not counted.
    const warm = yield* registry.connect({ name: "memory-warm-up", sectorSize, sizeSectors: PiB / sectorSize })
    yield* writePages(warm, pages.subarray(0, 1000), buffer)
    yield* registry.destroy("memory-warm-up")
    const device = yield* registry.connect({ name: "memory", sectorSize, sizeSectors: PiB / sectorSize })
    const before = yield* liveBytes
    yield* writePages(device, pages, buffer)
    const after = yield* liveBytes
    const stats = yield* device.stats
    yield* registry.destroy("memory")
    const growth = after - before
    return [
      {
        name: `memory 1 PiB, ${writes.toLocaleString("en-US")} random 4 KiB writes: process memory growth / allocatedBytes`,
        value: ratio(growth, stats.allocatedBytes),
        unit: "×",
        target: atMost(1.2)
      },
      {
        name: "memory 1 PiB: bookkeeping per allocated page (growth − allocatedBytes, per page)",
        value: (growth - stats.allocatedBytes) / stats.allocatedPages,
        unit: "bytes",
        target: atMost(600)
      },
      { name: "memory 1 PiB: stats.indexBytes per allocated page (the device's estimate)", value: stats.indexBytes / stats.allocatedPages, unit: "bytes" },
      { name: "memory 1 PiB: stats.heldBytes / process memory growth", value: ratio(stats.heldBytes, growth), unit: "×" }
    ]
  })

const zeros = (registry: RegistryShape, bytes: number) =>
  Effect.gen(function*() {
    yield* progress(`memory: ${bytes / MiB} MiB of zeros`)
    const sizeSectors = GiB / sectorSize
    const device = yield* registry.connect({ name: "zeros", sectorSize, sizeSectors })
    const zero = new Uint8Array(MiB)
    for (let offset = 0; offset < bytes; offset += MiB) yield* device.write(offset / sectorSize, zero)
    const fresh = (yield* device.stats).allocatedBytes
    const data = patterned(MiB, 9)
    for (let offset = 0; offset < bytes; offset += MiB) yield* device.write(offset / sectorSize, data)
    for (let offset = 0; offset < bytes; offset += MiB) yield* device.write(offset / sectorSize, zero)
    const over = (yield* device.stats).allocatedBytes
    yield* registry.destroy("zeros")
    const label = `${bytes / MiB} MiB`
    return [
      { name: `zeros: ${label} of zeros written to a fresh device, allocatedBytes`, value: fresh, unit: "bytes", target: atMost(0) },
      { name: `zeros: ${label} of zeros written over ${label} of data, allocatedBytes`, value: over, unit: "bytes", target: atMost(0) }
    ]
  })

const firstWrites = (registry: RegistryShape, writes: number, repetitions: number) =>
  Effect.gen(function*() {
    yield* progress(`memory: first-time vs rewrite, ${writes.toLocaleString("en-US")} random 4 KiB writes`)
    const sizeSectors = GiB / sectorSize
    // Distinct pages, so every write of the first pass lands on a page never written.
    const pages = Float64Array.from(new Set(randomBlocks(0x666972, writes, GiB / pageBytes)))
    const buffer = patterned(pageBytes, 5)
    const ratios: Array<number> = []
    const firstNs: Array<number> = []
    const rewriteNs: Array<number> = []
    for (let repetition = 0; repetition < repetitions + 1; repetition++) {
      const device = yield* registry.connect({ name: "first-writes", sectorSize, sizeSectors })
      yield* collectGarbage
      const [first] = yield* timed(writePages(device, pages, buffer))
      yield* collectGarbage
      const [rewrite] = yield* timed(writePages(device, pages, buffer))
      yield* registry.destroy("first-writes")
      // The first repetition warms the code up.
      if (repetition === 0) continue
      ratios.push(first / rewrite)
      firstNs.push(first * 1e6 / pages.length)
      rewriteNs.push(rewrite * 1e6 / pages.length)
    }
    return [
      { name: "first-time 4 KiB random write, per write", value: median(firstNs), unit: "ns" },
      { name: "4 KiB random rewrite of the same pages, per write", value: median(rewriteNs), unit: "ns" },
      { name: "first-time 4 KiB random writes / rewrites", value: median(ratios), unit: "×", target: atMost(2) }
    ]
  })

/** The memory suite: memory truth, zeros, first writes. */
export const suite: Suite = {
  name: "memory",
  run: Effect.gen(function*() {
    const quick = yield* Quick
    const registry = yield* makeRegistry
    const truth = yield* memoryTruth(registry, quick ? 5_000 : 100_000)
    yield* collectGarbage
    const zero = yield* zeros(registry, quick ? 4 * MiB : 64 * MiB)
    yield* collectGarbage
    const first = yield* firstWrites(registry, quick ? 5_000 : 100_000, quick ? 1 : 5)
    yield* collectGarbage
    return [...truth, ...zero, ...first]
  })
}
