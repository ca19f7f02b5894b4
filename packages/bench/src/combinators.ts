/**
 * The combinator benchmark of issue 4:
 *
 * - `sparseCopy` of a 1 GiB ramdisk holding 10% data (64 KiB extents spread
 *   over the disk) to a fresh ramdisk, against `copy` of the same disk: the
 *   target is `sparseCopy` at least 5× faster.
 * - `copy` bandwidth from a full 1 GiB ramdisk to a fresh one, against a
 *   plain loop copying one 1 GiB `Uint8Array` into another (already touched)
 *   in 1 MiB pieces (the same request size `copy` uses): the target is at
 *   least 0.5× the loop's bandwidth. An informational row repeats the copy
 *   over a destination whose pages are already allocated: the gap between
 *   the two is the ramdisk's page allocation on first write.
 *
 * Memory: at most two 1 GiB ramdisks, or the two raw buffers, are alive at
 * once; each is destroyed or dropped, and the heap collected, before the
 * next part starts.
 */
import { type BlockDeviceShape, compare, copy, fill, sparseCopy } from "@effect-block/block"
import { makeRegistry, type RegistryShape } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import { atLeast, atMost, collectGarbage, median, progress, Quick, ratio, type Row, type Suite, timed } from "./harness.js"

const MiB = 1024 * 1024
const sectorSize = 512
const chunkBytes = MiB

interface Scale {
  readonly deviceBytes: number
  readonly repetitions: number
}

const fullScale: Scale = { deviceBytes: 1024 * MiB, repetitions: 3 }
const quickScale: Scale = { deviceBytes: 64 * MiB, repetitions: 1 }

/** Writes seeded data over one 64 KiB extent in every 640 KiB: 10% of the device. */
const fillTenPercent = (registry: RegistryShape, name: string, sizeSectors: number) =>
  Effect.gen(function*() {
    const device = yield* registry.connect({ name, sizeSectors, sectorSize })
    const stride = 640 * 1024 / sectorSize
    const extent = 64 * 1024 / sectorSize
    for (let at = 0; at + extent <= sizeSectors; at += stride) {
      yield* fill(device, { seed: 10, start: at, sectors: extent })
    }
    return device
  })

/** Times one copy (by `run`) into a fresh device, then destroys the destination. */
const timeInto = (
  registry: RegistryShape,
  sizeSectors: number,
  run: (dst: BlockDeviceShape) => Effect.Effect<void, unknown>,
  verify: boolean,
  source: BlockDeviceShape
) =>
  Effect.gen(function*() {
    yield* collectGarbage
    const dst = yield* registry.connect({ name: "bench-destination", sizeSectors, sectorSize })
    const [milliseconds] = yield* timed(run(dst))
    if (verify) {
      const order = yield* compare(source, dst)
      if (order !== 0) return yield* Effect.fail(new Error("the copy differs from its source"))
    }
    yield* registry.destroy("bench-destination")
    return milliseconds
  })

/** The plain loop: copies `source` into `target` 1 MiB at a time; returns milliseconds. */
const rawCopyLoop = (source: Uint8Array, target: Uint8Array): number => {
  const started = performance.now()
  for (let offset = 0; offset < source.length; offset += chunkBytes) {
    target.set(source.subarray(offset, Math.min(offset + chunkBytes, source.length)), offset)
  }
  return performance.now() - started
}

const mibPerSecond = (bytes: number, milliseconds: number) => bytes / MiB / (milliseconds / 1000)

/**
 * Runs the combinator benchmark at the given scale and returns its rows:
 * sparseCopy vs copy on a 10%-full ramdisk, and copy bandwidth vs a raw loop.
 */
export const runCombinatorsBenchmark = (scale: Scale): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.gen(function*() {
    const { deviceBytes, repetitions } = scale
    const sizeSectors = deviceBytes / sectorSize
    const label = `${deviceBytes / MiB} MiB`
    const registry = yield* makeRegistry

    yield* progress(`combinators: filling 10% of a ${label} ramdisk`)
    const sparse = yield* fillTenPercent(registry, "bench-sparse", sizeSectors)
    const copyTimes: Array<number> = []
    const sparseTimes: Array<number> = []
    for (let i = 0; i < repetitions; i++) {
      yield* progress(`combinators: copy vs sparseCopy, round ${i + 1} of ${repetitions}`)
      copyTimes.push(yield* timeInto(registry, sizeSectors, (dst) => copy(sparse, dst), i === 0, sparse))
      sparseTimes.push(yield* timeInto(registry, sizeSectors, (dst) => sparseCopy(sparse, dst), i === 0, sparse))
    }
    // Zero-aware storage: a plain copy of a sparse device must leave the destination as sparse as the source.
    const copied = yield* registry.connect({ name: "bench-copied", sizeSectors, sectorSize })
    yield* copy(sparse, copied)
    const copiedBytes = (yield* copied.stats).allocatedBytes
    const sourceBytes = (yield* sparse.stats).allocatedBytes
    yield* registry.destroy("bench-copied")
    yield* registry.destroy("bench-sparse")
    const copyMs = median(copyTimes)
    const sparseMs = median(sparseTimes)

    yield* progress(`combinators: raw ${label} Uint8Array copy loop`)
    yield* collectGarbage
    const rawTimes: Array<number> = []
    {
      const source = new Uint8Array(deviceBytes)
      const target = new Uint8Array(deviceBytes)
      for (let offset = 0; offset < deviceBytes; offset += 4096) source[offset] = offset & 0xff
      rawCopyLoop(source, target) // first touch of the target's pages, not timed
      for (let i = 0; i < repetitions; i++) rawTimes.push(rawCopyLoop(source, target))
    }
    yield* collectGarbage

    yield* progress(`combinators: filling a ${label} ramdisk completely`)
    const full = yield* registry.connect({ name: "bench-full", sizeSectors, sectorSize })
    yield* fill(full, { seed: 11 })
    const fullTimes: Array<number> = []
    for (let i = 0; i < repetitions; i++) {
      yield* progress(`combinators: copy of a full ramdisk, round ${i + 1} of ${repetitions}`)
      fullTimes.push(yield* timeInto(registry, sizeSectors, (dst) => copy(full, dst), i === 0, full))
    }
    // For information: the same copy over a destination whose pages are already allocated, which is
    // what the raw loop's warmed target corresponds to; the difference is the ramdisk's page allocation.
    yield* collectGarbage
    const allocated = yield* registry.connect({ name: "bench-allocated", sizeSectors, sectorSize })
    yield* copy(full, allocated)
    const allocatedTimes: Array<number> = []
    for (let i = 0; i < repetitions; i++) {
      allocatedTimes.push((yield* timed(copy(full, allocated)))[0])
    }
    yield* registry.destroy("bench-allocated")
    yield* registry.destroy("bench-full")
    yield* collectGarbage

    const rawBandwidth = mibPerSecond(deviceBytes, median(rawTimes))
    const copyBandwidth = mibPerSecond(deviceBytes, median(fullTimes))
    const allocatedBandwidth = mibPerSecond(deviceBytes, median(allocatedTimes))
    return [
      { name: `combinators: copy, ${label} ramdisk with 10% data`, value: copyMs, unit: "ms" },
      { name: `combinators: sparseCopy, ${label} ramdisk with 10% data`, value: sparseMs, unit: "ms" },
      {
        name: "combinators: sparseCopy speed-up over copy (10% data)",
        value: ratio(copyMs, sparseMs),
        unit: "×",
        target: atLeast(5)
      },
      {
        name: `combinators: copy of a ${label} ramdisk with 10% data: destination allocatedBytes / source's`,
        value: ratio(copiedBytes, sourceBytes),
        unit: "×",
        target: atMost(1.05)
      },
      { name: `combinators: copy, full ${label} ramdisk to ramdisk`, value: copyBandwidth, unit: "MiB/s" },
      { name: `combinators: raw Uint8Array copy loop, ${label} in 1 MiB pieces`, value: rawBandwidth, unit: "MiB/s" },
      {
        name: "combinators: copy bandwidth / raw copy loop bandwidth",
        value: ratio(copyBandwidth, rawBandwidth),
        unit: "×",
        target: atLeast(0.5)
      },
      {
        name: `combinators: copy, full ${label} ramdisk over an allocated ramdisk`,
        value: allocatedBandwidth,
        unit: "MiB/s"
      },
      {
        name: "combinators: copy over an allocated ramdisk / raw copy loop bandwidth",
        value: ratio(allocatedBandwidth, rawBandwidth),
        unit: "×"
      }
    ]
  })

/** The combinator benchmark suite: full scale, or a few seconds' smoke test with `--quick`. */
export const suite: Suite = {
  name: "combinators",
  run: Effect.gen(function*() {
    const quick = yield* Quick
    return yield* runCombinatorsBenchmark(quick ? quickScale : fullScale)
  })
}
