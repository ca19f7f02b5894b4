/**
 * The ramdisk benchmarks of issue 2, in one suite:
 *
 * - throughput: 4 KiB random and 1 MiB sequential writes and reads on a
 *   1 GiB device through the Effect API (one Effect program looping over
 *   `device.write` / `device.read`), side by side with a raw
 *   `Uint8Array.set` loop over one flat buffer (the physical limit) and the
 *   JS peers `random-access-memory` and `file-disk`'s `BufferDisk`, all given
 *   the same offsets and the same source buffer;
 * - sparse memory: a 1 PiB device, its creation cost and what 10,000 random
 *   4 KiB writes allocate;
 * - seeks: enumerating every mapped extent of devices with 100,000 and
 *   1,000,000 separate mapped runs;
 * - snapshot: its cost on an empty and on a fully written 1 GiB device.
 *
 * Each part creates its devices, measures, then drops them and collects
 * garbage, so the process never holds more than one part's data (about
 * 4.5 GiB at most).
 */
import { makeRegistry, type RamdiskShape, type RegistryShape } from "@effect-block/ramdisk"
import * as Effect from "effect/Effect"
import { BufferDisk } from "file-disk"
import RandomAccessMemory from "random-access-memory"
import {
  atLeast,
  atMost,
  below,
  collectGarbage,
  type Contender,
  deviceContender,
  liveBytes,
  measureRoundRobin,
  median,
  progress,
  Quick,
  randomBlocks,
  ratio,
  type Row,
  type Suite,
  timed,
  type Transfers
} from "./harness.js"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const PiB = 1024 * 1024 * GiB
const sectorSize = 512

/** How much work each part does; `quick` is a smoke test of the whole suite, not a measurement. */
interface Scale {
  /** Size of the throughput and snapshot devices. */
  readonly deviceBytes: number
  readonly randomOps: number
  readonly repetitions: number
  readonly seekRuns: number
  readonly seekRepetitions: number
  readonly snapshotOps: number
}

const fullScale: Scale = {
  deviceBytes: GiB,
  randomOps: 200_000,
  repetitions: 7,
  seekRuns: 100_000,
  seekRepetitions: 3,
  snapshotOps: 200_000
}

const quickScale: Scale = {
  deviceBytes: 64 * MiB,
  randomOps: 5_000,
  repetitions: 2,
  seekRuns: 2_000,
  seekRepetitions: 1,
  snapshotOps: 2_000
}

const sizeLabel = (bytes: number): string => bytes >= GiB ? `${bytes / GiB} GiB` : `${bytes / MiB} MiB`

/** Same offsets for every contender: the seed is fixed. */
const offsetSeed = 0x5eed_b10c

// ---------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------

/** The physical limit: `Uint8Array.set` into and out of one flat, pre-touched buffer. */
export const rawContender = (flat: Uint8Array): Contender => ({
  name: "raw Uint8Array.set",
  write: (offsets, buffer) =>
    Effect.sync(() => {
      for (let i = 0; i < offsets.length; i++) flat.set(buffer, offsets[i] ?? 0)
    }),
  read: (offsets, buffer) =>
    Effect.sync(() => {
      const length = buffer.byteLength
      for (let i = 0; i < offsets.length; i++) {
        const offset = offsets[i] ?? 0
        buffer.set(flat.subarray(offset, offset + length))
      }
    })
})

/**
 * `random-access-memory`, driven the fastest way its callback API allows:
 * each callback starts the next request (no promise per operation).
 */
export const ramContender = (ram: RandomAccessMemory): Contender<Buffer> => {
  const run = (offsets: Float64Array, start: (offset: number, done: (error: Error | null) => void) => void) =>
    Effect.callback<void, Error>((resume) => {
      let i = 0
      const step = (error: Error | null): void => {
        if (error !== null) return resume(Effect.fail(error))
        if (i === offsets.length) return resume(Effect.void)
        start(offsets[i++] ?? 0, step)
      }
      step(null)
    })
  return {
    name: "random-access-memory",
    write: (offsets, buffer) => run(offsets, (offset, done) => ram.write(offset, buffer, done)),
    read: (offsets, buffer) => run(offsets, (offset, done) => ram.read(offset, buffer.byteLength, done))
  }
}

/** `file-disk`'s `BufferDisk` over one flat buffer, awaited request by request. */
export const bufferDiskContender = (disk: BufferDisk): Contender<Buffer> => ({
  name: "file-disk BufferDisk",
  write: (offsets, buffer) =>
    Effect.tryPromise(async () => {
      for (let i = 0; i < offsets.length; i++) await disk.write(buffer, 0, buffer.byteLength, offsets[i] ?? 0)
    }),
  read: (offsets, buffer) =>
    Effect.tryPromise(async () => {
      for (let i = 0; i < offsets.length; i++) await disk.read(buffer, 0, buffer.byteLength, offsets[i] ?? 0)
    })
})

/** A workload: which pass, which offsets, how big each transfer is. */
interface Workload extends Transfers {
  readonly name: string
  /** Targets for the ramdisk's ratio to the raw loop and to random-access-memory. */
  readonly vsRaw: number
  readonly vsRam?: number | undefined
}

/** Median ops/s of each contender on a workload. */
const measureWorkload = (
  workload: Workload,
  contenders: ReadonlyArray<Contender<Buffer>>,
  repetitions: number
): Effect.Effect<ReadonlyArray<number>, unknown> =>
  Effect.map(
    measureRoundRobin(workload, contenders, repetitions, Buffer.alloc(workload.bytesPerOp)),
    (samples) => samples.map((pass) => median(pass.map((sample) => sample.opsPerSecond)))
  )

const throughputRows = (workload: Workload, contenders: ReadonlyArray<Contender<Buffer>>, opsPerSecond: ReadonlyArray<number>) => {
  const rows: Array<Row> = []
  for (const [index, contender] of contenders.entries()) {
    const ops = opsPerSecond[index] ?? Number.NaN
    // For 1 MiB transfers ops/s and MiB/s are the same number: print it once.
    if (workload.bytesPerOp !== MiB) rows.push({ name: `${workload.name}, ${contender.name}`, value: ops, unit: "ops/s" })
    rows.push({ name: `${workload.name}, ${contender.name}`, value: ops * workload.bytesPerOp / MiB, unit: "MiB/s" })
  }
  const [ramdisk = Number.NaN, raw = Number.NaN, ram = Number.NaN, bufferDisk = Number.NaN] = opsPerSecond
  rows.push({ name: `${workload.name}, ramdisk / raw`, value: ratio(ramdisk, raw), unit: "×", target: atLeast(workload.vsRaw) })
  rows.push({
    name: `${workload.name}, ramdisk / random-access-memory`,
    value: ratio(ramdisk, ram),
    unit: "×",
    target: workload.vsRam === undefined ? undefined : atLeast(workload.vsRam)
  })
  rows.push({
    name: `${workload.name}, ramdisk / BufferDisk`,
    value: ratio(ramdisk, bufferDisk),
    unit: "×",
    target: workload.vsRam === undefined ? undefined : atLeast(workload.vsRam)
  })
  return rows
}

const throughputPart = (registry: RegistryShape, scale: Scale): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.gen(function*() {
    const { deviceBytes } = scale
    yield* progress(`throughput: allocating four ${sizeLabel(deviceBytes)} contenders`)
    const device = yield* registry.connect({ name: "throughput", sectorSize, sizeSectors: deviceBytes / sectorSize })
    const flat = new Uint8Array(deviceBytes)
    // Touch every page so the raw loop never pays for a page fault.
    for (let offset = 0; offset < deviceBytes; offset += 4096) flat[offset] = 1
    const ram = new RandomAccessMemory()
    const bufferDisk = new BufferDisk(Buffer.alloc(deviceBytes))
    const contenders: ReadonlyArray<Contender<Buffer>> = [
      deviceContender("effect-block ramdisk", device, sectorSize),
      rawContender(flat),
      ramContender(ram),
      bufferDiskContender(bufferDisk)
    ]

    const randomOffsets = randomBlocks(offsetSeed, scale.randomOps, deviceBytes / (4 * KiB)).map((block) => block * 4 * KiB)
    const sequentialOffsets = Float64Array.from({ length: deviceBytes / MiB }, (_, i) => i * MiB)
    // Sequential writes first, so every contender starts the random part fully allocated and touched.
    const workloads: ReadonlyArray<Workload> = [
      { name: "1 MiB sequential write", kind: "write", offsets: sequentialOffsets, bytesPerOp: MiB, vsRaw: 0.9 },
      { name: "1 MiB sequential read", kind: "read", offsets: sequentialOffsets, bytesPerOp: MiB, vsRaw: 0.9 },
      { name: "4 KiB random write", kind: "write", offsets: randomOffsets, bytesPerOp: 4 * KiB, vsRaw: 0.5, vsRam: 1 },
      { name: "4 KiB random read", kind: "read", offsets: randomOffsets, bytesPerOp: 4 * KiB, vsRaw: 0.5, vsRam: 1 }
    ]
    const rows: Array<Row> = []
    for (const workload of workloads) {
      yield* progress(`throughput: ${workload.name}`)
      const opsPerSecond = yield* measureWorkload(workload, contenders, scale.repetitions)
      rows.push(...throughputRows(workload, contenders, opsPerSecond))
    }
    yield* registry.destroy("throughput")
    return rows
  })

// ---------------------------------------------------------------------------
// Sparse memory
// ---------------------------------------------------------------------------

/**
 * Live bytes one new device of `bytes` costs, averaged over many devices
 * because a single one is below the heap's measurement noise. A tiny device
 * is created first so lazily initialised code is not counted.
 */
const creationCost = (registry: RegistryShape, bytes: number) =>
  Effect.gen(function*() {
    const count = 100
    const names = Array.from({ length: count }, (_, i) => `creation-${bytes}-${i}`)
    yield* registry.connect({ name: "creation-warm-up", sectorSize, sizeSectors: 1 })
    yield* registry.destroy("creation-warm-up")
    const handles: Array<RamdiskShape> = []
    const before = yield* liveBytes
    for (const name of names) handles.push(yield* registry.connect({ name, sectorSize, sizeSectors: bytes / sectorSize }))
    const after = yield* liveBytes
    for (const name of names) yield* registry.destroy(name)
    return handles.length === count ? (after - before) / count : Number.NaN
  })

const sparsePart = (registry: RegistryShape): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.gen(function*() {
    yield* progress("sparse: 1 PiB device, 10,000 random 4 KiB writes")
    const perDevice1PiB = yield* creationCost(registry, PiB)
    const perDevice1MiB = yield* creationCost(registry, MiB)
    const device = yield* registry.connect({ name: "sparse", sectorSize, sizeSectors: PiB / sectorSize })
    const afterConnect = yield* liveBytes
    const pageBytes = 4 * KiB
    const pages = randomBlocks(offsetSeed + 1, 10_000, PiB / pageBytes)
    const buffer = new Uint8Array(pageBytes).fill(0xa5)
    for (let i = 0; i < pages.length; i++) {
      yield* device.write((pages[i] ?? 0) * pageBytes / sectorSize, buffer)
    }
    const written = new Set(pages).size * pageBytes
    const stats = yield* device.stats
    const afterWrites = yield* liveBytes
    yield* registry.destroy("sparse")
    return [
      { name: "sparse: memory to create a 1 PiB device", value: perDevice1PiB, unit: "bytes", target: atMost(64 * KiB) },
      { name: "sparse: memory to create a 1 MiB device (for scale)", value: perDevice1MiB, unit: "bytes" },
      { name: "sparse 1 PiB: allocatedBytes / bytes written", value: ratio(stats.allocatedBytes, written), unit: "×", target: atMost(1.1) },
      { name: "sparse 1 PiB: allocatedBytes", value: stats.allocatedBytes / MiB, unit: "MiB" },
      {
        name: "sparse 1 PiB: process memory growth / bytes written",
        value: ratio(afterWrites - afterConnect, written),
        unit: "×"
      }
    ]
  })

// ---------------------------------------------------------------------------
// Seeks
// ---------------------------------------------------------------------------

/** A device of `runs * 2` pages where every even page is written: `runs` separate mapped runs. */
const deviceWithRuns = (registry: RegistryShape, name: string, runs: number) =>
  Effect.gen(function*() {
    const sectorsPerPage = 4 * KiB / sectorSize
    const device = yield* registry.connect({ name, sectorSize, sizeSectors: runs * 2 * sectorsPerPage })
    const buffer = new Uint8Array(4 * KiB).fill(1)
    for (let run = 0; run < runs; run++) yield* device.write(run * 2 * sectorsPerPage, buffer)
    return device
  })

/** Walks every mapped extent with alternating seeks; returns how many it found. */
const countExtents = (device: RamdiskShape) =>
  Effect.gen(function*() {
    const { sizeSectors } = yield* device.info
    let extents = 0
    let position = 0
    while (position < sizeSectors) {
      const start = yield* device.seekMapped(position)
      if (start >= sizeSectors) break
      position = yield* device.seekUnmapped(start)
      extents++
    }
    return extents
  })

/** Median seconds to enumerate a `runs`-run device, checking the count. */
const timeEnumeration = (registry: RegistryShape, runs: number, repetitions: number) =>
  Effect.gen(function*() {
    yield* progress(`seeks: building a device with ${runs.toLocaleString("en-US")} mapped runs`)
    const name = `seeks-${runs}`
    const device = yield* deviceWithRuns(registry, name, runs)
    const found = yield* countExtents(device)
    if (found !== runs) return yield* Effect.fail(new Error(`seeks: found ${found} mapped runs, expected ${runs}`))
    const samples: Array<number> = []
    for (let repetition = 0; repetition < repetitions; repetition++) {
      yield* collectGarbage
      const [milliseconds] = yield* timed(countExtents(device))
      samples.push(milliseconds / 1000)
    }
    yield* registry.destroy(name)
    yield* collectGarbage
    return median(samples)
  })

const seeksPart = (registry: RegistryShape, scale: Scale): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.gen(function*() {
    const small = scale.seekRuns
    const large = scale.seekRuns * 10
    const smallSeconds = yield* timeEnumeration(registry, small, scale.seekRepetitions)
    const largeSeconds = yield* timeEnumeration(registry, large, scale.seekRepetitions)
    const label = (runs: number) => `seeks: enumerate ${runs.toLocaleString("en-US")} mapped runs`
    return [
      { name: label(small), value: smallSeconds, unit: "s", target: below(0.5) },
      { name: label(large), value: largeSeconds, unit: "s" },
      { name: `seeks: time(${large.toLocaleString("en-US")}) / time(${small.toLocaleString("en-US")})`, value: ratio(largeSeconds, smallSeconds), unit: "×", target: below(15) },
      { name: "seeks: per seekMapped + seekUnmapped pair", value: largeSeconds / large * 1e9, unit: "ns" }
    ]
  })

// ---------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------

const snapshotPart = (registry: RegistryShape, scale: Scale): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.gen(function*() {
    const { deviceBytes } = scale
    const size = sizeLabel(deviceBytes)
    yield* progress(`snapshot: empty vs fully written ${size} device`)
    const sizeSectors = deviceBytes / sectorSize
    const empty = yield* registry.connect({ name: "snapshot-empty", sectorSize, sizeSectors })
    const full = yield* registry.connect({ name: "snapshot-full", sectorSize, sizeSectors })
    const chunk = new Uint8Array(MiB).fill(0x5a)
    for (let offset = 0; offset < deviceBytes; offset += MiB) yield* full.write(offset / sectorSize, chunk)
    const fullStats = yield* full.stats
    if (fullStats.allocatedBytes !== deviceBytes) {
      return yield* Effect.fail(
        new Error(`snapshot: the full device holds ${fullStats.allocatedBytes} bytes, expected ${deviceBytes}`)
      )
    }
    const nanosecondsPerSnapshot = (device: RamdiskShape) =>
      Effect.gen(function*() {
        const [milliseconds] = yield* timed(Effect.gen(function*() {
          for (let i = 0; i < scale.snapshotOps; i++) yield* device.snapshot
        }))
        return milliseconds * 1e6 / scale.snapshotOps
      })
    yield* nanosecondsPerSnapshot(empty)
    yield* nanosecondsPerSnapshot(full)
    const emptySamples: Array<number> = []
    const fullSamples: Array<number> = []
    // Alternate which device goes first, so neither always runs on a colder heap.
    for (let repetition = 0; repetition < scale.repetitions * 2; repetition++) {
      const order = repetition % 2 === 0 ? [empty, full] : [full, empty]
      for (const device of order) {
        yield* collectGarbage
        const nanoseconds = yield* nanosecondsPerSnapshot(device)
        ;(device === empty ? emptySamples : fullSamples).push(nanoseconds)
      }
    }
    yield* registry.destroy("snapshot-empty")
    yield* registry.destroy("snapshot-full")
    const emptyNs = median(emptySamples)
    const fullNs = median(fullSamples)
    return [
      { name: `snapshot, empty ${size} device`, value: emptyNs, unit: "ns" },
      { name: `snapshot, fully written ${size} device`, value: fullNs, unit: "ns" },
      { name: "snapshot, full / empty", value: ratio(fullNs, emptyNs), unit: "×", target: atMost(1.5) }
    ]
  })

/** Every ramdisk benchmark of issue 2. Parts run one at a time so their memory never adds up. */
export const suite: Suite = {
  name: "ramdisk",
  run: Effect.gen(function*() {
    const scale = (yield* Quick) ? quickScale : fullScale
    const registry = yield* makeRegistry
    const measure = (part: Effect.Effect<ReadonlyArray<Row>, unknown>) => Effect.tap(part, () => collectGarbage)
    // The memory part first, on a heap nothing else has used yet. Seeks
    // last: their million 4 KiB pages stay in the allocator's free lists
    // after release, and would add to the throughput part's peak.
    const sparse = yield* measure(sparsePart(registry))
    const snapshot = yield* measure(snapshotPart(registry, scale))
    const throughput = yield* measure(throughputPart(registry, scale))
    const seeks = yield* measure(seeksPart(registry, scale))
    return [...throughput, ...sparse, ...seeks, ...snapshot]
  })
}
